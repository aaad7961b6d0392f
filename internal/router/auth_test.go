package router

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// grants is an Authorizer from a list of "principal action scope" (data
// actions prefixed "data:").
type grants map[string]bool

func (g grants) Allowed(p, action, scope string) bool { return g[p+" "+action+" "+scope] }
func (g grants) AllowedData(p, action, scope string) bool {
	return g[p+" data:"+action+" "+scope]
}

// TestGuard: the mux runs a route's handler only when its declared rule
// passed, and answers otherwise in the protocol's own words: 401 from the
// authenticator, 403 (or the scope's own error) from its Forbidden.
func TestGuard(t *testing.T) {
	var wrapped []string
	m := New()
	m.Wrap = func(rt Route, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			wrapped = append(wrapped, rt.Key())
		})
	}
	m.Authorizer = grants{"alice a/read /": true, "alice a/write /things/t1": true, "alice data:d/get /things/t1/s": true,
		"alice r/rotate /": true}
	proto := &Protocol{Name: "p"}
	oldWay := &Protocol{Name: "old"}
	errGone := errors.New("gone")
	m.Authenticate("p", Authenticator{
		Name: "test bearer",
		Authenticate: func(r *http.Request) (Caller, error) {
			switch r.Header.Get("Authorization") {
			case "":
				return Caller{}, errors.New("no credential")
			case "alice":
				return Caller{ObjectID: "alice", Principal: "alice's record"}, nil
			case "agent":
				return Caller{Principal: "a machine"}, nil
			}
			return Caller{}, errors.New("wrong audience")
		},
		Unauthorized: func(w http.ResponseWriter, _ *http.Request, err error) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "401 "+err.Error(), http.StatusUnauthorized)
		},
		Forbidden: func(w http.ResponseWriter, _ *http.Request, d Denial) {
			if errors.Is(d.Err, errGone) {
				http.Error(w, "404", http.StatusNotFound)
				return
			}
			http.Error(w, "403 "+d.Action+" at "+d.Scope+": "+d.Err.Error(), http.StatusForbidden)
		},
		Scope: func(r *http.Request, p Params) (string, error) { return "/things/" + p.Get("thing"), nil },
		Where: "the thing",
	})
	ran := map[string]int{}
	h := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran[name]++
			c, ok := CallerFrom(r.Context())
			if name != "public" && name != "old" && (!ok || c.Principal == nil) {
				t.Errorf("%s ran without its caller in the context", name)
			}
			w.WriteHeader(http.StatusNoContent)
		})
	}
	secretScope := func(r *http.Request, p Params) (string, error) {
		if p.Get("thing") == "gone" {
			return "", errGone
		}
		return "/things/" + p.Get("thing") + "/" + p.Get("s"), nil
	}
	m.Handle(Route{Method: "GET", Pattern: "/public", Access: Public("t"), Handler: h("public"), Protocol: proto})
	m.Handle(Route{Method: "GET", Pattern: "/self", Access: Handler("any caller; the handler decides"), Handler: h("self"), Protocol: proto})
	m.Handle(Route{Method: "GET", Pattern: "/tenant", Access: ActionAt("a/read", "'/'", Root), Handler: h("tenant"), Protocol: proto})
	m.Handle(Route{Method: "PUT", Pattern: "/things/{thing}", Access: Action("a/write"), Handler: h("default-scope"), Protocol: proto})
	m.Handle(Route{Method: "GET", Pattern: "/things/{thing}/{s}", Access: DataAction("d/get", "the secret", secretScope), Handler: h("data"), Protocol: proto})
	m.Handle(Route{Method: "POST", Pattern: "/rotate", Access: Action("r/rotate"), Handler: h("old"), Protocol: oldWay})

	cases := []struct {
		name, method, path, cred string
		status                   int
		ran                      string
	}{
		{"public needs nothing", "GET", "/public", "", 204, "public"},
		{"authenticated: no credential", "GET", "/self", "", 401, ""},
		{"authenticated: wrong audience", "GET", "/self", "bob", 401, ""},
		{"authenticated: any caller", "GET", "/self", "alice", 204, "self"},
		{"action: no credential", "GET", "/tenant", "", 401, ""},
		{"action: wrong audience", "GET", "/tenant", "bob", 401, ""},
		{"action: a caller RBAC does not know", "GET", "/tenant", "agent", 403, ""},
		{"action at '/': granted", "GET", "/tenant", "alice", 204, "tenant"},
		{"action at the protocol's scope: granted", "PUT", "/things/t1", "alice", 204, "default-scope"},
		{"action at the protocol's scope: another thing", "PUT", "/things/t2", "alice", 403, ""},
		{"data action: granted", "GET", "/things/t1/s", "alice", 204, "data"},
		{"data action: not the action, another secret", "GET", "/things/t1/x", "alice", 403, ""},
		{"data action: a control action does not grant it", "GET", "/things/t1/s", "agent", 403, ""},
		{"scope that does not resolve", "GET", "/things/gone/s", "alice", 404, ""},
		{"mounted the old way: the handler checks", "POST", "/rotate", "", 204, "old"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]int{}
			for k, v := range ran {
				before[k] = v
			}
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.cred != "" {
				req.Header.Set("Authorization", tc.cred)
			}
			rec := httptest.NewRecorder()
			m.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("%s %s: %d %q; want %d", tc.method, tc.path, rec.Code, rec.Body.String(), tc.status)
			}
			for k, v := range ran {
				if v != before[k] && k != tc.ran {
					t.Fatalf("%s %s: handler %s ran", tc.method, tc.path, k)
				}
			}
			if tc.ran != "" && ran[tc.ran] != before[tc.ran]+1 {
				t.Fatalf("%s %s: handler %s did not run", tc.method, tc.path, tc.ran)
			}
		})
	}
	if len(wrapped) != len(cases) {
		t.Errorf("Wrap saw %d requests; want every one, refusals included (%d)", len(wrapped), len(cases))
	}
	if body := func() string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("PUT", "/things/t2", nil)
		req.Header.Set("Authorization", "alice")
		m.ServeHTTP(rec, req)
		return rec.Body.String()
	}(); !strings.Contains(body, "a/write at /things/t2: "+ErrNotGranted.Error()) {
		t.Errorf("denial body %q does not name the action, scope and reason", body)
	}

	// What the route table says.
	for _, d := range []struct{ key, guard, describe string }{
		{"GET /public", "", "public: t"},
		{"GET /self", "test bearer", "authenticated; any caller; the handler decides"},
		{"GET /tenant", "test bearer", "action a/read at '/'"},
		{"PUT /things/{thing}", "test bearer", "action a/write at the thing"},
		{"GET /things/{thing}/{s}", "test bearer", "data action d/get at the secret"},
		{"POST /rotate", "", "action r/rotate"},
	} {
		for _, rt := range m.Routes() {
			if rt.Key() != d.key {
				continue
			}
			if g := m.Guard(rt); g != d.guard {
				t.Errorf("Guard(%s) = %q; want %q", d.key, g, d.guard)
			}
			if s := m.Describe(rt); s != d.describe {
				t.Errorf("Describe(%s) = %q; want %q", d.key, s, d.describe)
			}
		}
	}
}

// TestGuardWithoutAuthorizer: a mux without an authorizer refuses every
// action rather than letting it through.
func TestGuardWithoutAuthorizer(t *testing.T) {
	m := New()
	m.Authenticate("p", Authenticator{Name: "n",
		Authenticate: func(*http.Request) (Caller, error) { return Caller{ObjectID: "root"}, nil },
		Unauthorized: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(401) },
		Forbidden:    func(w http.ResponseWriter, _ *http.Request, _ Denial) { w.WriteHeader(403) },
	})
	m.Handle(Route{Method: "GET", Pattern: "/x", Access: Action("x/read"), Protocol: &Protocol{Name: "p"},
		Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("the handler ran") })})
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 403 {
		t.Fatalf("%d; want 403", rec.Code)
	}
}

// TestAuthenticateRefusesHalfDeclarations: an authenticator without a
// refusal writer, a second one for a protocol, or a scope without its
// words are programming errors.
func TestAuthenticateRefusesHalfDeclarations(t *testing.T) {
	ok := Authenticator{Name: "n", Authenticate: func(*http.Request) (Caller, error) { return Caller{}, nil },
		Unauthorized: func(http.ResponseWriter, *http.Request, error) {}, Forbidden: func(http.ResponseWriter, *http.Request, Denial) {}}
	noForbidden := ok
	noForbidden.Forbidden = nil
	scopeNoWords := ok
	scopeNoWords.Scope = Root
	for name, fn := range map[string]func(m *Mux){
		"no Forbidden":        func(m *Mux) { m.Authenticate("p", noForbidden) },
		"scope without words": func(m *Mux) { m.Authenticate("p", scopeNoWords) },
		"twice":               func(m *Mux) { m.Authenticate("p", ok); m.Authenticate("p", ok) },
		"route scope, no words": func(m *Mux) {
			m.Handle(Route{Method: "GET", Pattern: "/x", Access: Access{Kind: KindAction, Action: "a", Scope: Root}, Handler: http.NotFoundHandler()})
		},
		"scope on a public route": func(m *Mux) {
			m.Handle(Route{Method: "GET", Pattern: "/x", Access: Access{Kind: KindPublic, Rule: "r", Scope: Root, Where: "'/'"}, Handler: http.NotFoundHandler()})
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: accepted", name)
				}
			}()
			fn(New())
		}()
	}
}
