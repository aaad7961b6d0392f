package server

import (
	"net/http"
	"strings"
)

// canonicalPaths serves a request whose path has repeated slashes as the
// path with each run collapsed to one slash, and refuses a path with a "."
// or ".." segment with 400.
//
// ARM serves "//subscriptions/..." directly, and @azure/arm-authorization
// sends it ("/{scope}/providers/..." with a resource ID as scope). A
// redirect to the clean path would not do: the JavaScript pipeline drops
// Authorization on every redirect it follows. The rewrite happens before
// routing, so routing, authorization and the handler all see the one path
// that is served. Dot segments are refused rather than resolved: no client
// sends them, and resolving them would let a path name one scope to a
// check and another to the handler.
func canonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasDotSegment(r.URL.Path) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"code":"InvalidRequestPath","message":"The request path has a '.' or '..' segment; Ward does not resolve them. Send the path without them."}}`))
			return
		}
		if !strings.Contains(r.URL.Path, "//") {
			next.ServeHTTP(w, r)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = collapseSlashes(u.Path)
		// RawPath is kept only while it still encodes Path (URL.EscapedPath
		// checks that); collapsing both keeps an encoded %2F encoded.
		u.RawPath = collapseSlashes(u.RawPath)
		r2.URL = &u
		next.ServeHTTP(w, r2)
	})
}

// collapseSlashes replaces each run of slashes in p with one slash.
func collapseSlashes(p string) string {
	if !strings.Contains(p, "//") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// hasDotSegment reports whether p has a "." or ".." segment. p is the
// decoded path, so "%2e%2e" counts as "..".
func hasDotSegment(p string) bool {
	for p != "" {
		var seg string
		seg, p, _ = strings.Cut(p, "/")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
