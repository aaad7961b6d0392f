// Package servertest runs the real Ward server for handler tests: the whole
// handler graph of server.New on a free loopback port, HTTPS with the data
// directory's CA, SQLite in the test's temporary directory behind a
// wardtest.Store so that a test can make storage fail.
package servertest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/server"
	"github.com/ward-id/ward/internal/wardtest"
)

// Server is a running Ward server owned by one test.
type Server struct {
	// URL is the server's base URL (https://127.0.0.1:PORT).
	URL string
	// Admin is the bootstrap admin (Owner at /), as admin.json holds it.
	Admin server.Admin
	// HTTP trusts the server's CA.
	HTTP *http.Client
	// Client is the management client, signed in as Admin with tokens for
	// the server's own URL (accepted by ARM and the directory API, as the
	// CLI asks for them).
	Client *client.Client
	// Store is the server's store; Fail on it to inject storage faults.
	Store *wardtest.Store
	// DataDir is the server's data directory (ca.pem, admin.json).
	DataDir string
	// Handler is the server's whole HTTP handler (server.Server.Handler):
	// a benchmark calls it directly to measure the server's own work
	// (allocations, CPU) without a client and TLS in the same process.
	Handler http.Handler

	stop func()
}

// Start runs the server until the test ends. cfg may adjust the
// configuration (token lifetimes, ...); its Addr, DataDir, Store, Logger
// and Ready are set by Start.
func Start(t testing.TB, cfg ...func(*server.Config)) *Server {
	t.Helper()
	return start(t, t.TempDir(), wardtest.OpenSQLite(t), cfg)
}

// Restart stops the server and starts another on the same data directory
// and store, as a process restart does; cfg as for Start. It fails the
// test when the new server does not start.
func (s *Server) Restart(t testing.TB, cfg ...func(*server.Config)) *Server {
	t.Helper()
	s.Stop()
	return start(t, s.DataDir, s.Store, cfg)
}

// Stop stops the server (at most once; the test's end stops it anyway).
func (s *Server) Stop() { s.stop() }

func start(t testing.TB, dir string, st *wardtest.Store, cfg []func(*server.Config)) *Server {
	t.Helper()
	ready := make(chan net.Addr, 1)
	c := server.Config{Addr: "127.0.0.1:0", DataDir: dir, Store: st,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(a net.Addr) { ready <- a }}
	for _, f := range cfg {
		f(&c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv, err := server.New(ctx, c)
	if err != nil {
		cancel()
		t.Fatalf("server did not start: %v", err)
	}
	go func() {
		defer srv.Close()
		done <- srv.Run(ctx)
	}()
	var once sync.Once
	var hc *http.Client
	stop := func() {
		once.Do(func() {
			// The test's client holds an idle HTTP/2 connection; closing it
			// first spares the graceful shutdown its wait for the client to
			// answer GOAWAY (net/http waits up to a second for each).
			if hc != nil {
				hc.CloseIdleConnections()
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		once.Do(cancel) // done is drained: stop must not wait on it
		t.Fatalf("server did not start: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, server.AdminFile))
	if err != nil {
		t.Fatal(err)
	}
	var a server.Admin
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	hc, err = client.NewHTTPClient(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "https://" + addr.String(), Admin: a, HTTP: hc, Store: st, DataDir: dir, Handler: srv.Handler(), stop: stop}
	s.Client, err = client.New(a.ResourceManager, s.Credentials(s.URL), client.Options{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Credentials returns the admin's client credentials for resource.
func (s *Server) Credentials(resource string) *client.ClientCredentials {
	return &client.ClientCredentials{AuthorityHost: s.Admin.AuthorityHost, TenantID: s.Admin.TenantID,
		ClientID: s.Admin.ClientID, ClientSecret: s.Admin.ClientSecret, Resource: resource, HTTP: s.HTTP}
}

// Token returns an admin access token for resource.
func (s *Server) Token(t testing.TB, resource string) string {
	t.Helper()
	tok, err := s.Credentials(resource).Token(context.Background())
	if err != nil {
		t.Fatalf("admin token for %s: %v", resource, err)
	}
	return tok
}

// Do sends method path (relative to URL) with body (nil for none) and the
// bearer token (none when ""), and returns the response with its body read.
func (s *Server) Do(t testing.TB, method, path, token string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// ErrorCode returns error.code of an error body in the {"error":{"code",
// "message"}} envelope that ARM, Graph and Key Vault share, failing the
// test when body is not one.
func ErrorCode(t testing.TB, body []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("error body %.300q is not the {\"error\":{\"code\",\"message\"}} envelope (%v)", body, err)
	}
	return e.Error.Code
}

// Case is one request of a table-driven handler test.
type Case struct {
	Name, Method, Path string
	Token              string // bearer token, "" for none
	Body               string // JSON body, "" for none
	Status             int    // the status wanted
	Code               string // error.code wanted when Status >= 400 ("" for any)
	Contains           string // a substring the body must hold ("" for any)
}

// RunCases runs each case as a subtest, in order (later cases may depend on
// earlier ones), and checks status, error envelope and body.
func (s *Server) RunCases(t *testing.T, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var body io.Reader
			if tc.Body != "" {
				body = strings.NewReader(tc.Body)
			}
			resp, b := s.Do(t, tc.Method, tc.Path, tc.Token, body)
			if resp.StatusCode != tc.Status {
				t.Fatalf("%s %s = %d %.300s, want %d", tc.Method, tc.Path, resp.StatusCode, b, tc.Status)
			}
			if tc.Code != "" {
				if code := ErrorCode(t, b); code != tc.Code {
					t.Fatalf("%s %s: error code %q, want %q (%.300s)", tc.Method, tc.Path, code, tc.Code, b)
				}
			}
			if tc.Contains != "" && !strings.Contains(string(b), tc.Contains) {
				t.Fatalf("%s %s: body %.500s does not contain %q", tc.Method, tc.Path, b, tc.Contains)
			}
		})
	}
}
