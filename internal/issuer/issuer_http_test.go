package issuer_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

func TestHostedIssuerOverHTTP(t *testing.T) {
	s := servertest.Start(t)
	ctx := context.Background()
	if _, _, err := s.Client.CreateOrUpdateGroup(ctx, s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	cl, err := s.Client.PutCluster(ctx, s.Admin.SubscriptionID, "rg", "c1", map[string]any{"location": "westeurope",
		"properties": map[string]any{"oidcIssuerProfile": map[string]any{"enabled": true}}})
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := cl["properties"].(map[string]any)["oidcIssuerProfile"].(map[string]any)["issuerURL"].(string)
	u, err := url.Parse(iss)
	if err != nil || !strings.HasPrefix(u.Path, "/oidc/") {
		t.Fatalf("issuer URL %q", iss)
	}
	p := u.Path
	other := strings.TrimSuffix(p, "/")
	other = other[:strings.LastIndex(other, "/")] + "/00000000-0000-0000-0000-000000000000/"
	s.RunCases(t, []servertest.Case{
		{Name: "discovery", Method: "GET", Path: p + ".well-known/openid-configuration", Status: http.StatusOK, Contains: `"issuer":"` + iss + `"`},
		{Name: "keys", Method: "GET", Path: p + "openid/v1/jwks", Status: http.StatusOK, Contains: `"keys":[{`},
		{Name: "unknown cluster", Method: "GET", Path: other + ".well-known/openid-configuration", Status: http.StatusNotFound},
		{Name: "not a GET", Method: "POST", Path: p + "openid/v1/jwks", Status: http.StatusMethodNotAllowed},
	})

	s.Store.Fail("GetClusterByID", errors.New("disk on fire"))
	s.Store.Fail("ListSigningKeys", errors.New("disk on fire"))
	defer s.Store.Heal()
	resp, b := s.Do(t, "GET", other+"openid/v1/jwks", "", nil)
	// Today the handler answers every lookup failure 404 (a storage
	// failure included); it must at least not serve keys or leak the cause.
	if resp.StatusCode < 400 || strings.Contains(string(b), "disk on fire") {
		t.Fatalf("keys of an unknown cluster with a failing store = %d %s, want an error without the cause", resp.StatusCode, b)
	}
}
