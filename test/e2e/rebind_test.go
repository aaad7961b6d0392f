package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestAgentRecreatedIdentity: a user-assigned identity deleted and
// re-created under the same name (a new principal) is not served to the
// machine it was attached to, through the real agent (App Service
// protocol): the agent answers with the reason, and the machine's ARM view
// keeps the principal it was attached with and says so. A PUT that names
// it again (the admin may assign it) binds the new principal.
func TestAgentRecreatedIdentity(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	f := w.machineFixture(t, "rgr", "m1")
	stateDir := w.join(t, f.token)
	endpoint, secret, agent := appService(t, "--state-dir", stateDir, "--poll-interval", "100ms")
	ask := func() (int, string) {
		q := url.Values{"api-version": {"2019-08-01"}, "resource": {"https://management.azure.com/"}, "mi_res_id": {f.appID}}
		req, _ := http.NewRequest("GET", endpoint+"?"+q.Encode(), nil)
		req.Header.Set("X-IDENTITY-HEADER", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	oid := func(body string) string {
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(body), &tok); err != nil {
			t.Fatalf("token body %s: %v", body, err)
		}
		return claims(t, tok.AccessToken)["oid"].(string)
	}
	if st, b := ask(); st != 200 || oid(b) != f.appPrincipal {
		t.Fatalf("before: %d %s\n%s", st, b, agent.logText())
	}

	if st, b, _ := w.request("DELETE", f.appID+"?api-version=2024-11-30", ""); st != 200 {
		t.Fatalf("delete identity: %d %v", st, b)
	}
	st, b, _ := w.request("PUT", f.appID+"?api-version=2024-11-30", `{"location":"westeurope"}`)
	if st != 201 {
		t.Fatalf("re-create identity: %d %v", st, b)
	}
	newPrincipal := b["properties"].(map[string]any)["principalId"].(string)

	deadline := time.Now().Add(2 * time.Second)
	for {
		st, body := ask()
		if st == 200 && oid(body) == newPrincipal {
			t.Fatalf("the agent served the re-created identity (principal %s), never attached to the machine", newPrincipal)
		}
		if st == 400 && strings.Contains(body, "re-created") && strings.Contains(body, f.appPrincipal) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after re-creation: %d %s", st, body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The ARM view keeps the attached principal and says why it is not served.
	st, b, _ = w.request("GET", f.id+"?api-version=2024-07-10", "")
	entry, _ := b["identity"].(map[string]any)["userAssignedIdentities"].(map[string]any)[f.appID].(map[string]any)
	if st != 200 || entry["principalId"] != f.appPrincipal || !strings.Contains(entry["wardWarning"].(string), "re-created") {
		t.Fatalf("machine view after re-creation: %d %v", st, b["identity"])
	}

	// Re-attaching binds the new principal.
	body := `{"location":"westeurope","identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + f.appID + `":{}}}}`
	if st, b, _ := w.request("PUT", f.id+"?api-version=2024-07-10", body); st != 200 {
		t.Fatalf("re-attach: %d %v", st, b)
	}
	deadline = time.Now().Add(2 * time.Second)
	for {
		st, body := ask()
		if st == 200 && oid(body) == newPrincipal {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after re-attaching: %d %s", st, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
