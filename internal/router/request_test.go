package router

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

type allowAll struct{}

func (allowAll) Allowed(string, string, string) bool     { return true }
func (allowAll) AllowedData(string, string, string) bool { return true }

// TestRequestState: a guarded route's handler finds its route, params and
// caller, and a write noted under its context is settled before the first
// byte of the answer with a context that carries no mark; a request that
// wrote nothing settles nothing.
func TestRequestState(t *testing.T) {
	var events []string
	m := New()
	m.Authorizer = allowAll{}
	m.Settle = func(r *http.Request) {
		events = append(events, "settle "+r.URL.Path)
		storage.NoteWrite(r.Context()) // not the request's: must not settle again
	}
	p := &Protocol{Name: "p"}
	m.Authenticate("p", Authenticator{Name: "n",
		Authenticate: func(r *http.Request) (Caller, error) {
			if r.Header.Get("Authorization") == "" {
				return Caller{}, errors.New("no token")
			}
			return Caller{ObjectID: "oid"}, nil
		},
		Unauthorized: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusUnauthorized) },
		Forbidden:    func(w http.ResponseWriter, _ *http.Request, _ Denial) { w.WriteHeader(http.StatusForbidden) },
	})
	m.Handle(Route{Method: http.MethodPut, Pattern: "/things/{name}", Protocol: p, Access: Action("things/write"),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rt, params, ok := FromContext(r.Context())
			c, cok := CallerFrom(r.Context())
			events = append(events, "handler "+rt.Pattern+" "+params.Get("name")+" "+c.ObjectID)
			if !ok || !cok {
				t.Errorf("route found %v, caller found %v", ok, cok)
			}
			if r.URL.Query().Get("write") != "" {
				storage.NoteWrite(r.Context())
			}
			w.WriteHeader(http.StatusCreated)
			events = append(events, "answered")
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		})})
	for _, tc := range []struct {
		target string
		want   []string
	}{
		{"/things/a?write=1", []string{"handler /things/{name} a oid", "settle /things/a", "answered"}},
		{"/things/b", []string{"handler /things/{name} b oid", "answered"}},
	} {
		events = nil
		r := httptest.NewRequest(http.MethodPut, tc.target, nil)
		r.Header.Set("Authorization", "Bearer x")
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		if w.Code != http.StatusCreated || len(events) != len(tc.want) {
			t.Fatalf("%s: %d, events %q; want 201, %q", tc.target, w.Code, events, tc.want)
		}
		for i := range events {
			if events[i] != tc.want[i] {
				t.Fatalf("%s: events %q; want %q", tc.target, events, tc.want)
			}
		}
		if _, ok := CallerFrom(r.Context()); ok {
			t.Fatal("the caller leaked into the request the mux was given")
		}
	}
}

// TestWithRouteKeepsCaller: the helpers for handlers tested outside the
// mux compose in either order.
func TestWithRouteKeepsCaller(t *testing.T) {
	ctx := WithCaller(context.Background(), Caller{ObjectID: "oid"})
	ctx = WithRoute(ctx, Route{Pattern: "/x/{n}"}, Params{{"n", "1"}})
	rt, p, ok := FromContext(ctx)
	c, cok := CallerFrom(ctx)
	if !ok || !cok || rt.Pattern != "/x/{n}" || p.Get("n") != "1" || c.ObjectID != "oid" {
		t.Fatalf("route %v %v %v, caller %v %v", rt.Pattern, p, ok, c, cok)
	}
	if storage.NoteWrite(ctx); ctx.Value(storage.WriteMarkKey{}) != nil {
		t.Fatal("a test's context has a write mark")
	}
}

// TestPublicRouteAllocations bounds what the mux allocates for a request
// to a public route (the request state and the request's one copy), so a
// context per layer does not come back unnoticed.
func TestPublicRouteAllocations(t *testing.T) {
	m := New()
	m.Settle = func(*http.Request) {}
	m.Handle(Route{Method: http.MethodGet, Pattern: "/healthz", Access: Public("probe"),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })})
	r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	w := &nopWriter{h: http.Header{}}
	if n := testing.AllocsPerRun(200, func() { m.ServeHTTP(w, r) }); n > 4 {
		t.Fatalf("%v allocations per request; want at most 4", n)
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header             { return w.h }
func (w *nopWriter) Write(p []byte) (int, error)     { return len(p), nil }
func (w *nopWriter) WriteHeader(int)                 {}
func (w *nopWriter) SetReadDeadline(time.Time) error { return nil }
