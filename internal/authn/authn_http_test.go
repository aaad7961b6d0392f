package authn_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

// TestBearerOverHTTP drives authn.JWT through the management API.
func TestBearerOverHTTP(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	path := "/subscriptions/" + s.Admin.SubscriptionID + "?api-version=2022-12-01"
	s.RunCases(t, []servertest.Case{
		{Name: "valid", Method: "GET", Path: path, Token: tok, Status: http.StatusOK},
		{Name: "none", Method: "GET", Path: path, Status: http.StatusUnauthorized, Code: "AuthenticationFailed"},
		{Name: "not a JWT", Method: "GET", Path: path, Token: "not-a-token", Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken"},
		{Name: "tampered signature", Method: "GET", Path: path, Token: tampered, Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken"},
		{Name: "another audience", Method: "GET", Path: path, Token: s.Token(t, "https://graph.microsoft.com"), Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken"},
	})
	resp, _ := s.Do(t, "GET", path, "", nil, "Authorization", "Basic "+tok)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a Basic authorization = %d, want 401", resp.StatusCode)
	}
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("a 401 without WWW-Authenticate")
	}
}
