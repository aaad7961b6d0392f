package bench

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// The scenario clients behave as their rows say: HTTP/2 by ALPN always;
// with NewConnection one full handshake per request (like the Azure SDKs'
// transport, no session cache); with SessionCache too, resumed handshakes.
func TestScenarioClients(t *testing.T) {
	var conns atomic.Int64
	var resumed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS.DidResume {
			resumed.Add(1)
		}
		_, _ = io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	cfg := Config{Workers: 2, TLS: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	const n = 5
	tests := []struct {
		name                   string
		sc                     Scenario
		wantConns, wantResumed int64
	}{
		{"keep-alive", Scenario{}, 1, 0},
		{"new connection", Scenario{NewConnection: true}, n, 0},
		{"new connection with a session cache", Scenario{NewConnection: true, SessionCache: true}, n, n - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conns.Store(0)
			resumed.Store(0)
			hc := cfg.client(tt.sc)
			defer hc.CloseIdleConnections()
			for i := range n {
				resp, err := hc.Get(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "HTTP/2.0" {
					t.Fatalf("request %d went over %s, want HTTP/2.0", i, body)
				}
			}
			if got := conns.Load(); got != tt.wantConns {
				t.Errorf("%d requests opened %d connections, want %d", n, got, tt.wantConns)
			}
			if got := resumed.Load(); got != tt.wantResumed {
				t.Errorf("%d requests resumed %d sessions, want %d", n, got, tt.wantResumed)
			}
		})
	}
}
