package router

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// linearMatch is Match without the first-segment index: every route in
// mounting order, the reference the index must agree with.
func linearMatch(m *Mux, r *http.Request) (*Route, Params, []string) {
	class := m.hostClass(r.Host)
	segs := appendSegments(nil, r.URL.Path)
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var allowed []string
	for _, cand := range m.routes {
		if cand.Host != class {
			continue
		}
		params, ok := cand.match(segs, nil)
		if !ok {
			continue
		}
		if cand.Method == method {
			return cand, params, nil
		}
		allowed = append(allowed, cand.Method)
	}
	return nil, nil, allowed
}

// TestMatchIndexAgrees: the indexed Match finds the route, params and
// allowed methods a scan of the whole table finds, for literal and
// captured first segments, scopes, host classes, any case, HEAD, 405s and
// a non-ASCII first segment.
func TestMatchIndexAgrees(t *testing.T) {
	m := New()
	m.HostClass("vault", func(h string) bool { return h == "v.vault.localhost" })
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, rt := range []Route{
		{Method: http.MethodGet, Pattern: "/healthz"},
		{Method: http.MethodGet, Pattern: "/subscriptions"},
		{Method: http.MethodGet, Pattern: "/subscriptions/{sub}"},
		{Method: http.MethodPut, Pattern: "/{tenant}/oauth2/token"},
		{Method: http.MethodPost, Pattern: "/{tenant}/oauth2/token"},
		{Method: http.MethodGet, Pattern: "/subscriptions/{sub}/resourceGroups/{rg}"},
		{Method: http.MethodGet, Pattern: "/{scope...}/providers/Microsoft.Authorization/roleAssignments"},
		{Method: http.MethodGet, Pattern: "/{scope...}/providers/Microsoft.Authorization/roleAssignments/{id}"},
		{Method: http.MethodGet, Pattern: "/{tenant}/{rest...}"},
		{Method: http.MethodDelete, Pattern: "/subscriptions/{sub}/resourceGroups/{rg}"},
		{Method: http.MethodGet, Pattern: "/servicePrincipals(appId='{appId}')"},
		{Method: http.MethodGet, Pattern: "/"},
		{Method: http.MethodGet, Pattern: "/secrets/{name}", Host: "vault"},
		{Method: http.MethodGet, Pattern: "/subscriptions/{sub}", Host: "vault"},
	} {
		rt.Access, rt.Handler = Public("test"), h
		m.Handle(rt)
	}
	for _, host := range []string{"ward.localhost", "v.vault.localhost"} {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete} {
			for _, path := range []string{"/", "/healthz", "/HEALTHZ", "/subscriptions", "/Subscriptions/s1", "/subscriptions/s1/resourcegroups/rg",
				"/t1/oauth2/token", "/subscriptions/oauth2/token", "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments",
				"/providers/microsoft.authorization/roleassignments", "/servicePrincipals(appId='x')", "/secrets/a", "/ſubscriptions/s1",
				"/\u212aey/oauth2/token", "/nothing/here", "/subscriptions/s1/x",
				// Last segments: a literal in any case, a capture, not ASCII.
				"/t1/OAuth2/TOKEN", "/t1/oauth2/to\u212aen", "/s1/providers/microsoft.authorization/roleassignments/R1",
				"/t1/x/y/z", "/T1/roleAssignments", "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/" + strings.Repeat("N", 70)} {
				r := httptest.NewRequest(method, "https://"+host+path, nil)
				gotRt, gotP, gotAllowed := m.Match(r)
				wantRt, wantP, wantAllowed := linearMatch(m, r)
				if gotRt != wantRt || !slices.Equal(gotP, wantP) || !slices.Equal(gotAllowed, wantAllowed) {
					t.Errorf("%s %s%s: got %v %v %v, want %v %v %v", method, host, path, key(gotRt), gotP, gotAllowed, key(wantRt), wantP, wantAllowed)
				}
			}
		}
	}
}

func key(rt *Route) string {
	if rt == nil {
		return "<none>"
	}
	return rt.Key()
}
