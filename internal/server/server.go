// Package server is Ward's one wiring file: it opens storage, bootstraps the
// data directory, builds the handlers, mounts them on one HTTPS listener
// (HTTP/2 enabled) and shuts down gracefully when its context ends.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/blob"
	"github.com/ward-id/ward/internal/changefeed"
	"github.com/ward-id/ward/internal/pki"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
	sqlstore "github.com/ward-id/ward/internal/storage/sql"
	"github.com/ward-id/ward/internal/workers"
)

// Config is what `ward serve` is given.
type Config struct {
	Addr    string // default 127.0.0.1:8443
	DataDir string // default ./ward-data
	// RegistryDir holds the in-process container registries' images;
	// default <DataDir>/registries.
	RegistryDir string
	// RegistryUpstream, when set, is the URL of a registry (distribution
	// configured by `ward acr show-config`) that serves /v2/ behind the
	// login server hosts, in place of the in-process registries.
	RegistryUpstream string
	Storage          string // "sqlite" (default) or "postgres"
	DSN              string // PostgreSQL connection URL
	PublicURL        string // default https://<addr>
	Logger           *slog.Logger
	// AccessLog, when set, gets the access log's one line per request
	// instead of Logger (ward serve: a queue that drops lines rather than
	// keep requests waiting for stderr); AccessLogDropped counts the
	// lines it dropped, for /metrics.
	AccessLog        *slog.Logger
	AccessLogDropped func() uint64
	// KEKFile holds the 32-byte key-encryption key for signing keys at rest
	// (raw or base64); default <data>/kek, created on first start. The
	// WARD_KEK environment variable (base64) takes precedence.
	KEKFile string
	// IssuerCAFile adds trust roots for fetching external issuers' keys.
	IssuerCAFile string
	// AllowLoopbackIssuers lets external issuers on loopback addresses
	// (127.0.0.0/8, ::1, localhost) be fetched: tests and local development.
	// Link-local issuer hosts (169.254.0.0/16, fe80::/10) are always refused.
	AllowLoopbackIssuers bool
	// SigningAlg is RS256 (default) or ES256.
	SigningAlg string
	// ManagedIdentityTokenLifetime defaults to 24 h; AppTokenLifetime to 1 h.
	ManagedIdentityTokenLifetime time.Duration
	AppTokenLifetime             time.Duration
	// LogRetention is how long the sign-in and activity logs keep records;
	// older ones are deleted at start and hourly. 0 keeps them forever
	// (`ward serve` defaults to 30 days, as Entra's sign-in log).
	LogRetention time.Duration
	// TokenReuseMaxAge bounds how long the token service hands a minted
	// token out again (default sts.DefaultTokenReuseMaxAge; negative: off).
	TokenReuseMaxAge time.Duration
	// MaxFederatedCredentials caps the federated credentials of one
	// identity; 0 is Entra's 20.
	MaxFederatedCredentials int
	// TraceSlow, when positive, keeps Go's execution trace of the last
	// seconds in memory and writes it to <data>/traces when a request
	// takes at least this long (at most one file every 10 s, newest 10
	// kept): `go tool trace` then shows where that request's time went.
	TraceSlow time.Duration
	TraceDir  string // default <data>/traces
	// PprofAddr, when set, serves Go's profiling endpoints over plain
	// HTTP on this loopback address (pprof.go); off by default.
	PprofAddr string
	// Ready, if set, is called with the bound address once every endpoint serves.
	Ready func(addr net.Addr)
	// BeforeServe, if set, is called once the handler graph is built and
	// the background tasks started, just before the listener serves:
	// `ward serve` releases its start-up memory there, so that no request
	// is served in between.
	BeforeServe func()
	// BlobDir holds blob contents (content-addressed); default <data>/blobs.
	// Replicas sharing a database share this directory (a shared volume).
	BlobDir string
	// BlobMaxPutBytes caps one Put Blob or Put Block body and BlobMaxBytes a
	// committed blob (0: the blob package's defaults, 256 MiB and 16 GiB).
	BlobMaxPutBytes, BlobMaxBytes int64
	// FeedPoll is how often the change feed follower reads the database
	// when no notification came (0: changefeed's default, 250 ms; SQLite
	// has no notifications). A replica's own writes do not wait for it:
	// they reach its views before the writing request answers. Tests set
	// it long to prove that.
	FeedPoll time.Duration
	// RouteHook, when set, wraps each route's handler inside the router's
	// check (router.Mux.Inner): it runs only for requests whose declared
	// rule passed. Tests use it to see which handlers a request reached.
	RouteHook func(router.Route, http.Handler) http.Handler
	// Store, if set, is used instead of opening Storage/DSN; the caller
	// closes it. Tests pass a store with injected faults (wardtest).
	Store storage.Storage
}

func (c *Config) defaults() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8443"
	}
	if c.DataDir == "" {
		c.DataDir = "ward-data"
	}
	if c.Storage == "" {
		c.Storage = "sqlite"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("--public-url %q must be an https URL with a host and no path, e.g. https://ward.example.com:8443", c.PublicURL)
		}
		c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	}
	return nil
}

func openStore(ctx context.Context, c Config) (*sqlstore.DB, error) {
	switch c.Storage {
	case "sqlite":
		return sqlstore.OpenSQLite(ctx, filepath.Join(c.DataDir, "ward.db"))
	case "postgres":
		if c.DSN == "" {
			return nil, errors.New("--storage postgres needs --dsn postgres://user@host:port/db")
		}
		return sqlstore.OpenPostgres(ctx, c.DSN)
	}
	return nil, fmt.Errorf("--storage %q is not known: use sqlite or postgres", c.Storage)
}

// Server is a built Ward server: storage open, data directory
// bootstrapped, every part mounted on one router.
type Server struct {
	cfg       Config
	ln        net.Listener
	publicURL string
	admin     Admin
	mux       *router.Mux
	handler   http.Handler
	cert      tls.Certificate
	tasks     []func(ctx context.Context)
	follower  *changefeed.Follower
	closers   []func()
}

// Run serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run(ctx)
}

// New listens on cfg.Addr, opens storage, bootstraps the data directory and
// builds the handler graph in dependency order.
func New(ctx context.Context, cfg Config) (_ *Server, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := (&graph{s: s, cfg: cfg}).build(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// sweepBlobs removes blob files nothing refers to (overwritten and deleted
// blobs, uploads a crash cut short), hourly, keeping an hour's grace for
// uploads between their file and their commit.
func sweepBlobs(ctx context.Context, blobs *blob.Service, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := blobs.Sweep(ctx, time.Hour); err != nil {
			log.Warn("blob sweep failed", "err", err)
		} else if n > 0 {
			log.Info("blob sweep removed unreferenced files", "files", n)
		}
	}
}

// maxLag is how far behind the database a replica may be and still be ready.
const maxLag = time.Second

// readyz answers 200 while this replica's views follow the database.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if lag := s.follower.Lag(); lag > maxLag {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: the change feed was last read %v ago\n", lag.Round(time.Millisecond))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Handler is the server's whole HTTP handler (routing, limits, access log).
func (s *Server) Handler() http.Handler { return s.handler }

// Routes lists every route the server serves, with who may call it.
func (s *Server) Routes() []router.Route { return s.mux.Routes() }

// Close releases what New opened, in reverse order.
func (s *Server) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// Run serves HTTPS until ctx ends, running the background tasks under the
// same context, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	cfg, log := s.cfg, s.cfg.Logger
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	for _, t := range s.tasks {
		go t(bg)
	}
	// HTTP/2 requests run on goroutines whose stacks have grown already
	// (internal/workers): net/http starts a fresh one per request.
	pool := workers.New(workers.Config{})
	defer pool.Close()
	srv := &http.Server{
		Handler:           pool.Handler(s.handler),
		ReadHeaderTimeout: 10 * time.Second,
		// A backstop for body reads; the mux sets the per-request deadline.
		ReadTimeout:    2 * router.DefaultReadTimeout,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 1 << 20,
		TLSConfig:      servingTLS(s.cert),
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if cfg.PprofAddr != "" {
		ln, err := listenPprof(cfg.PprofAddr)
		if err != nil {
			return err
		}
		go servePprof(bg, ln, log)
	}
	if cfg.BeforeServe != nil {
		cfg.BeforeServe()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(s.ln, "", "") }()
	log.Info("ward serving", "addr", s.ln.Addr().String(), "public_url", s.publicURL, "data", cfg.DataDir,
		"storage", cfg.Storage, "tenant", s.admin.TenantID, "subscription", s.admin.SubscriptionID)
	if cfg.Ready != nil {
		cfg.Ready(s.ln.Addr())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("ward shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// publicHost turns a bound address into a host clients can reach: an
// unspecified address (0.0.0.0, ::) becomes 127.0.0.1.
func publicHost(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

// loadKEK returns the key-encryption key: WARD_KEK (base64), else the KEK
// file, created with 32 random bytes (mode 0600) on first start.
func loadKEK(cfg Config) ([]byte, error) {
	if env := os.Getenv("WARD_KEK"); env != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(env))
		if err != nil || len(k) != 32 {
			return nil, errors.New("WARD_KEK must be 32 bytes, base64-encoded (e.g. head -c32 /dev/urandom | base64)")
		}
		return k, nil
	}
	path := cfg.KEKFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, "kek")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && cfg.KEKFile == "" {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		if err := pki.WriteFileAtomic(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
			return nil, err
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read key-encryption key: %w", err)
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err == nil && len(k) == 32 {
		return k, nil
	}
	if len(b) == 32 {
		return b, nil
	}
	return nil, fmt.Errorf("key-encryption key %s must hold 32 bytes, raw or base64", path)
}

// issuerRoots is the system pool plus the PEM file, if any.
func issuerRoots(file string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if file == "" {
		return pool, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--issuer-ca-file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--issuer-ca-file %s holds no PEM certificate", file)
	}
	return pool, nil
}
