package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/router"
)

// BeforeServe runs once, before Ready and before any request reaches a
// handler: ward serve releases its start-up memory there.
func TestBeforeServeRunsBeforeAnyRequest(t *testing.T) {
	dir := t.TempDir()
	var before, early, served atomic.Int32
	hook := func(_ router.Route, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			if before.Load() == 0 {
				early.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			RouteHook:   hook,
			BeforeServe: func() { before.Add(1) },
			Ready: func(a net.Addr) {
				if before.Load() != 1 {
					t.Errorf("Ready before BeforeServe")
				}
				ready <- a
			}})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	}
	hc, err := client.NewHTTPClient(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get("https://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %s", resp.Status)
	}
	if before.Load() != 1 || served.Load() == 0 || early.Load() != 0 {
		t.Errorf("BeforeServe ran %d times; %d requests served, %d of them before it", before.Load(), served.Load(), early.Load())
	}
}
