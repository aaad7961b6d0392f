package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/internal/cli"
	"github.com/ward-id/ward/internal/logqueue"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/procmem"
	"github.com/ward-id/ward/internal/server"
	"github.com/ward-id/ward/internal/sts"
	"k8s.io/apimachinery/pkg/api/resource"
)

func serveCmd() *cobra.Command {
	var cfg server.Config
	var logLevel string
	var releaseStartup bool
	var memLimit string
	var memLimitBytes int64
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Ward server (HTTPS on 127.0.0.1:8443, state in ./ward-data)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return err
			}
			// Every line goes through one queue to stderr, so lines stay
			// whole and in order; the access log's are dropped (and
			// counted) when stderr falls behind, the others wait for it.
			q := logqueue.New(logqueue.Config{Out: os.Stderr})
			defer q.Close()
			opts := &slog.HandlerOptions{Level: lvl}
			cfg.Logger = slog.New(slog.NewTextHandler(q.Wait(), opts))
			cfg.AccessLog = slog.New(slog.NewTextHandler(q.Drop(), opts))
			cfg.AccessLogDropped = q.Dropped
			server.CheckPublicURL(cfg)
			if memLimitBytes != 0 {
				debug.SetMemoryLimit(memLimitBytes)
			}
			if cfg.PprofAddr == "" {
				noHeapSampling()
			}
			if releaseStartup {
				log := cfg.Logger
				cfg.BeforeServe = func() { releaseStartupMemory(log) }
			}
			return serveError(server.Run(cmd.Context(), cfg), cfg.Addr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", cli.DefaultData(), "data directory: ward.db, admin.json, ca.pem, kek (env WARD_DATA)")
	f.StringVar(&cfg.Addr, "addr", "127.0.0.1:8443", "address to listen on (HOST:PORT)")
	f.StringVar(&cfg.Storage, "storage", "sqlite", "storage backend: sqlite (embedded, in --data) or postgres")
	f.StringVar(&cfg.DSN, "dsn", "", "PostgreSQL connection URL for --storage postgres")
	f.StringVar(&cfg.PublicURL, "public-url", "", "base URL clients use, put in documents and issuer URLs (default https://<addr>)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&cfg.KEKFile, "kek-file", "", "key-encryption key for signing keys at rest (default <data>/kek; env WARD_KEK overrides)")
	f.StringVar(&cfg.RegistryDir, "registry-dir", "", "where the in-process container registries keep images (default <data>/registries)")
	f.StringVar(&cfg.RegistryUpstream, "registry-upstream", "", "serve registries' /v2/ from this registry (a CNCF distribution run with 'ward acr show-config') instead of in-process")
	f.StringVar(&cfg.IssuerCAFile, "issuer-ca-file", "", "PEM file of extra CAs trusted when fetching external issuers' keys")
	f.BoolVar(&cfg.AllowLoopbackIssuers, "allow-loopback-issuers", false, "fetch external issuers' keys from loopback addresses (127.0.0.0/8, ::1, localhost): tests and local development only")
	f.StringVar(&cfg.SigningAlg, "signing-alg", "RS256", "token signing algorithm: RS256 or ES256 (starting with another one than the current key's rotates to a new key; the old one stays published)")
	f.DurationVar(&cfg.ManagedIdentityTokenLifetime, "managed-identity-token-lifetime", 24*time.Hour, "lifetime of managed identity (workload identity) tokens")
	f.DurationVar(&cfg.AppTokenLifetime, "app-token-lifetime", time.Hour, "lifetime of service principal tokens")
	f.DurationVar(&cfg.LogRetention, "log-retention", 30*24*time.Hour, "how long the sign-in and activity logs keep records (deleted hourly); 0 keeps them forever")
	f.DurationVar(&cfg.TraceSlow, "trace-slow", 0, "keep the last seconds of Go's execution trace in memory and write it to <data>/traces when a request takes at least this long (e.g. 50ms; read it with go tool trace); 0 is off")
	f.StringVar(&cfg.PprofAddr, "pprof-addr", "", "serve Go's profiling endpoints (/debug/pprof/, unauthenticated plain HTTP) on this loopback address, e.g. 127.0.0.1:6060; off by default")
	f.StringVar(&cfg.BlobDir, "blob-dir", "", "directory of blob contents, content-addressed (default <data>/blobs; replicas share it)")
	var maxPut, maxBlob string
	f.StringVar(&maxPut, "blob-max-put-size", "256Mi", "largest single Put Blob or Put Block body (bytes, or with Ki, Mi, Gi)")
	f.StringVar(&maxBlob, "blob-max-size", "16Gi", "largest committed blob (bytes, or with Ki, Mi, Gi)")
	var noReuse bool
	f.DurationVar(&cfg.TokenReuseMaxAge, "token-reuse-max-age", sts.DefaultTokenReuseMaxAge, "hand out a token minted for the same principal, resource and credential again while it is younger than this and than half its lifetime (the credential is verified every time)")
	f.BoolVar(&noReuse, "no-token-reuse", false, "mint a new token for every request")
	f.BoolVar(&releaseStartup, "release-startup-memory", true, "before serving, drop from resident memory the pages of the binary that only start-up used (the Kubernetes client, Azure SDK and CLI linked into the same binary; they stay in the page cache and come back on use) and return start-up garbage to the OS; see docs/performance.md")
	f.IntVar(&cfg.MaxFederatedCredentials, "max-federated-credentials", msi.MaxFederatedCredentials, "federated identity credentials allowed per identity (Entra's cap is 20). Exact credentials and expressions whose subject starts or ends with literal text are looked up by map (1,000 cost as much as one); an expression with wildcards at both ends is evaluated on every exchange of its issuer (about 0.2 µs each); see docs/flexible-federated-credentials.md")
	f.StringVar(&memLimit, "memory-limit", "auto", "soft limit on the Go runtime's memory (heap, stacks), e.g. 200Mi: the garbage collector works harder near it; auto is GOMEMLIMIT if set, else 80% of the container's (cgroup's) memory limit, else none; 0 is none. See docs/performance.md")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		n, err := memoryLimit(memLimit)
		if err != nil {
			return err
		}
		memLimitBytes = n
		if noReuse {
			cfg.TokenReuseMaxAge = -1
		}
		if cfg.MaxFederatedCredentials < 1 {
			return fmt.Errorf("--max-federated-credentials %d: at least 1 is needed (Entra's cap is %d)", cfg.MaxFederatedCredentials, msi.MaxFederatedCredentials)
		}
		for _, q := range []struct {
			flag, v string
			dst     *int64
		}{{"--blob-max-put-size", maxPut, &cfg.BlobMaxPutBytes}, {"--blob-max-size", maxBlob, &cfg.BlobMaxBytes}} {
			n, err := resource.ParseQuantity(q.v)
			if err != nil || n.Sign() <= 0 {
				return fmt.Errorf("%s %q: give a positive size such as 256Mi", q.flag, q.v)
			}
			*q.dst = n.Value()
		}
		return nil
	}
	return cmd
}

// noHeapSampling turns off the runtime's heap profile sampling in a daemon
// that serves no profiles. Go samples one allocation per 512 KiB by
// default and keeps each sampled stack in a table that lives as long as
// the process; under load that table grows by about 1.8 MiB of resident
// memory (measured after ward bench's load on ward serve), for profiles
// nobody can read. ward serve keeps the sampling when --pprof-addr serves
// them. Set before serving: allocations from then on are not sampled.
func noHeapSampling() { runtime.MemProfileRate = 0 }

// releaseStartupMemory drops what start-up alone needed from the resident
// set: the executable's pages that every linked package's init touched
// (most of them never used by serve again) and the heap garbage of
// building the server.
func releaseStartupMemory(log *slog.Logger) {
	before, _ := procmem.Read(0)
	// The collection first: it runs code and unwinds every goroutine's
	// stack, which would map pages again right after their release.
	debug.FreeOSMemory()
	if _, err := procmem.ReleaseExecutable(); err != nil {
		log.Warn("release start-up pages of the binary", "err", err)
	}
	after, _ := procmem.Read(0)
	log.Debug("released start-up memory", "rss_before", before.RSS, "rss_after", after.RSS, "file_after", after.File, "anon_after", after.Anon)
}

// memoryLimit turns --memory-limit into a soft limit for
// debug.SetMemoryLimit; 0 leaves the runtime's own (GOMEMLIMIT or none).
func memoryLimit(v string) (int64, error) {
	switch v {
	case "auto":
		if os.Getenv("GOMEMLIMIT") != "" {
			return 0, nil
		}
		if n, ok := procmem.DefaultLimit(); ok {
			return n, nil
		}
		return 0, nil
	case "0", "off", "none":
		return math.MaxInt64, nil
	}
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() < 0 {
		return 0, fmt.Errorf("--memory-limit %q: give a size such as 200Mi, auto, or 0 for none", v)
	}
	if q.Sign() == 0 {
		return math.MaxInt64, nil
	}
	return q.Value(), nil
}

// serveError adds the way out to a listen failure on a port in use.
func serveError(err error, addr string) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w: another process (another ward serve?) listens on %s; stop it, or choose another address with --addr 127.0.0.1:PORT (an existing data directory also wants --public-url with its old URL, so that cluster issuer URLs stay the same)", err, addr)
	}
	return err
}
