// Package server is Ward's one wiring file: it opens storage, bootstraps the
// data directory, builds the handlers, mounts them on one HTTPS listener
// (HTTP/2 enabled) and shuts down gracefully when its context ends.
package server

import (
	"context"
	"crypto/tls"
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

	"github.com/ward-id/ward/internal/arm"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/pki"
	"github.com/ward-id/ward/internal/storage"
	sqlstore "github.com/ward-id/ward/internal/storage/sql"
)

// Config is what `ward serve` is given.
type Config struct {
	Addr      string // default 127.0.0.1:8443
	DataDir   string // default ./ward-data
	Storage   string // "sqlite" (default) or "postgres"
	DSN       string // PostgreSQL connection URL
	PublicURL string // default https://<addr>
	Logger    *slog.Logger
	// Ready, if set, is called with the bound address once every endpoint serves.
	Ready func(addr net.Addr)
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

func openStore(ctx context.Context, c Config) (storage.Storage, error) {
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

// Run serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	log := cfg.Logger
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = "https://" + publicHost(ln.Addr().(*net.TCPAddr))
	}

	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	admin, err := bootstrap(ctx, store, cfg.DataDir, publicURL, time.Now().UTC())
	if err != nil {
		return err
	}
	u, _ := url.Parse(publicURL)
	cert, err := pki.Load(cfg.DataDir, []string{u.Hostname()}, time.Now)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	arm.New(arm.Config{
		Service:   msi.New(store, msi.Config{}),
		Auth:      &authn.SecretBearer{Store: store, AppID: admin.ClientID, Now: time.Now},
		PublicURL: publicURL,
		TenantID:  admin.TenantID,
		Logger:    log,
	}).Mount(mux)

	srv := &http.Server{
		Handler:           accessLog(log, mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"h2", "http/1.1"},
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	log.Info("ward serving", "addr", ln.Addr().String(), "public_url", publicURL, "data", cfg.DataDir,
		"storage", cfg.Storage, "tenant", admin.TenantID, "subscription", admin.SubscriptionID)
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
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

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// accessLog logs one line per request: method, path, status, duration. It
// never logs headers or bodies, which carry tokens and secrets.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "proto", r.Proto)
	})
}
