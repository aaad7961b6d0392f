package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCanonicalPaths(t *testing.T) {
	const scope = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
	cases := []struct {
		name   string
		target string
		status int
		path   string // the path the next handler sees
		raw    string // its EscapedPath
	}{
		{"clean path untouched", scope + "?api-version=2022-04-01", 200, scope, scope},
		{"leading double slash (arm-authorization's /{scope}/providers)", "/" + scope + "/providers/Microsoft.Authorization/roleAssignments", 200,
			scope + "/providers/Microsoft.Authorization/roleAssignments", scope + "/providers/Microsoft.Authorization/roleAssignments"},
		{"runs of slashes anywhere", "///subscriptions//s///resourceGroups/rg", 200, "/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups/rg"},
		{"trailing slash kept once", "/secrets/name//", 200, "/secrets/name/", "/secrets/name/"},
		{"root", "/", 200, "/", "/"},
		{"only slashes", "////", 200, "/", "/"},
		{"encoded slash stays encoded", "//secrets/a%2Fb", 200, "/secrets/a/b", "/secrets/a%2Fb"},
		{"encoded slash next to a slash", "/secrets/a%2F/b", 200, "/secrets/a/b", "/secrets/a/b"},
		{"dot-dot refused", "/subscriptions/s/../t/resourceGroups/rg", 400, "", ""},
		{"dot refused", "/subscriptions/./s", 400, "", ""},
		{"trailing dot-dot refused", "/subscriptions/s/..", 400, "", ""},
		{"encoded dot-dot refused", "/subscriptions/s/%2e%2e/t", 400, "", ""},
		{"dot-dot behind double slash refused", "//subscriptions/s//../t", 400, "", ""},
		{"dots inside a segment are names", "/oidc/t/x/.well-known/openid-configuration", 200, "/oidc/t/x/.well-known/openid-configuration", "/oidc/t/x/.well-known/openid-configuration"},
		{"three dots are a name", "/secrets/...", 200, "/secrets/...", "/secrets/..."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var gotPath, gotRaw string
			h := canonicalPaths(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath, gotRaw = r.URL.Path, r.URL.EscapedPath()
			}))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, tc.target, nil)
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status || gotPath != tc.path || gotRaw != tc.raw {
				t.Errorf("%s: status %d, path %q (escaped %q); want %d, %q (%q)", tc.target, rec.Code, gotPath, gotRaw, tc.status, tc.path, tc.raw)
			}
			if tc.status == http.StatusBadRequest && rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("%s: refusal Content-Type %q", tc.target, rec.Header().Get("Content-Type"))
			}
		})
	}
}

// TestCanonicalPathsNoRedirect: behind the wrapper even Go's ServeMux,
// which answers an unclean path with a redirect, serves "//subscriptions"
// directly, and the caller's request is left as it was sent.
func TestCanonicalPathsNoRedirect(t *testing.T) {
	mux := http.NewServeMux()
	var served string
	mux.HandleFunc("/subscriptions/", func(w http.ResponseWriter, r *http.Request) { served = r.URL.Path })
	req := httptest.NewRequest(http.MethodPut, "//subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a?api-version=2022-04-01", nil)
	rec := httptest.NewRecorder()
	canonicalPaths(mux).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || served != "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a" {
		t.Fatalf("status %d (Location %q), served %q", rec.Code, rec.Header().Get("Location"), served)
	}
	if req.URL.Path != "//subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a" {
		t.Fatalf("the caller's request was changed: %q", req.URL.Path)
	}
	// Without the wrapper the mux redirects: the case the wrapper exists for.
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "//subscriptions/s", nil))
	if rec.Code < 300 || rec.Code > 399 {
		t.Fatalf("ServeMux answered %d to an unclean path; the premise of this test changed", rec.Code)
	}
}

func FuzzCanonicalPaths(f *testing.F) {
	for _, s := range []string{"/", "//a//b/", "/a/../b", "/./", "/a/%2e%2e/b", "///"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if len(p) == 0 || p[0] != '/' {
			return
		}
		got := collapseSlashes(p)
		if len(got) > len(p) || got[0] != '/' {
			t.Fatalf("collapseSlashes(%q) = %q", p, got)
		}
		for i := 1; i < len(got); i++ {
			if got[i] == '/' && got[i-1] == '/' {
				t.Fatalf("collapseSlashes(%q) = %q keeps a double slash", p, got)
			}
		}
		if hasDotSegment(p) != hasDotSegment(got) {
			t.Fatalf("collapsing changed whether %q has a dot segment", p)
		}
	})
}
