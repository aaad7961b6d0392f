package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestBodyReaders sends each protocol a body past its cap, a malformed one
// and an empty one through the real server: every handler reads bodies
// with internal/httpbody, and each answers in its own protocol's error
// format (ARM's is TestProtocolErrors).
func TestBodyReaders(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "starts a server and sends bodies of megabytes")
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	rg := sub + "/resourceGroups/body"
	_, port, _ := net.SplitHostPort(w.addr)
	vaultHost := "bodykv.vault.localhost:" + port
	if st, b, _ := w.request("PUT", rg+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 {
		t.Fatalf("group: %d %v", st, b)
	}
	vaultBody := `{"location":"westeurope","properties":{"tenantId":"` + w.admin.TenantID + `","sku":{"family":"A","name":"standard"}}}`
	if st, b, _ := w.request("PUT", rg+"/providers/Microsoft.KeyVault/vaults/bodykv?api-version=2023-07-01", vaultBody); st != 201 {
		t.Fatalf("vault: %d %v", st, b)
	}
	admin := principal{AppID: w.admin.ClientID, Secret: w.admin.ClientSecret}
	kv := w.tokenFor(t, admin, "https://vault.azure.net/.default")
	graph := w.graphToken(t)

	// code reads each protocol's error code: ARM, Key Vault and Graph put
	// it in error.code, a registry in errors[0].code.
	code := func(b map[string]any) string {
		if e, ok := b["error"].(map[string]any); ok {
			c, _ := e["code"].(string)
			return c
		}
		if es, ok := b["errors"].([]any); ok && len(es) > 0 {
			c, _ := es[0].(map[string]any)["code"].(string)
			return c
		}
		return ""
	}
	for _, tc := range []struct {
		name, token, method, host, path, body string
		status                                int
		code                                  string
	}{
		{"vault oversized", kv, "PUT", vaultHost, "/secrets/s?api-version=7.4", `{"value":"` + strings.Repeat("x", 300<<10) + `"}`, http.StatusRequestEntityTooLarge, "BadParameter"},
		{"vault malformed", kv, "PUT", vaultHost, "/secrets/s?api-version=7.4", `{"value":`, http.StatusBadRequest, "BadParameter"},
		{"vault empty", kv, "PUT", vaultHost, "/secrets/s?api-version=7.4", ``, http.StatusBadRequest, "BadParameter"},
		{"vault accepted", kv, "PUT", vaultHost, "/secrets/s?api-version=7.4", `{"value":"v"}`, http.StatusOK, ""},
		{"directory malformed", graph, "POST", "", "/v1.0/servicePrincipals", `{"appId":`, http.StatusBadRequest, "Request_BadRequest"},
		{"directory oversized", graph, "POST", "", "/v1.0/servicePrincipals", `{"displayName":"` + strings.Repeat("x", 2<<20) + `"}`, http.StatusBadRequest, "Request_BadRequest"},
		{"registry oversized form", "", "POST", "bodyacr.azurecr.localhost:" + port, "/oauth2/exchange", "", http.StatusRequestEntityTooLarge, "UNSUPPORTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st int
			var b map[string]any
			if strings.Contains(tc.host, "azurecr") {
				st, b = w.postForm(t, tc.host, tc.path, "access_token="+strings.Repeat("x", 70<<10))
			} else {
				st, b = w.raw(t, tc.token, tc.method, tc.host, tc.path, tc.body)
			}
			if st != tc.status || code(b) != tc.code {
				t.Fatalf("%s %s: %d %v; want %d %s", tc.method, tc.path, st, b, tc.status, tc.code)
			}
		})
	}
}

// postForm posts a form body to host and path.
func (w *ward) postForm(t *testing.T, host, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", w.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}
