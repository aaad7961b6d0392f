package sts_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/audience"
	"github.com/ward-id/ward/internal/bench"
	"github.com/ward-id/ward/internal/server"
	"github.com/ward-id/ward/internal/server/servertest"
)

// BenchmarkTokenHandler drives the real handler graph (router, access
// log, token service, sign-in log, SQLite) with the federated exchange a
// pod repeats, calling the server's handler directly so that allocs/op and
// the CPU profile are the server's own work, without a client or TLS in
// the same process. "noop" is /healthz through the same handler: the
// floor every other case is read against.
//
//	go test -run '^$' -bench TokenHandler -benchmem -count 5 -cpuprofile cpu.out ./internal/sts
func BenchmarkTokenHandler(b *testing.B) {
	for _, c := range []struct {
		name  string
		alg   string
		reuse bool
		noop  bool
	}{
		{name: "noop", alg: "ES256", noop: true},
		{name: "reuse-hit/RS256", alg: "RS256", reuse: true},
		{name: "reuse-hit/ES256", alg: "ES256", reuse: true},
		{name: "mint/ES256", alg: "ES256"},
		{name: "mint/RS256", alg: "RS256"},
	} {
		b.Run(c.name, func(b *testing.B) {
			serve := tokenServer(b, c.alg, c.reuse, c.noop)
			serve() // the first exchange mints the token later ones reuse
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
		})
	}
}

// TestReuseHitAllocations pins what a reuse hit allocates in the server's
// own handler graph, against the no-op through the same graph: a new
// allocation on the path a pod repeats fails here, not in a profile weeks
// later. Three are the mux's, which every request pays: its request state
// (the context handlers see), the request's copy with that context, and
// the body's cap. The no-op adds /healthz's header and body; a reuse hit
// adds the form body's one copy, which the parameters point into. The
// route's captures and the form's parameters live in place and cost none.
func TestReuseHitAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	for _, c := range []struct {
		name string
		noop bool
		max  float64
		race float64 // under -race, which keeps less on the stack
	}{
		{name: "noop", noop: true, max: 5, race: 6},
		{name: "reuse hit", max: 4, race: 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			serve := tokenServer(t, "ES256", true, c.noop)
			serve()
			limit := c.max
			if raceBuild {
				limit = c.race
			}
			if n := testing.AllocsPerRun(200, serve); n > limit {
				t.Fatalf("%s: %.0f allocations per request, want at most %.0f: run the benchmark with -memprofile to see the new one", c.name, n, limit)
			}
		})
	}
}

// tokenServer starts a server and returns a function that sends it one
// request through its handler: /healthz for noop, else the federated
// exchange of bench.Prepare's fixture (with or without token reuse).
func tokenServer(tb testing.TB, alg string, reuse, noop bool) func() {
	s := servertest.Start(tb, func(cfg *server.Config) {
		cfg.SigningAlg = alg
		if !reuse {
			cfg.TokenReuseMaxAge = -1
		}
	})
	var req *http.Request
	var body []byte
	if noop {
		req = httptest.NewRequest(http.MethodGet, s.URL+"/healthz", nil)
	} else {
		f := prepare(tb, s)
		body = []byte(url.Values{"grant_type": {"client_credentials"}, "client_id": {f.ClientID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {f.SAToken},
			"scope": {audience.DefaultScope(audience.Management)}}.Encode())
		req = httptest.NewRequest(http.MethodPost, s.URL+"/"+s.Admin.TenantID+"/oauth2/v2.0/token", nil)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Host = strings.TrimPrefix(s.URL, "https://")
	req.RemoteAddr = "127.0.0.1:40000"
	rb := &rewindBody{}
	w := &discard{h: http.Header{}}
	return func() {
		rb.Reset(body)
		req.Body, req.ContentLength = rb, int64(len(body))
		clear(w.h)
		w.status = 0
		s.Handler.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			tb.Fatalf("%s answered %d", req.URL.Path, w.status)
		}
	}
}

// prepare creates the bench fixture (identity, federated credential on a
// cluster issuer, a service-account token of it) through the public API.
func prepare(tb testing.TB, s *servertest.Server) bench.Fixture {
	tb.Helper()
	pem, err := os.ReadFile(filepath.Join(s.DataDir, "ca.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	t := bench.Target{Base: s.URL, TenantID: s.Admin.TenantID, Subscription: s.Admin.SubscriptionID, ClientID: s.Admin.ClientID,
		ClientSecret: s.Admin.ClientSecret, TLS: &tls.Config{RootCAs: pool}}
	f, err := bench.Prepare(context.Background(), t, "b")
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// rewindBody is a request body the benchmark rewinds between requests
// instead of allocating one per request.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// discard is a ResponseWriter that keeps only the status.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header { return d.h }

// SetReadDeadline is what the server's connection offers the router
// (http.ResponseController), so the benchmark does not count the error
// a writer without it costs.
func (d *discard) SetReadDeadline(time.Time) error { return nil }
func (d *discard) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
func (d *discard) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(p), nil
}
