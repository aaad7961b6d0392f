package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestListenPprof(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr string
	}{
		{"127.0.0.1:0", ""},
		{"localhost:0", ""},
		{"0.0.0.0:0", "loopback"},
		{":0", "loopback"},
		{"192.0.2.1:0", "loopback"},
		{"ward.example:6060", "loopback"},
		{"127.0.0.1", "missing port"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ln, err := listenPprof(tt.addr)
			if tt.wantErr != "" {
				if err == nil {
					ln.Close()
					t.Fatalf("listenPprof(%q) bound %v, want an error mentioning %q", tt.addr, ln.Addr(), tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("listenPprof(%q) = %v, want an error mentioning %q", tt.addr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("listenPprof(%q): %v", tt.addr, err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { servePprof(ctx, ln, slog.New(slog.NewTextHandler(io.Discard, nil))); close(done) }()
			resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/cmdline")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || len(body) == 0 {
				t.Fatalf("GET /debug/pprof/cmdline: %d %q", resp.StatusCode, body)
			}
			cancel()
			<-done
		})
	}
}
