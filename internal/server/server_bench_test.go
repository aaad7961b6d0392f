package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/ward-id/ward/client"
)

// startInProcess runs Run on a free loopback port with SQLite in a temp dir
// and returns a management client for the bootstrap admin.
func startInProcess(tb testing.TB) (*client.Client, string) {
	tb.Helper()
	dir := tb.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Addr: "127.0.0.1:0", DataDir: dir,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(a net.Addr) { ready <- a }})
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("server: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		tb.Fatalf("server did not start: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, AdminFile))
	if err != nil {
		tb.Fatal(err)
	}
	var a Admin
	if err := json.Unmarshal(b, &a); err != nil {
		tb.Fatal(err)
	}
	hc, err := client.NewHTTPClient(filepath.Join(dir, "ca.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	creds := &client.ClientCredentials{AuthorityHost: a.AuthorityHost, TenantID: a.TenantID, ClientID: a.ClientID,
		ClientSecret: a.ClientSecret, Resource: "https://management.azure.com/", HTTP: hc}
	c, err := client.New(a.ResourceManager, creds, client.Options{HTTPClient: hc})
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := c.CreateOrUpdateGroup(context.Background(), a.SubscriptionID, "bench", "westeurope", nil); err != nil {
		tb.Fatal(err)
	}
	return c, a.SubscriptionID
}

// BenchmarkIdentityCreate measures PUT of a new identity through HTTPS/h2
// into SQLite with synchronous (fsync'd) commits: client and server together.
func BenchmarkIdentityCreate(b *testing.B) {
	c, sub := startInProcess(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := c.CreateOrUpdateIdentity(ctx, sub, "bench", fmt.Sprintf("id-%d", i), "westeurope", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdentityGet measures GET of one identity through HTTPS/h2.
func BenchmarkIdentityGet(b *testing.B) {
	c, sub := startInProcess(b)
	ctx := context.Background()
	if _, _, err := c.CreateOrUpdateIdentity(ctx, sub, "bench", "id-get", "westeurope", nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.GetIdentity(ctx, sub, "bench", "id-get"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestInProcessServerStartsAndStops(t *testing.T) {
	c, sub := startInProcess(t)
	if _, err := c.GetGroup(context.Background(), sub, "bench"); err != nil {
		t.Fatal(err)
	}
}
