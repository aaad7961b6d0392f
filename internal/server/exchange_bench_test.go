package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/ward-id/ward/internal/bench"
)

// benchTarget starts a server with cfg's options and prepares the bench
// fixtures on it.
func benchTarget(b *testing.B, cfg Config) (bench.Target, bench.Fixture) {
	b.Helper()
	dir := b.TempDir()
	cfg.Addr, cfg.DataDir, cfg.Logger = "127.0.0.1:0", dir, slog.New(slog.NewTextHandler(io.Discard, nil))
	ready := make(chan net.Addr, 1)
	cfg.Ready = func(a net.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done; s.Close() })
	addr := <-ready
	raw, _ := os.ReadFile(filepath.Join(dir, AdminFile))
	var a Admin
	_ = json.Unmarshal(raw, &a)
	pem, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	t := bench.Target{Base: "https://" + addr.String(), TenantID: a.TenantID, Subscription: a.SubscriptionID, ClientID: a.ClientID,
		ClientSecret: a.ClientSecret, TLS: &tls.Config{RootCAs: pool}}
	f, err := bench.Prepare(context.Background(), t, "b")
	if err != nil {
		b.Fatal(err)
	}
	return t, f
}

// BenchmarkFederatedExchange measures the workload-identity exchange over
// HTTPS/h2 (client and server in this process), minting every token
// (reuse off), and with reuse on. Profile it with -cpuprofile.
func BenchmarkFederatedExchange(b *testing.B) {
	for _, c := range []struct {
		name  string
		reuse bool
		alg   string
	}{{"RS256/mint", false, "RS256"}, {"ES256/mint", false, "ES256"}, {"RS256/reuse", true, "RS256"}} {
		b.Run(c.name, func(b *testing.B) {
			cfg := Config{SigningAlg: c.alg}
			if !c.reuse {
				cfg.TokenReuseMaxAge = -1
			}
			t, f := benchTarget(b, cfg)
			_, scenarios := bench.Scenarios(t, f)
			exchange := scenarios[0]
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: t.TLS, ForceAttemptHTTP2: true}}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := exchange.New(context.Background())
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
