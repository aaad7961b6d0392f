package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/shellquote"
)

// systemBundles are where Debian, Fedora and Alpine keep the system roots.
var systemBundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}

func runCmd(g *Globals) *cobra.Command {
	var cluster, group, saRef, namespace, clientID, audience string
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "run --cluster C -g RG --service-account NAME [--namespace NS] -- COMMAND [ARGS...]",
		Short: "Run a program as a pod with workload identity would run: a projected token file, refreshed, and the AZURE_* environment",
		Args:  cobra.MinimumNArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return requireFlags(cmd, "cluster", "resource-group", "service-account")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, sa, err := parseServiceAccount(saRef, namespace, cmd.Flags().Changed("namespace"))
			if err != nil {
				return err
			}
			p, err := g.credentials(cmd)
			if err != nil {
				return err
			}
			c, err := dial(p, g.Subscription)
			if err != nil {
				return err
			}
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cl, err := c.client.GetCluster(ctx, sub, group, cluster)
			if err != nil {
				return err
			}
			issuer := cl.Properties.OIDCIssuerProfile.IssuerURL
			if issuer == "" {
				return fmt.Errorf("cluster %s has no OIDC issuer: %s", cluster,
					shellquote.Join("ward", "aks", "update", "-n", cluster, "-g", group, "--enable-oidc-issuer", "--enable-workload-identity"))
			}
			subject := "system:serviceaccount:" + ns + ":" + sa
			if clientID == "" {
				if clientID, err = identityFor(ctx, c, issuer, subject); err != nil {
					return err
				}
			}
			dir, err := os.MkdirTemp("", "ward-run-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			// Every path handed to the child is absolute: it may change
			// directory before it reads them.
			if dir, err = filepath.Abs(dir); err != nil {
				return err
			}
			tokenFile := filepath.Join(dir, "azure-identity-token")
			fetch := func() (time.Time, error) {
				t, err := c.client.GetServiceAccountToken(ctx, sub, group, cluster, ns, sa, audience, int64(duration.Seconds()))
				if err != nil {
					return time.Time{}, err
				}
				exp, _ := time.Parse(time.RFC3339, t.ExpirationTimestamp)
				tmp := tokenFile + ".tmp"
				if err := os.WriteFile(tmp, []byte(t.Token), 0o600); err != nil {
					return time.Time{}, err
				}
				return exp, os.Rename(tmp, tokenFile)
			}
			exp, err := fetch()
			if err != nil {
				return err
			}
			go keepFresh(ctx, exp, fetch, time.Now, time.After, func(err error) {
				fmt.Fprintf(cmd.ErrOrStderr(), "ward run: refreshing the token failed: %v\n", err)
			})
			env, err := runEnv(c, p.CAFile, dir, clientID, tokenFile)
			if err != nil {
				return err
			}
			return runChild(ctx, cmd, args, env)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cluster, "cluster", "", "cluster name")
	f.StringVarP(&group, "resource-group", "g", "", "the cluster's resource group")
	f.StringVar(&saRef, "service-account", "", "service account to run as: NAME (with --namespace), or NAMESPACE/NAME")
	f.StringVar(&namespace, "namespace", "default", "namespace of the service account")
	f.StringVar(&clientID, "client-id", "", "identity to use (default: the one whose federated credential names this cluster and service account)")
	f.StringVar(&audience, "audience", DefaultAudience, "token audience")
	f.DurationVar(&duration, "duration", time.Hour, "token lifetime (10m to 48h); refreshed at 80%")
	return cmd
}

// runEnv is the child's environment: this process's, and the AZURE_*
// variables the webhook injects into a pod; with a CA file (absolute, as
// the child may change directory), a trust bundle in dir that holds the
// system roots and Ward's CA.
func runEnv(c *conn, caFile, dir, clientID, tokenFile string) ([]string, error) {
	env := append(os.Environ(), "AZURE_CLIENT_ID="+clientID, "AZURE_TENANT_ID="+c.tenant,
		"AZURE_FEDERATED_TOKEN_FILE="+tokenFile, "AZURE_AUTHORITY_HOST="+c.server+"/")
	if caFile == "" {
		return env, nil
	}
	ca, err := filepath.Abs(caFile)
	if err != nil {
		return nil, err
	}
	bundle, err := trustBundle(dir, ca)
	if err != nil {
		return nil, err
	}
	return append(env, caEnv(bundle, ca)...), nil
}

// runChild runs args with env and this command's standard streams,
// sending it SIGTERM when ctx ends; its exit code becomes this process's.
func runChild(ctx context.Context, cmd *cobra.Command, args, env []string) error {
	child := exec.CommandContext(ctx, args[0], args[1:]...)
	child.Env, child.Stdin, child.Stdout, child.Stderr = env, os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
	child.Cancel = func() error { return child.Process.Signal(syscall.SIGTERM) }
	err := child.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	return err
}

// identityFor finds the one identity with a federated credential for the
// issuer and subject (exactly, or by a claims matching expression that
// accepts the subject), or says which exist.
func identityFor(ctx context.Context, c *conn, issuer, subject string) (string, error) {
	fics, err := allFederatedCredentials(ctx, c, c.sub)
	if err != nil {
		return "", err
	}
	return identityTrusting(fics, issuer, subject)
}

// identityTrusting is identityFor's choice among the subscription's
// federated credentials fics: the client ID of the one identity that
// trusts issuer and subject, or an error naming none or several.
func identityTrusting(fics []ficOf, issuer, subject string) (string, error) {
	var found []client.Identity
	seen := map[string]bool{}
	for _, f := range fics {
		if !seen[f.identity.ID] && trusts(f.fic.Properties, issuer, subject) {
			found, seen[f.identity.ID] = append(found, f.identity), true
		}
	}
	switch len(found) {
	case 1:
		return found[0].Properties.ClientID, nil
	case 0:
		return "", fmt.Errorf("no identity has a federated credential for issuer %s and subject %s: pass --client-id, or create one with %s", issuer, subject,
			shellquote.Join("ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", "IDENTITY", "-g", "GROUP", "--issuer", issuer, "--subject", subject))
	}
	var names []string
	for _, id := range found {
		names = append(names, id.Name+" ("+id.Properties.ClientID+")")
	}
	return "", fmt.Errorf("several identities trust %s: %s; choose one with --client-id", subject, strings.Join(names, ", "))
}

// caEnv is the CA variables a child gets: Go and Python replace the system
// roots with the bundle (system roots plus Ward's CA); Node adds the extra
// CA to its own roots. Both paths are absolute.
func caEnv(bundle, wardCA string) []string {
	return []string{"SSL_CERT_FILE=" + bundle, "REQUESTS_CA_BUNDLE=" + bundle, "NODE_EXTRA_CA_CERTS=" + wardCA}
}

// trustBundle writes the system roots plus Ward's CA into one PEM file, for
// clients (Go's SSL_CERT_FILE, Python's REQUESTS_CA_BUNDLE) that replace the
// system roots with the file they are given.
func trustBundle(dir, wardCA string) (string, error) {
	ca, err := os.ReadFile(wardCA)
	if err != nil {
		return "", err
	}
	var out []byte
	for _, p := range systemBundles {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b...)
			break
		}
	}
	out = append(append(out, '\n'), ca...)
	path := filepath.Join(dir, "ca-bundle.pem")
	return path, os.WriteFile(path, out, 0o600)
}

// keepFresh refetches the token when 80% of its remaining lifetime has
// passed, as the kubelet refreshes projected tokens; after a failure it
// retries within a minute. It returns when ctx ends.
func keepFresh(ctx context.Context, exp time.Time, fetch func() (time.Time, error), now func() time.Time,
	after func(time.Duration) <-chan time.Time, onErr func(error)) {
	for {
		wait := exp.Sub(now()) * 8 / 10
		select {
		case <-ctx.Done():
			return
		case <-after(wait):
		}
		// Both may be ready at once; select picks either, so check again.
		if ctx.Err() != nil {
			return
		}
		next, err := fetch()
		switch {
		case err == nil:
			exp = next
		case ctx.Err() != nil:
			return
		default:
			onErr(err)
			exp = now().Add(75 * time.Second) // 80% of it: retry in a minute
		}
	}
}
