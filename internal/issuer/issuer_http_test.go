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
	iss := cl.Properties.OIDCIssuerProfile.IssuerURL
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

	// A storage failure is a 500, never the 404 of an unknown issuer: a
	// verifier must not conclude that an existing cluster's issuer is gone.
	// The cause stays in the log.
	s.Store.Fail("GetClusterByID", errors.New("disk on fire"))
	defer s.Store.Heal()
	for _, path := range []string{p + ".well-known/openid-configuration", p + "openid/v1/jwks", other + "openid/v1/jwks"} {
		resp, b := s.Do(t, "GET", path, "", nil)
		if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(b), "disk on fire") {
			t.Errorf("GET %s with a failing store = %d %s, want 500 without the cause", path, resp.StatusCode, b)
		}
	}
	s.Store.Heal()
	s.RunCases(t, []servertest.Case{
		{Name: "healed", Method: "GET", Path: p + "openid/v1/jwks", Status: http.StatusOK, Contains: `"keys":[{`},
		{Name: "unknown cluster, healed", Method: "GET", Path: other + "openid/v1/jwks", Status: http.StatusNotFound},
	})
}
