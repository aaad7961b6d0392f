package router_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/agentproto"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/server"
	"github.com/ward-id/ward/internal/server/servertest"
)

// reached counts, per route key, the requests that reached the route's own
// handler: the server's RouteHook runs inside the router's check.
type reached struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *reached) hook(rt router.Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.n[rt.Key()]++
		r.mu.Unlock()
		next.ServeHTTP(w, req)
	})
}

func (r *reached) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[key]
}

// TestEveryProtocolsRuleIsEnforced runs the whole server with every
// protocol's real authenticator and the one authorizer, and sends one of
// each protocol's routes four callers: none, a valid token for another
// audience (or, for the agent, a Ward token where an attestation belongs),
// a valid caller without the route's action, and one holding it. A
// refused request must answer in the protocol's envelope and never reach
// the route's handler; the authorized one must reach it.
func TestEveryProtocolsRuleIsEnforced(t *testing.T) {
	hits := &reached{n: map[string]int{}}
	s := servertest.Start(t, func(c *server.Config) { c.RouteHook = hits.hook })
	ctx := context.Background()
	sub := s.Admin.SubscriptionID
	if _, _, err := s.Client.CreateOrUpdateGroup(ctx, sub, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Client.CreateOrUpdateVault(ctx, sub, "rg", "guardkv", "westeurope", s.Admin.TenantID, "standard", nil)
	if err != nil {
		t.Fatal(err)
	}
	vaultURL, err := url.Parse(v.Properties.VaultURI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.PutCluster(ctx, sub, "rg", "c1", map[string]any{"location": "westeurope",
		"properties": map[string]any{"oidcIssuerProfile": map[string]any{"enabled": true}}}); err != nil {
		t.Fatal(err)
	}
	// Valid callers without any role: a service principal, and a node
	// agent's attestation (which RBAC does not know).
	sp, err := s.Client.CreateServicePrincipal(ctx, "no roles")
	if err != nil {
		t.Fatal(err)
	}
	pw, err := s.Client.AddPassword(ctx, sp.ID, "t", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Client.CreateServicePrincipal(ctx, "another")
	if err != nil {
		t.Fatal(err)
	}
	// The admin is Owner at '/' and, from the bootstrap, Key Vault Secrets
	// Officer there: it holds each route's action or data action.
	sa, err := s.Client.GetServiceAccountToken(ctx, sub, "rg", "c1", agentproto.NodeNamespace, agentproto.NodeServiceAccount, agentproto.NodeAudience, 600)
	if err != nil {
		t.Fatal(err)
	}
	vaultAud := "https://vault.azure.net"
	noRoles := func(aud string) string {
		c := &client.ClientCredentials{AuthorityHost: s.Admin.AuthorityHost, TenantID: s.Admin.TenantID, ClientID: sp.AppID,
			ClientSecret: pw.SecretText, Resource: aud, HTTP: s.HTTP}
		tok, err := c.Token(ctx)
		if err != nil {
			t.Fatalf("token for %s: %v", aud, err)
		}
		return tok
	}
	arm, graph := s.URL, "https://graph.microsoft.com"

	type try struct {
		token  string
		status int
	}
	cases := []struct {
		protocol, key, method, host, path, body string
		// none, wrong audience, valid but unauthorized, authorized
		none, wrongAud, unauthorized, authorized try
	}{
		{protocol: "arm", key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", method: "GET",
			path: "/subscriptions/" + sub + "/resourceGroups/rg?api-version=2021-04-01",
			none: try{"", 401}, wrongAud: try{s.Token(t, vaultAud), 401}, unauthorized: try{noRoles(arm), 403}, authorized: try{s.Token(t, arm), 200}},
		{protocol: "graph", key: "GET /v1.0/auditLogs/signIns", method: "GET", path: "/v1.0/auditLogs/signIns",
			none: try{"", 401}, wrongAud: try{s.Token(t, vaultAud), 401}, unauthorized: try{noRoles(graph), 403}, authorized: try{s.Token(t, graph), 200}},
		// At the principal's scope: one the caller may not read is hidden
		// (404), one it may read but not change is a 403, both before the
		// handler.
		{protocol: "graph", key: "POST /v1.0/servicePrincipals/{id}/addPassword", method: "POST", path: "/v1.0/servicePrincipals/" + other.ID + "/addPassword", body: `{}`,
			none: try{"", 401}, wrongAud: try{s.Token(t, vaultAud), 401}, unauthorized: try{noRoles(graph), 404}, authorized: try{s.Token(t, graph), 200}},
		{protocol: "graph", key: "POST /v1.0/servicePrincipals/{id}/removePassword", method: "POST", path: "/v1.0/servicePrincipals/" + sp.ID + "/removePassword", body: `{"keyId":"` + pw.KeyID + `"}`,
			none: try{"", 401}, wrongAud: try{s.Token(t, vaultAud), 401}, unauthorized: try{noRoles(graph), 403}, authorized: try{s.Token(t, graph), 204}},
		{protocol: "ward-signing-keys", key: "POST /ward/v1/keys/rotate", method: "POST", path: "/ward/v1/keys/rotate",
			none: try{"", 401}, wrongAud: try{s.Token(t, vaultAud), 401}, unauthorized: try{noRoles(graph), 403}, authorized: try{s.Token(t, graph), 200}},
		{protocol: "keyvault", key: "GET vault:/secrets", method: "GET", host: vaultURL.Host, path: "/secrets?api-version=7.4",
			none: try{"", 401}, wrongAud: try{s.Token(t, arm), 401}, unauthorized: try{noRoles(vaultAud), 403}, authorized: try{s.Token(t, vaultAud), 200}},
		{protocol: "keyvault", key: "PUT vault:/secrets/{name}", method: "PUT", host: vaultURL.Host, path: "/secrets/s1?api-version=7.4", body: `{"value":"v"}`,
			none: try{"", 401}, wrongAud: try{s.Token(t, arm), 401}, unauthorized: try{noRoles(vaultAud), 403}, authorized: try{s.Token(t, vaultAud), 200}},
		{protocol: "console", key: "GET /console/api/signins", method: "GET", path: "/console/api/signins",
			none: try{"", 401}, wrongAud: try{s.Token(t, vaultAud), 401}, unauthorized: try{noRoles(arm), 403}, authorized: try{s.Token(t, arm), 200}},
		// The agent's routes are per subject: an attested node agent is
		// authorized, anything else is not authenticated.
		{protocol: "agent", key: "GET /ward/v1/agent/state", method: "GET", path: agentproto.PathState,
			none: try{"", 401}, wrongAud: try{s.Token(t, arm), 401}, unauthorized: try{noRoles(arm), 401}, authorized: try{sa.Token, 200}},
	}
	for _, tc := range cases {
		t.Run(tc.protocol+" "+tc.key, func(t *testing.T) {
			for _, step := range []struct {
				name string
				try
				reaches bool
			}{{"no credential", tc.none, false}, {"wrong audience", tc.wrongAud, false}, {"valid but unauthorized", tc.unauthorized, false}, {"authorized", tc.authorized, true}} {
				before := hits.count(tc.key)
				req, err := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				if tc.host != "" {
					req.Host = tc.host
				}
				if step.token != "" {
					req.Header.Set("Authorization", "Bearer "+step.token)
				}
				if tc.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := s.HTTP.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != step.status {
					t.Errorf("%s: %d, want %d", step.name, resp.StatusCode, step.status)
				}
				if got := hits.count(tc.key) - before; (got == 1) != step.reaches {
					t.Errorf("%s: the handler of %s ran %d times; want it to run: %v", step.name, tc.key, got, step.reaches)
				}
				if step.status == 401 && tc.protocol != "agent" && tc.protocol != "console" && resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: a 401 without the protocol's challenge", step.name)
				}
			}
		})
	}
}
