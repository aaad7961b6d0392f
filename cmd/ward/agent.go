package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/internal/agent"
	"github.com/ward-id/ward/internal/shellquote"
)

// agentFlags are `ward agent`'s flags.
type agentFlags struct {
	server, caFile, stateDir, nodeTokenFile, nodeName string
	imdsAddr, arcAddr, arcTokenDir, arcTokenGroup     string
	appServiceAddr, appServiceSecretFile, probeAddr   string
	rateLimit                                         float64
	maxConcurrent                                     int
	pollInterval, maxStale                            time.Duration
	hostNetworkOnly, setupIMDSAddress                 bool
	logLevel                                          string
}

func agentCmd() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Serve this machine's managed identities (IMDS, App Service and Azure Arc protocols), as Azure does on a VM or an Arc server",
		Long: `ward agent serves, on this machine, the managed identity endpoints the unmodified
Azure SDKs speak, with tokens of the machine's identities that it gets from Ward:

  IMDS        GET http://169.254.169.254/metadata/identity/oauth2/token (Metadata: true)
  Azure Arc   IDENTITY_ENDPOINT=http://127.0.0.1:40342/metadata/identity/oauth2/token
              IMDS_ENDPOINT=http://127.0.0.1:40342 (a challenge file only root and
              group himds can read; the recommended mode on a plain machine)
  App Service IDENTITY_ENDPOINT=http://<--app-service-addr>/msi/token and
              IDENTITY_HEADER=<contents of --app-service-secret-file>

On a plain machine it proves which machine it is with the key 'ward agent join'
stored in --state-dir; on a Kubernetes node with its DaemonSet's projected
service-account token (--node-token-file). Manifests: deploy/agent.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runAgent(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", envOr("WARD_SERVER", ""), "Ward's URL (default: the one 'ward agent join' recorded)")
	fl.StringVar(&f.caFile, "ca-file", "", "Ward's CA (default: the one 'ward agent join' copied into --state-dir, else the system's roots)")
	fl.StringVar(&f.stateDir, "state-dir", "/var/lib/ward-agent", "where 'ward agent join' keeps the machine's key (plain machines)")
	fl.StringVar(&f.nodeTokenFile, "node-token-file", "", "Kubernetes node mode: the projected service-account token (audience api://WardAgent) to attest with")
	fl.StringVar(&f.nodeName, "node-name", os.Getenv("NODE_NAME"), "the node's name, for instance metadata (env NODE_NAME)")
	fl.StringVar(&f.imdsAddr, "imds-addr", agent.DefaultIMDSAddr, "IMDS listen address ('' disables)")
	fl.BoolVar(&f.setupIMDSAddress, "setup-imds-address", false, "put the IMDS address on the loopback interface first (needs CAP_NET_ADMIN)")
	fl.BoolVar(&f.hostNetworkOnly, "host-network-only", false, "answer IMDS only for this host's own source addresses (host-network processes, not pods)")
	fl.StringVar(&f.arcAddr, "arc-addr", agent.DefaultArcAddr, "Azure Arc listen address ('' disables)")
	fl.StringVar(&f.arcTokenDir, "arc-token-dir", agent.DefaultArcTokenDir, "directory of the Azure Arc challenge files (the SDKs accept only "+agent.DefaultArcTokenDir+")")
	fl.StringVar(&f.arcTokenGroup, "arc-token-group", agent.ArcTokenGroup, "group that may read the challenge files, besides root ('' for root only)")
	fl.StringVar(&f.appServiceAddr, "app-service-addr", "", "App Service listen address, e.g. 127.0.0.1:40343 ('' disables)")
	fl.StringVar(&f.appServiceSecretFile, "app-service-secret-file", "/var/lib/ward-agent/identity-header", "the IDENTITY_HEADER secret (created 0640 when missing)")
	fl.StringVar(&f.probeAddr, "probe-addr", "", "serve /healthz and /readyz here ('' disables)")
	fl.Float64Var(&f.rateLimit, "rate-limit", agent.DefaultRateLimit, "requests per second for the whole machine (negative: no limit)")
	fl.IntVar(&f.maxConcurrent, "max-concurrent", agent.DefaultMaxConcurrent, "concurrent requests for the whole machine (negative: no limit)")
	fl.DurationVar(&f.pollInterval, "poll-interval", agent.DefaultPollInterval, "how often to ask Ward whether the machine or its identities changed")
	fl.DurationVar(&f.maxStale, "max-stale", agent.DefaultMaxStale, "keep serving this long when Ward cannot be reached")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.AddCommand(agentJoinCmd())
	return cmd
}

func runAgent(cmd *cobra.Command, f agentFlags) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	noHeapSampling() // a daemon on every node, with no profiling endpoint
	var att agent.Attestor
	server, caFile := f.server, f.caFile
	if f.nodeTokenFile != "" {
		if server == "" {
			return errors.New("--server is required with --node-token-file: Ward's URL as the node reaches it")
		}
		att = &agent.TokenFileAttestor{Path: f.nodeTokenFile}
	} else {
		k := &agent.KeyAttestor{Dir: f.stateDir}
		m, err := k.Machine()
		if err != nil {
			return err
		}
		if server == "" {
			server = m.Server
		}
		if _, err := os.Stat(filepath.Join(f.stateDir, agent.FileCA)); caFile == "" && err == nil {
			caFile = filepath.Join(f.stateDir, agent.FileCA)
		}
		att = k
	}
	var ca []byte
	if caFile != "" {
		var err error
		if ca, err = os.ReadFile(caFile); err != nil {
			return err
		}
		if len(bytes.TrimSpace(ca)) == 0 {
			ca = nil // an empty CA (the DaemonSet's ConfigMap left blank): the system's roots
		}
	}
	ward, err := agent.NewWardClient(server, ca)
	if err != nil {
		return err
	}
	gid := -1
	if f.arcAddr != "" && f.arcTokenGroup != "" {
		if g, err := user.LookupGroup(f.arcTokenGroup); err == nil {
			gid, _ = strconv.Atoi(g.Gid)
		} else {
			log.Warn("no such group: Azure Arc challenge files are readable by root only", "group", f.arcTokenGroup)
		}
	}
	if f.arcAddr != "" {
		if err := os.MkdirAll(f.arcTokenDir, 0o750); err != nil {
			return err
		}
		if gid >= 0 {
			_ = os.Chown(f.arcTokenDir, -1, gid)
		}
	}
	var secret string
	if f.appServiceAddr != "" {
		if secret, err = appServiceSecret(f.appServiceSecretFile, gid); err != nil {
			return err
		}
	}
	a := agent.New(agent.Config{Ward: ward, Attestor: att, PollInterval: f.pollInterval, MaxStale: f.maxStale, Logger: log})
	srv := agent.NewServer(a, agent.ServerConfig{RateLimit: f.rateLimit, MaxConcurrent: f.maxConcurrent, HostNetworkOnly: f.hostNetworkOnly,
		AppServiceSecret: secret, ArcTokenDir: f.arcTokenDir, ArcTokenGID: gid, NodeName: f.nodeName, Logger: log})
	return agent.Serve(cmd.Context(), agent.ServeConfig{Agent: a, Server: srv, IMDSAddr: f.imdsAddr, ArcAddr: f.arcAddr,
		AppServiceAddr: f.appServiceAddr, ProbeAddr: f.probeAddr, SetupIMDSAddress: f.setupIMDSAddress, Logger: log,
		Ready: func(addrs map[string]net.Addr) {
			for name, addr := range addrs {
				fmt.Fprintf(cmd.ErrOrStderr(), "ward agent: %s on %s\n", name, addr)
			}
		}})
}

// appServiceSecret reads the IDENTITY_HEADER secret, creating it (mode
// 0640, group gid) when missing.
func appServiceSecret(path string, gid int) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	s := base64.RawURLEncoding.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o640); err != nil {
		return "", err
	}
	if gid >= 0 {
		_ = os.Chown(path, -1, gid)
	}
	return s, nil
}

func agentJoinCmd() *cobra.Command {
	var server, token, caFile, stateDir string
	cmd := &cobra.Command{
		Use:   "join",
		Short: "Register this machine with its one-time join token: generate its key pair (the private key stays in --state-dir, mode 0600)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if server == "" || token == "" {
				return errors.New("--server and --token are required (ward connectedmachine create printed both)")
			}
			var ca []byte
			if caFile != "" {
				var err error
				if ca, err = os.ReadFile(caFile); err != nil {
					return err
				}
			}
			ward, err := agent.NewWardClient(server, ca)
			if err != nil {
				return err
			}
			m, err := agent.Join(cmd.Context(), agent.JoinConfig{Server: server, Token: token, Dir: stateDir, CAPEM: ca, Ward: ward})
			if err != nil {
				return err
			}
			out, _ := json.MarshalIndent(m, "", "  ")
			fmt.Fprintln(cmd.OutOrStdout(), string(out))
			fmt.Fprintf(cmd.ErrOrStderr(), "Joined as %s; key in %s. Start the agent: systemctl enable --now ward-agent (deploy/agent/ward-agent.service), or: %s\n",
				m.ResourceID, filepath.Join(stateDir, agent.FileKey), shellquote.Join("ward", "agent", "--state-dir", stateDir))
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "Ward's URL as this machine reaches it")
	cmd.Flags().StringVar(&token, "token", "", "the one-time join token")
	cmd.Flags().StringVar(&caFile, "ca-file", "", "Ward's CA (copied into --state-dir)")
	cmd.Flags().StringVar(&stateDir, "state-dir", "/var/lib/ward-agent", "where the machine's key and identity are kept")
	return cmd
}
