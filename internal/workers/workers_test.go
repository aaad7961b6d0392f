package workers

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ward-id/ward/internal/logtest"
)

// h2 serves h through a Pool on a real HTTP/2 TLS server and returns its
// client, the pool, and what net/http logged.
func h2(t *testing.T, cfg Config, h http.Handler) (*http.Client, string, *Pool, *logtest.Buffer) {
	t.Helper()
	p := New(cfg)
	logged := new(logtest.Buffer)
	srv := httptest.NewUnstartedServer(p.Handler(h))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(logged, "", 0)
	srv.StartTLS()
	t.Cleanup(func() { srv.Close(); p.Close() })
	return srv.Client(), srv.URL, p, logged
}

// deep recurses n frames of 1 KiB each, so that a fresh goroutine must grow
// its stack to run it.
func deep(n int) byte {
	var pad [1024]byte
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return deep(n-1) + pad[n%len(pad)]
}

func TestServesHTTP2OnWorkers(t *testing.T) {
	hc, url, p, _ := h2(t, Config{Idle: 2}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Proto", r.Proto)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(append([]byte("got "), body...))
	}))
	for i := range 3 {
		resp, err := hc.Post(url, "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || string(body) != "got hello" || resp.Header.Get("X-Proto") != "HTTP/2.0" {
			t.Fatalf("request %d: %d %q %q, want 201 \"got hello\" over HTTP/2.0", i, resp.StatusCode, body, resp.Header.Get("X-Proto"))
		}
		// One request at a time: the one worker is handed back and reused.
		if got := p.Idle(); got != 1 {
			t.Fatalf("after request %d: %d idle workers, want 1 (reused)", i, got)
		}
	}
}

func TestIdleIsCapped(t *testing.T) {
	const inFlight = 6
	started, release := make(chan struct{}), make(chan struct{})
	hc, url, p, _ := h2(t, Config{Idle: 2}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	}))
	var wg sync.WaitGroup
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get(url)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	}
	for range inFlight {
		<-started
	}
	if got := p.Idle(); got != 0 {
		t.Fatalf("%d idle workers while %d requests run, want 0", got, inFlight)
	}
	close(release)
	wg.Wait()
	if got := p.Idle(); got != 2 {
		t.Fatalf("%d idle workers after a burst of %d, want the cap, 2", got, inFlight)
	}
}

func TestHTTP1IsServedInPlace(t *testing.T) {
	p := New(Config{})
	defer p.Close()
	srv := httptest.NewServer(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "HTTP/1.1" || p.Idle() != 0 {
		t.Fatalf("served %q with %d idle workers, want HTTP/1.1 served in place (0)", body, p.Idle())
	}
}

// A handler's panic reaches net/http as if the handler had run on the
// request's own goroutine: logged with its value, the stream reset, and
// http.ErrAbortHandler not logged at all. The worker that panicked is not
// reused.
func TestPanicsReachNetHTTP(t *testing.T) {
	for _, tc := range []struct {
		name    string
		value   any
		wantLog string
	}{
		{"value", "boom in handler", "boom in handler"},
		{"abort", http.ErrAbortHandler, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc, url, p, logged := h2(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/panic" {
					panic(tc.value)
				}
				_, _ = io.WriteString(w, "ok")
			}))
			if resp, err := hc.Get(url + "/panic"); err == nil {
				resp.Body.Close()
				t.Fatalf("a panicking handler answered %d, want the stream reset", resp.StatusCode)
			}
			if got := p.Idle(); got != 0 {
				t.Fatalf("%d idle workers after a panic, want 0: the worker that panicked ends", got)
			}
			resp, err := hc.Get(url + "/next")
			if err != nil {
				t.Fatalf("the request after a panic: %v", err)
			}
			resp.Body.Close()
			log := logged.String()
			if tc.wantLog == "" && strings.Contains(log, "panic") {
				t.Fatalf("net/http logged %q for http.ErrAbortHandler, want nothing", log)
			}
			if tc.wantLog != "" && !strings.Contains(log, tc.wantLog) {
				t.Fatalf("net/http logged %q, want the panic's value %q", log, tc.wantLog)
			}
		})
	}
}

// runtime.Goexit in a handler (t.FailNow in a test's handler) ends the
// request's goroutine too, instead of leaving it waiting for a worker that
// is gone.
func TestGoexitEndsTheRequest(t *testing.T) {
	hc, url, p, _ := h2(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runtime.Goexit()
	}))
	resp, err := hc.Get(url)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a handler that called Goexit answered %d, want the stream reset", resp.StatusCode)
	}
	if got := p.Idle(); got != 0 {
		t.Fatalf("%d idle workers after Goexit, want 0", got)
	}
}

// The hand-off itself, and what it saves: a request's goroutine that must
// grow its stack (fresh, as net/http starts one) against a worker that has
// grown it already.
func BenchmarkStack(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { deep(24) })
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.ProtoMajor = 2
	b.Run("fresh goroutine", func(b *testing.B) {
		done := make(chan struct{})
		for b.Loop() {
			go func() { h.ServeHTTP(nil, r); done <- struct{}{} }()
			<-done
		}
	})
	b.Run("fresh goroutine, worker", func(b *testing.B) {
		p := New(Config{})
		defer p.Close()
		ph := p.Handler(h)
		done := make(chan struct{})
		for b.Loop() {
			go func() { ph.ServeHTTP(nil, r); done <- struct{}{} }()
			<-done
		}
	})
}
