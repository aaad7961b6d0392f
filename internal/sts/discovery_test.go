package sts

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/ward-id/ward/internal/router"
)

// TestDiscoveryDocument pins the authority's discovery documents byte for
// byte, written here as the literal JSON names Entra's clients read, so a
// renamed or reordered field fails.
func TestDiscoveryDocument(t *testing.T) {
	e := newEnv(t, jose.RS256)
	mux := router.New()
	NewHandler(HandlerConfig{Svc: e.svc}).Mount(mux)
	common := map[string]any{
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"request_uri_parameter_supported":       false,
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver", "oid", "appid", "azp", "idtyp", "xms_mirid"},
		"tenant_region_scope":                   "WW",
		"cloud_instance_name":                   "ward",
		"cloud_graph_host_name":                 "ward.test",
		"msgraph_host":                          "ward.test",
		"rbac_url":                              "https://ward.test",
	}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	a := "https://ward.test/" + tenant
	cases := []struct {
		path string
		want map[string]any
	}{
		{"/" + tenant + "/v2.0/.well-known/openid-configuration", with(map[string]any{
			"issuer": "https://ward.test/" + tenant + "/v2.0", "token_endpoint": a + "/oauth2/v2.0/token",
			"authorization_endpoint": a + "/oauth2/v2.0/authorize", "device_authorization_endpoint": a + "/oauth2/v2.0/devicecode",
			"end_session_endpoint": a + "/oauth2/v2.0/logout", "jwks_uri": a + "/discovery/v2.0/keys"})},
		{"/common/.well-known/openid-configuration", with(map[string]any{
			"issuer": "https://ward.test/{tenantid}/", "token_endpoint": "https://ward.test/common/oauth2/token",
			"authorization_endpoint": "https://ward.test/common/oauth2/authorize",
			"end_session_endpoint":   "https://ward.test/common/oauth2/logout", "jwks_uri": "https://ward.test/common/discovery/keys"})},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, c.path, nil))
			want, _ := json.Marshal(c.want) // a map marshals in key order
			if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), want) {
				t.Errorf("GET %s: %d\n got %s\nwant %s", c.path, w.Code, w.Body, want)
			}
		})
	}
}
