package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/ward-id/ward/authcheck"
	"github.com/ward-id/ward/client"
)

// TestProtectYourOwnService protects an HTTP service with authcheck: a
// custom role with a data action, the service's own identity as Reader,
// and a caller that is allowed only while it holds the role.
func TestProtectYourOwnService(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	if s, _, _ := w.request("PUT", sub+"/resourceGroups/reports?api-version=2021-04-01", `{"location":"westeurope"}`); s != 201 {
		t.Fatal("group")
	}
	roleID := uuid.NewString()
	if s, b, _ := w.request("PUT", sub+"/providers/Microsoft.Authorization/roleDefinitions/"+roleID+"?api-version=2022-04-01",
		`{"properties":{"roleName":"Report Reader","description":"reads reports","assignableScopes":["`+sub+`"],
		  "permissions":[{"actions":[],"notActions":[],"dataActions":["Contoso.Reports/reports/read"],"notDataActions":[]}]}}`); s != 201 {
		t.Fatalf("custom role: %d %v", s, b)
	}
	newSP := func(name string, extra ...string) (appID, secret string) {
		out := mustCLI(t, w, append([]string{"ad", "sp", "create-for-rbac", "-n", name}, extra...)...)
		var sp struct{ AppID, Password string }
		json.Unmarshal([]byte(out), &sp)
		return sp.AppID, sp.Password
	}
	svcApp, svcSecret := newSP("reports-api", "--role", "Reader", "--scopes", sub+"/resourceGroups/reports")
	callerApp, callerSecret := newSP("alice-app")
	tokenFor := func(app, secret, resource string) string {
		cc := &client.ClientCredentials{AuthorityHost: w.base, TenantID: w.admin.TenantID, ClientID: app, ClientSecret: secret, Resource: resource, HTTP: w.http}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	const audience = "api://reports"
	verifier := authcheck.NewVerifier(w.base, w.admin.TenantID, []string{audience}, w.http)
	checker := &authcheck.Checker{WardURL: w.base, HTTP: w.http, Token: &client.ClientCredentials{AuthorityHost: w.base, TenantID: w.admin.TenantID,
		ClientID: svcApp, ClientSecret: svcSecret, Resource: "https://management.azure.com/", HTTP: w.http}}
	reportScope := sub + "/resourceGroups/reports/providers/Contoso.Reports/reports/"
	api := httptest.NewServer(authcheck.Middleware(verifier, checker, "Contoso.Reports/reports/read", true,
		func(r *http.Request) string { return reportScope + strings.TrimPrefix(r.URL.Path, "/reports/") },
	)(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, _ := authcheck.ClaimsFrom(r.Context())
		io.WriteString(rw, "report for "+c.AppID)
	})))
	defer api.Close()
	get := func(token string) (int, string, http.Header) {
		req, _ := http.NewRequest("GET", api.URL+"/reports/q3", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}

	if s, _, h := get(""); s != 401 || !strings.Contains(h.Get("WWW-Authenticate"), `resource="api://reports"`) {
		t.Fatalf("no token: %d %v", s, h)
	}
	if s, _, _ := get(tokenFor(callerApp, callerSecret, "https://vault.azure.net")); s != 401 {
		t.Fatalf("token for another audience: %d", s)
	}
	token := tokenFor(callerApp, callerSecret, audience)
	if s, body, _ := get(token); s != 403 || !strings.Contains(body, "Contoso.Reports/reports/read") {
		t.Fatalf("no role: %d %s", s, body)
	}
	callerOID := strings.TrimSpace(mustCLI(t, w, "ad", "sp", "show", "--id", callerApp, "--query", "id", "-o", "tsv"))
	out := mustCLI(t, w, "role", "assignment", "create", "--assignee-object-id", callerOID, "--role", "Report Reader", "--scope", sub+"/resourceGroups/reports", "--query", "id", "-o", "tsv")
	if s, body, _ := get(token); s != 200 || body != "report for "+callerApp {
		t.Fatalf("with the role: %d %s", s, body)
	}
	mustCLI(t, w, "role", "assignment", "delete", "--ids", strings.TrimSpace(out))
	if s, _, _ := get(token); s != 403 {
		t.Fatalf("after revocation: %d", s)
	}

	// checkAccess itself: a principal without Reader may not ask about others.
	body := `{"subject":{"principalId":"` + callerOID + `"},"resource":{"id":"` + reportScope + `q3"},"actions":[{"id":"Contoso.Reports/reports/read","isDataAction":true}]}`
	req, _ := http.NewRequest("POST", w.base+"/providers/Microsoft.Authorization/checkAccess?api-version=2022-04-01", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	nosyApp, nosySecret := newSP("nosy")
	req.Header.Set("Authorization", "Bearer "+tokenFor(nosyApp, nosySecret, "https://management.azure.com/"))
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("checkAccess about another principal without Reader: %d", resp.StatusCode)
	}
}
