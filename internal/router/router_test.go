package router

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	m := New()
	m.HostClass("vault", func(h string) bool { return strings.HasSuffix(h, ".vault.localhost") })
	hit := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, p, _ := FromContext(r.Context())
			w.Header().Set("X-Route", name)
			for _, c := range p {
				w.Header().Set("X-P-"+c.Name, c.Value)
			}
		})
	}
	pub := Public("test")
	m.Handle(Route{Method: "GET", Pattern: "/subscriptions/{sub}", Access: Action("a/read"), Handler: hit("sub")})
	m.Handle(Route{Method: "PUT", Pattern: "/subscriptions/{sub}", Access: Action("a/write"), Handler: hit("subput")})
	m.Handle(Route{Method: "GET", Pattern: "/{scope...}/providers/Microsoft.Authorization/roleAssignments/{id}", Access: Action("r/read"), Handler: hit("ra")})
	m.Handle(Route{Method: "GET", Pattern: "/v1.0/servicePrincipals(appId='{id}')", Access: pub, Handler: hit("alt")})
	m.Handle(Route{Method: "GET", Pattern: "/secrets/{name}", Host: "vault", Access: pub, Handler: hit("secret")})
	// More captures than the request state holds in place (six).
	m.Handle(Route{Method: "GET", Pattern: "/many/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}", Access: pub, Handler: hit("many")})
	m.NotFound("", "/subscriptions", func(w http.ResponseWriter, r *http.Request, status int, allowed []string) {
		w.Header().Set("X-Route", "arm-fallback")
		w.WriteHeader(status)
	})
	cases := []struct {
		method, host, path string
		route              string
		status             int
		params             map[string]string
	}{
		{"GET", "", "/subscriptions/S1", "sub", 200, map[string]string{"sub": "S1"}},
		{"GET", "", "/SUBSCRIPTIONS/S1/", "sub", 200, map[string]string{"sub": "S1"}},
		{"HEAD", "", "/subscriptions/S1", "sub", 200, nil},
		{"PUT", "", "/subscriptions/S1", "subput", 200, nil},
		{"DELETE", "", "/subscriptions/S1", "arm-fallback", 405, nil},
		{"GET", "", "/subscriptions/S1/extra", "arm-fallback", 404, nil},
		{"GET", "", "/subscriptions//x", "arm-fallback", 404, nil},
		{"GET", "", "/providers/microsoft.authorization/roleassignments/r1", "ra", 200, map[string]string{"scope": "/", "id": "r1"}},
		{"GET", "", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/r1", "ra", 200,
			map[string]string{"scope": "/subscriptions/s/resourceGroups/rg", "id": "r1"}},
		{"GET", "", "/v1.0/SERVICEPRINCIPALS(APPID='abc')", "alt", 200, map[string]string{"id": "abc"}},
		{"GET", "", "/v1.0/servicePrincipals(appId='')", "", 404, nil},
		{"GET", "kv.vault.localhost", "/secrets/a", "secret", 200, map[string]string{"name": "a"}},
		{"GET", "kv.vault.localhost", "/subscriptions/S1", "", 404, nil}, // vault hosts serve vault routes only
		{"GET", "", "/secrets/a", "", 404, nil},
		{"GET", "", "/many/1/2/3/4/5/6/7/8/9/10", "many", 200, map[string]string{"a": "1", "h": "8", "i": "9", "j": "10"}},
		// More segments than the mux splits into in place (sixteen).
		{"GET", "", "/" + strings.Repeat("x/", 20) + "providers/Microsoft.Authorization/roleAssignments/r2", "ra", 200,
			map[string]string{"scope": "/" + strings.Repeat("x/", 19) + "x", "id": "r2"}},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "https://x"+c.path, nil)
		if c.host != "" {
			r.Host = c.host
		}
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		if got := w.Header().Get("X-Route"); got != c.route || w.Code != c.status {
			t.Errorf("%s %s%s: route %q status %d, want %q %d", c.method, c.host, c.path, got, w.Code, c.route, c.status)
		}
		for k, v := range c.params {
			if got := w.Header().Get("X-P-" + k); got != v {
				t.Errorf("%s %s: param %s = %q, want %q", c.method, c.path, k, got, v)
			}
		}
	}
}

func TestHandleRefuses(t *testing.T) {
	ok := http.NotFoundHandler()
	bad := []Route{
		{Method: "GET", Pattern: "/x", Handler: ok},                                       // no rule
		{Method: "GET", Pattern: "/x", Handler: ok, Access: Access{Kind: KindAction}},     // action without a name
		{Method: "GET", Pattern: "/x", Handler: ok, Access: Access{Kind: KindHandler}},    // rule without words
		{Method: "GET", Pattern: "/x", Handler: ok, Access: Public("p"), Host: "nowhere"}, // unknown host class
		{Method: "GET", Pattern: "/{a...}/{b...}", Handler: ok, Access: Public("p")},      // two multi-segment captures
		{Method: "", Pattern: "/x", Handler: ok, Access: Public("p")},
		{Method: "GET", Pattern: "/x", Handler: ok, Access: Public("p"), MaxBody: -1}, // negative cap
	}
	for i, r := range bad {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("case %d: mounted %+v", i, r)
				}
			}()
			New().Handle(r)
		}()
	}
	m := New()
	m.Handle(Route{Method: "GET", Pattern: "/x", Handler: ok, Access: Public("p")})
	defer func() {
		if recover() == nil {
			t.Error("the same route mounted twice")
		}
	}()
	m.Handle(Route{Method: "GET", Pattern: "/X", Handler: ok, Access: Public("p")})
}

// TestBodyCap: the mux caps every body once, at the route's cap when it
// declares one below the mux's, and the handler sees *http.MaxBytesError
// (with the limit) past it, so each protocol writes its own 413.
func TestBodyCap(t *testing.T) {
	m := New()
	m.MaxBody = 16
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("larger than %d", tooBig.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		fmt.Fprintf(w, "read %d", len(b))
	})
	m.Handle(Route{Method: "POST", Pattern: "/small", Handler: read, Access: Public("p"), MaxBody: 4})
	m.Handle(Route{Method: "POST", Pattern: "/default", Handler: read, Access: Public("p")})
	m.Handle(Route{Method: "POST", Pattern: "/above", Handler: read, Access: Public("p"), MaxBody: 1 << 20})
	m.Handle(Route{Method: "POST", Pattern: "/stream", Handler: read, Access: Public("p"), Stream: true})
	m.Handle(Route{Method: "POST", Pattern: "/streams-body", Handler: read, Access: Public("p"), MaxBody: 32, StreamsBody: true})
	cases := []struct {
		path, body string
		status     int
		want       string
	}{
		{"/small", "abcd", http.StatusOK, "read 4"},
		{"/small", "abcde", http.StatusRequestEntityTooLarge, "larger than 4"},
		{"/default", strings.Repeat("x", 16), http.StatusOK, "read 16"},
		{"/default", strings.Repeat("x", 17), http.StatusRequestEntityTooLarge, "larger than 16"},
		{"/above", strings.Repeat("x", 17), http.StatusRequestEntityTooLarge, "larger than 16"}, // a route cannot raise the mux's cap
		{"/stream", strings.Repeat("x", 1000), http.StatusOK, "read 1000"},                      // a streamed body is bounded by its store
		{"/streams-body", strings.Repeat("x", 32), http.StatusOK, "read 32"},                    // unless it streams its body
		{"/streams-body", strings.Repeat("x", 33), http.StatusRequestEntityTooLarge, "larger than 32"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %d bytes", c.path, len(c.body)), func(t *testing.T) {
			w := httptest.NewRecorder()
			m.ServeHTTP(w, httptest.NewRequest("POST", c.path, strings.NewReader(c.body)))
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), c.status, c.want)
			}
		})
	}
}
