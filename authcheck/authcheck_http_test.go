package authcheck_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ward-id/ward/authcheck"
	"github.com/ward-id/ward/internal/server/servertest"
)

// TestMiddlewareAgainstWard protects a handler with tokens and checkAccess
// of a real Ward server.
func TestMiddlewareAgainstWard(t *testing.T) {
	s := servertest.Start(t)
	const aud = "api://orders"
	v := authcheck.NewVerifier(s.URL, s.Admin.TenantID, []string{aud}, s.HTTP)
	c := &authcheck.Checker{WardURL: s.URL + "/subscriptions/" + s.Admin.SubscriptionID, HTTP: s.HTTP, Token: s.Credentials(s.URL)}
	resource := "/subscriptions/" + s.Admin.SubscriptionID
	h := authcheck.Middleware(v, c, "Microsoft.Resources/subscriptions/read", false, func(*http.Request) string { return resource })(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cl, ok := authcheck.ClaimsFrom(r.Context()); !ok || cl.AppID != s.Admin.ClientID {
				t.Errorf("claims in the handler = %+v, %v", cl, ok)
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	cases := []struct {
		name, token string
		want        int
	}{
		{"admin for this audience", s.Token(t, aud), http.StatusNoContent},
		{"no token", "", http.StatusUnauthorized},
		{"a token for another audience", s.Token(t, "https://management.azure.com/"), http.StatusUnauthorized},
		{"garbage", "x.y.z", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/orders", nil)
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d %s, want %d", w.Code, w.Body, tc.want)
			}
		})
	}

	// Ward's checkAccess out of reach: 503, not a 403 blaming the caller.
	broken := &authcheck.Checker{WardURL: "https://127.0.0.1:1", HTTP: s.HTTP, Token: s.Credentials(s.URL)}
	hb := authcheck.Middleware(v, broken, "Microsoft.Resources/subscriptions/read", false, func(*http.Request) string { return resource })(http.NotFoundHandler())
	r := httptest.NewRequest(http.MethodGet, "/orders", nil)
	r.Header.Set("Authorization", "Bearer "+s.Token(t, aud))
	w := httptest.NewRecorder()
	hb.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("with checkAccess unreachable the middleware answered %d %s, want 503", w.Code, w.Body)
	}
}
