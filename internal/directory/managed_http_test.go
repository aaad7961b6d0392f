package directory_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/clientsecret"
	"github.com/ward-id/ward/internal/server/servertest"
)

// TestManagedIdentityPrincipals reads user- and system-assigned managed
// identities through Graph as Entra shows them, the ways az resolves an
// --assignee, and checks that their principals refuse credentials and
// deletion through the directory (finding 9 of the security review).
func TestManagedIdentityPrincipals(t *testing.T) {
	s := servertest.Start(t)
	graph := s.Token(t, "https://graph.microsoft.com")
	arm := s.Token(t, "https://management.azure.com/")
	rg := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg"
	put := func(path, body string) map[string]any {
		t.Helper()
		resp, b := s.Do(t, "PUT", path, arm, strings.NewReader(body))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s = %d %s", path, resp.StatusCode, b)
		}
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		return v
	}
	put(rg+"?api-version=2021-04-01", `{"location":"westeurope"}`)
	idPath := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id"
	ident := put(idPath+"?api-version=2023-01-31", `{"location":"westeurope"}`)
	props := ident["properties"].(map[string]any)
	uaClient, uaPrincipal := props["clientId"].(string), props["principalId"].(string)
	machinePath := rg + "/providers/Microsoft.HybridCompute/machines/vm1"
	machine := put(machinePath+"?api-version=2024-07-10", `{"location":"westeurope","identity":{"type":"SystemAssigned"}}`)
	sysPrincipal := machine["identity"].(map[string]any)["principalId"].(string)

	get := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		var rd *strings.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		var resp *http.Response
		var b []byte
		if rd != nil {
			resp, b = s.Do(t, method, path, graph, rd)
		} else {
			resp, b = s.Do(t, method, path, graph, nil)
		}
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		return resp.StatusCode, v
	}
	one := func(t *testing.T, v map[string]any) map[string]any {
		t.Helper()
		list, _ := v["value"].([]any)
		if len(list) != 1 {
			t.Fatalf("want one principal, got %v", v)
		}
		return list[0].(map[string]any)
	}
	checkUA := func(t *testing.T, sp map[string]any) {
		t.Helper()
		alt, _ := sp["alternativeNames"].([]any)
		if sp["id"] != uaPrincipal || sp["appId"] != uaClient || sp["servicePrincipalType"] != "ManagedIdentity" ||
			len(alt) != 2 || alt[0] != "isExplicit=True" || !strings.EqualFold(alt[1].(string), idPath) || sp["@odata.type"] != "#microsoft.graph.servicePrincipal" {
			t.Fatalf("user-assigned identity's principal = %v; want id %s, appId %s, ManagedIdentity, alternativeNames [isExplicit=True %s]", sp, uaPrincipal, uaClient, idPath)
		}
	}
	filter := func(f string) string { return "/v1.0/servicePrincipals?$filter=" + url.QueryEscape(f) }

	t.Run("by object ID", func(t *testing.T) {
		st, sp := get("GET", "/v1.0/servicePrincipals/"+uaPrincipal, "")
		if st != http.StatusOK {
			t.Fatalf("GET = %d %v", st, sp)
		}
		checkUA(t, sp)
	})
	t.Run("by appId", func(t *testing.T) {
		st, sp := get("GET", "/v1.0/servicePrincipals(appId='"+uaClient+"')", "")
		if st != http.StatusOK {
			t.Fatalf("GET = %d %v", st, sp)
		}
		checkUA(t, sp)
	})
	for _, f := range []string{"appId eq '" + uaClient + "'", "servicePrincipalNames/any(c:c eq '" + uaClient + "')", "servicePrincipalNames/any(c:c eq '" + idPath + "')"} {
		t.Run("$filter "+f, func(t *testing.T) {
			st, v := get("GET", filter(f), "")
			if st != http.StatusOK {
				t.Fatalf("GET = %d %v", st, v)
			}
			checkUA(t, one(t, v))
		})
	}
	t.Run("listed with every principal", func(t *testing.T) {
		_, v := get("GET", "/v1.0/servicePrincipals", "")
		found := 0
		for _, x := range v["value"].([]any) {
			if id := x.(map[string]any)["id"]; id == uaPrincipal || id == sysPrincipal {
				found++
			}
		}
		if found != 2 {
			t.Fatalf("the list holds %d of the two managed identities: %v", found, v)
		}
	})
	t.Run("system-assigned by resource ID", func(t *testing.T) {
		st, v := get("GET", filter("servicePrincipalNames/any(c:c eq '"+machinePath+"')"), "")
		if st != http.StatusOK {
			t.Fatalf("GET = %d %v", st, v)
		}
		sp := one(t, v)
		alt, _ := sp["alternativeNames"].([]any)
		if sp["id"] != sysPrincipal || sp["servicePrincipalType"] != "ManagedIdentity" || len(alt) != 2 || alt[0] != "isExplicit=False" {
			t.Fatalf("machine's principal = %v", sp)
		}
	})
	t.Run("getByIds", func(t *testing.T) {
		st, v := get("POST", "/v1.0/directoryObjects/getByIds", `{"ids":["`+uaPrincipal+`","`+sysPrincipal+`","00000000-0000-0000-0000-0000000000ff","`+uaClient+`"],"types":["user","group","servicePrincipal","directoryObjectPartnerReference"]}`)
		list, _ := v["value"].([]any)
		if st != http.StatusOK || len(list) != 2 {
			t.Fatalf("getByIds = %d %v, want the two principals (unknown IDs and client IDs left out)", st, v)
		}
		st, v = get("POST", "/v1.0/directoryObjects/getByIds", `{"ids":["`+uaPrincipal+`"],"types":["user"]}`)
		if list, _ := v["value"].([]any); st != http.StatusOK || len(list) != 0 {
			t.Fatalf("getByIds for users only = %d %v, want none", st, v)
		}
		if st, v = get("POST", "/v1.0/directoryObjects/getByIds", `{"ids":[]}`); st != http.StatusBadRequest {
			t.Fatalf("getByIds without ids = %d %v, want 400", st, v)
		}
	})
	// Finding 9: no credentials, no deletion through the directory, for
	// either kind; the refusal names the resource.
	for _, p := range []struct{ name, id, resource string }{{"user-assigned", uaPrincipal, idPath}, {"system-assigned", sysPrincipal, machinePath}} {
		t.Run("refuses credentials and deletion: "+p.name, func(t *testing.T) {
			for _, op := range []struct{ method, suffix, body string }{
				{"POST", "/addPassword", `{"passwordCredential":{"displayName":"x"}}`},
				{"PATCH", "", `{"keyCredentials":[]}`},
				{"DELETE", "", ""},
			} {
				st, v := get(op.method, "/v1.0/servicePrincipals/"+p.id+op.suffix, op.body)
				e, _ := v["error"].(map[string]any)
				if st != http.StatusBadRequest || e["code"] != "Request_BadRequest" || !strings.Contains(strings.ToLower(e["message"].(string)), strings.ToLower(p.resource)) {
					t.Errorf("%s %s = %d %v, want 400 Request_BadRequest naming %s", op.method, op.suffix, st, v, p.resource)
				}
			}
			if st, _ := get("GET", "/v1.0/servicePrincipals/"+p.id, ""); st != http.StatusOK {
				t.Fatalf("the principal is gone after refused operations: %d", st)
			}
		})
	}
	// A secret stored on a managed principal before the directory refused
	// them (an older Ward) signs nothing in.
	t.Run("a stored secret does not sign it in", func(t *testing.T) {
		st, sp := get("GET", "/v1.0/servicePrincipals/"+sysPrincipal, "")
		if st != http.StatusOK {
			t.Fatalf("GET = %d", st)
		}
		appID := sp["appId"].(string)
		secret, hint := clientsecret.Generate()
		now := time.Now()
		if err := s.Store.AddClientSecret(context.Background(), clientsecret.New(uuid.NewString(), appID, "old", secret, hint, now, now.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret}, "scope": {"https://management.azure.com/.default"}}
		resp, b := s.Do(t, "POST", "/"+s.Admin.TenantID+"/oauth2/v2.0/token", "", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "invalid_client") || !strings.Contains(string(b), "managed identity") {
			t.Fatalf("client secret of a managed principal = %d %s, want 401 invalid_client", resp.StatusCode, b)
		}
	})
	t.Run("goes with its resource", func(t *testing.T) {
		if resp, b := s.Do(t, "DELETE", machinePath+"?api-version=2024-07-10", arm, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("delete machine = %d %s", resp.StatusCode, b)
		}
		if st, v := get("GET", "/v1.0/servicePrincipals/"+sysPrincipal, ""); st != http.StatusNotFound {
			t.Fatalf("machine's principal after the machine's deletion = %d %v", st, v)
		}
	})
}
