package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/server"
)

// servedRoutes builds a server in-process and returns the route table it
// serves from: the same list the binary mounts.
func servedRoutes(t *testing.T) []router.Route {
	t.Helper()
	s, err := server.New(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "d"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return s.Routes()
}

// principal is a service principal with a secret, for tests.
type principal struct {
	ObjectID, AppID, Secret string
}

// raw sends one request with an optional bearer token (and a vault host)
// and returns the status and the decoded body.
func (w *ward) raw(t *testing.T, token, method, host, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, w.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// tokenFor gets an app token for scope with a client secret.
func (w *ward) tokenFor(t *testing.T, p principal, scope string) string {
	t.Helper()
	status, body := postToken(t, w, w.admin.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {p.AppID},
		"client_secret": {p.Secret}, "scope": {scope}})
	if status != 200 {
		t.Fatalf("token for %s: %d %v", p.AppID, status, body)
	}
	return body["access_token"].(string)
}

// tokenOID reads the oid claim of a token Ward issued (the test trusts it:
// it just got it from Ward).
func tokenOID(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		OID string `json:"oid"`
	}
	if err != nil || json.Unmarshal(b, &c) != nil || c.OID == "" {
		t.Fatalf("token claims: %v %s", err, b)
	}
	return c.OID
}

// newPrincipal creates a service principal with a secret as the admin,
// through the directory API.
func (w *ward) newPrincipal(t *testing.T, name string) principal {
	t.Helper()
	admin := w.graphToken(t)
	status, sp := w.raw(t, admin, "POST", "", "/v1.0/servicePrincipals", `{"displayName":"`+name+`"}`)
	if status != 201 {
		t.Fatalf("create %s: %d %v", name, status, sp)
	}
	p := principal{ObjectID: sp["id"].(string), AppID: sp["appId"].(string)}
	status, pw := w.raw(t, admin, "POST", "", "/v1.0/servicePrincipals/"+p.ObjectID+"/addPassword", `{}`)
	if status != 200 {
		t.Fatalf("addPassword %s: %d %v", name, status, pw)
	}
	p.Secret = pw["secretText"].(string)
	return p
}

func (w *ward) graphToken(t *testing.T) string {
	return w.tokenFor(t, principal{AppID: w.admin.ClientID, Secret: w.admin.ClientSecret}, "https://graph.microsoft.com/.default")
}

// grantExactly gives p a custom role holding only actions, at scope.
func (w *ward) grantExactly(t *testing.T, p principal, scope string, actions ...string) {
	t.Helper()
	w.grantRole(t, p, scope, "actions", actions)
}

// grantExactlyData gives p a role holding exactly dataActions at scope.
func (w *ward) grantExactlyData(t *testing.T, p principal, scope string, dataActions ...string) {
	t.Helper()
	w.grantRole(t, p, scope, "dataActions", dataActions)
}

func (w *ward) grantRole(t *testing.T, p principal, scope, kind string, actions []string) {
	t.Helper()
	roleID := uuid.NewString()
	acts, _ := json.Marshal(actions)
	body := `{"properties":{"roleName":"only ` + roleID + `","assignableScopes":["/"],"permissions":[{"` + kind + `":` + string(acts) + `}]}}`
	if status, out, _ := w.request("PUT", "/providers/Microsoft.Authorization/roleDefinitions/"+roleID+"?api-version=2022-04-01", body); status != 201 {
		t.Fatalf("role %v: %d %v", actions, status, out)
	}
	w.assign(t, p.ObjectID, scope, roleID)
}

func (w *ward) assign(t *testing.T, principalID, scope, roleID string) string {
	t.Helper()
	id := uuid.NewString()
	body := `{"properties":{"roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/` + roleID + `","principalId":"` + principalID + `"}}`
	if status, out, _ := w.request("PUT", strings.TrimSuffix(scope, "/")+"/providers/Microsoft.Authorization/roleAssignments/"+id+"?api-version=2022-04-01", body); status != 201 {
		t.Fatalf("assign %s at %s: %d %v", roleID, scope, status, out)
	}
	return id
}

// matrixCase is one served route exercised three ways: without a token,
// as a principal with no role, and as a principal holding exactly the
// route's declared action (or, for handler-authorized routes, the admin).
type matrixCase struct {
	key        string // route key: "GET /subscriptions/{subscriptionId}"
	host       string // vault host, if any
	path, body string
	noRole     int // status for a principal with no role (0: 403)
	want       int // status for the authorized principal
	audience   string
	// regScope, when set, makes the bearer a registry access token for
	// that scope (exchanged and asked as clients do) instead of an Entra one.
	regScope     string
	checkNoRoles func(t *testing.T, body map[string]any)
}

// TestAuthorizationMatrix enumerates every route the server serves and
// asserts: no token → 401 (public routes excepted); a principal with no
// role → 403, or 404 where the service hides existence, or only its own
// view; the declared action alone (a custom role with just that action) →
// success. A served route without a case, or a case without a route, fails.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	rg := sub + "/resourceGroups/mx"
	_, port, _ := net.SplitHostPort(w.addr)
	vaultHost := "mxkv.vault.localhost:" + port
	regHost := "mxacr1.azurecr.localhost:" + port
	tid := w.admin.TenantID
	const (
		arm   = "https://management.azure.com/.default"
		graph = "https://graph.microsoft.com/.default"
		kv    = "https://vault.azure.net/.default"
	)
	must := func(status int, body map[string]any, want int, what string) map[string]any {
		t.Helper()
		if status != want {
			t.Fatalf("%s: %d %v", what, status, body)
		}
		return body
	}

	// Fixtures, as the admin.
	for _, g := range []string{"mx", "mx-del"} {
		st, b, _ := w.request("PUT", sub+"/resourceGroups/"+g+"?api-version=2021-04-01", `{"location":"westeurope"}`)
		must(st, b, 201, "group "+g)
	}
	for _, id := range []string{"mx-id", "mx-id-del"} {
		st, b, _ := w.request("PUT", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"+id+"?api-version=2023-01-31", `{"location":"westeurope"}`)
		must(st, b, 201, "identity "+id)
	}
	ficBody := func(subject string) string {
		return `{"properties":{"issuer":"https://issuer.example.com/mx","subject":"` + subject + `","audiences":["api://AzureADTokenExchange"]}}`
	}
	ficPath := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mx-id/federatedIdentityCredentials/"
	for _, f := range []string{"mx-fic", "mx-fic-del"} {
		st, b, _ := w.request("PUT", ficPath+f+"?api-version=2023-01-31", ficBody("system:serviceaccount:mx:"+f))
		must(st, b, 201, "fic "+f)
	}
	vaultBody := `{"location":"westeurope","properties":{"tenantId":"` + tid + `","sku":{"family":"A","name":"standard"}}}`
	for _, v := range []string{"mxkv", "mxkv-del"} {
		st, b, _ := w.request("PUT", rg+"/providers/Microsoft.KeyVault/vaults/"+v+"?api-version=2023-07-01", vaultBody)
		must(st, b, 201, "vault "+v)
	}
	for _, r := range []string{"mxacr1", "mxacrdel"} {
		st, b, _ := w.request("PUT", rg+"/providers/Microsoft.ContainerRegistry/registries/"+r+"?api-version=2023-07-01", `{"location":"westeurope","sku":{"name":"Basic"}}`)
		must(st, b, 201, "registry "+r)
	}
	clusterBody := `{"location":"westeurope","properties":{"oidcIssuerProfile":{"enabled":true}}}`
	var clusterIssuer string
	for _, c := range []string{"mxc", "mxc-del"} {
		st, b, _ := w.request("PUT", rg+"/providers/Microsoft.ContainerService/managedClusters/"+c+"?api-version=2024-05-01", clusterBody)
		b = must(st, b, 201, "cluster "+c)
		if c == "mxc" {
			clusterIssuer = b["properties"].(map[string]any)["oidcIssuerProfile"].(map[string]any)["issuerURL"].(string)
		}
	}
	issuerPath := strings.TrimPrefix(clusterIssuer, w.base)
	for _, m := range []string{"mx-m", "mx-m-del"} {
		st, b, _ := w.request("PUT", rg+"/providers/Microsoft.HybridCompute/machines/"+m+"?api-version=2024-07-10", `{"location":"westeurope"}`)
		must(st, b, 201, "machine "+m)
	}
	poolPath := rg + "/providers/Microsoft.ContainerService/managedClusters/mxc/agentPools"
	st, b, _ := w.request("PUT", poolPath+"/mxpdel?api-version=2024-05-01", `{"properties":{}}`)
	must(st, b, 201, "agent pool mxpdel")

	adminP := principal{AppID: w.admin.ClientID, Secret: w.admin.ClientSecret}
	// An operation ID as a cluster DELETE hands out (the deleted resource's
	// ID, base64url): the polling routes answer for it.
	clusterOp := base64.RawURLEncoding.EncodeToString([]byte("1|" + rg + "/providers/Microsoft.ContainerService/managedClusters/mxc-gone"))
	// The operations a long-running PUT points at (vaults, registries,
	// storage accounts), as the answer's Azure-AsyncOperation names them.
	opID := func(resource string) string { return base64.RawURLEncoding.EncodeToString([]byte("1|" + resource)) }
	kvAdmin := w.tokenFor(t, adminP, kv)
	for _, s := range []string{"mx-secret", "mx-gone", "mx-purged", "mx-recovered"} {
		st, b := w.raw(t, kvAdmin, "PUT", vaultHost, "/secrets/"+s+"?api-version=7.4", `{"value":"v1"}`)
		must(st, b, 200, "secret "+s)
	}
	for _, s := range []string{"mx-purged", "mx-recovered"} { // soft-deleted: the vault keeps them
		st, b := w.raw(t, kvAdmin, "DELETE", vaultHost, "/secrets/"+s+"?api-version=7.4", "")
		must(st, b, 200, "delete secret "+s)
	}
	st, sec := w.raw(t, kvAdmin, "GET", vaultHost, "/secrets/mx-secret?api-version=7.4", "")
	must(st, sec, 200, "read secret")
	version := sec["id"].(string)[strings.LastIndex(sec["id"].(string), "/")+1:]

	// Storage: accounts and containers through ARM; blobs as the admin,
	// who holds Storage Blob Data Owner at mxsa (Owner grants no data).
	blobHost := "mxsa.blob.localhost:" + port
	const storageAud = "https://storage.azure.com/.default"
	sa := rg + "/providers/Microsoft.Storage/storageAccounts/"
	for _, a := range []string{"mxsa", "mxsadel"} {
		st, b, _ := w.request("PUT", sa+a+"?api-version=2023-05-01", `{"location":"westeurope","kind":"StorageV2","sku":{"name":"Standard_LRS"}}`)
		must(st, b, 200, "storage account "+a) // 200 on create, as Azure
	}
	for _, c := range []string{"mxbc", "mxbcdel", "mxdpdel"} {
		st, b, _ := w.request("PUT", sa+"mxsa/blobServices/default/containers/"+c+"?api-version=2023-05-01", `{}`)
		must(st, b, 201, "container "+c)
	}
	w.assign(t, tokenOID(t, w.adminToken()), sa+"mxsa", rbac.StorageBlobDataOwnerID)
	blobAdmin := w.tokenFor(t, adminP, storageAud)
	for _, name := range []string{"b.txt", "gone.txt"} {
		req, _ := http.NewRequest("PUT", w.base+"/mxbc/"+name, strings.NewReader("hello"))
		req.Host = blobHost
		req.Header.Set("Authorization", "Bearer "+blobAdmin)
		req.Header.Set("x-ms-blob-type", "BlockBlob")
		resp, err := w.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("put blob %s: %d", name, resp.StatusCode)
		}
	}

	// Policy fixtures: a custom definition that matches nothing Ward
	// serves (so the assignments below change no other case's answer).
	policyDefs := sub + "/providers/Microsoft.Authorization/policyDefinitions/"
	policyDefBody := `{"properties":{"mode":"All","policyRule":{"if":{"field":"type","equals":"Microsoft.Nothing/none"},"then":{"effect":"audit"}}}}`
	for _, d := range []string{"mx-def", "mx-def-del"} {
		st, b, _ := w.request("PUT", policyDefs+d+"?api-version=2021-06-01", policyDefBody)
		must(st, b, 201, "policy definition "+d)
	}
	policyAsgBody := `{"properties":{"policyDefinitionId":"` + policyDefs + `mx-def"}}`
	for _, a := range []string{"mx-asg", "mx-asg-del"} {
		st, b, _ := w.request("PUT", rg+"/providers/Microsoft.Authorization/policyAssignments/"+a+"?api-version=2021-06-01", policyAsgBody)
		must(st, b, 201, "policy assignment "+a)
	}

	noroles := w.newPrincipal(t, "noroles")
	target := w.newPrincipal(t, "mx-target")
	del1, del2 := w.newPrincipal(t, "mx-del-1"), w.newPrincipal(t, "mx-del-2")
	graphAdmin := w.graphToken(t)
	keyIDs := []string{}
	for i := 0; i < 2; i++ {
		st, pw := w.raw(t, graphAdmin, "POST", "", "/v1.0/servicePrincipals/"+target.ObjectID+"/addPassword", `{}`)
		keyIDs = append(keyIDs, must(st, pw, 200, "addPassword")["keyId"].(string))
	}
	assignment := w.assign(t, target.ObjectID, sub, "acdd72a7-3385-48ef-bd42-f606fba81ae7")
	// The target holds Reader at the subscription: changing its
	// credentials also needs roleAssignments/write there.
	customRole := uuid.NewString()
	customBody := `{"properties":{"roleName":"mx custom","assignableScopes":["` + rg + `"],"permissions":[{"actions":["*/read"]}]}}`
	newAssignment := uuid.NewString()

	av := func(v string) string { return "?api-version=" + v }
	cases := []matrixCase{
		{key: "GET /healthz", path: "/healthz", want: 200},
		{key: "GET /readyz", path: "/readyz", want: 200},
		{key: "GET /metrics", path: "/metrics", want: 200},
		{key: "GET /metadata/endpoints", path: "/metadata/endpoints" + av("2022-09-01"), want: 200},
		{key: "GET /common/discovery/instance", path: "/common/discovery/instance?api-version=1.1&authorization_endpoint=" + url.QueryEscape(w.base+"/"+tid+"/oauth2/v2.0/authorize"), want: 200},
		{key: "GET /discovery/instance", path: "/discovery/instance?api-version=1.1&authorization_endpoint=" + url.QueryEscape(w.base+"/"+tid+"/oauth2/v2.0/authorize"), want: 200},
		{key: "GET /discovery/keys", path: "/discovery/keys", want: 200},
		{key: "GET /discovery/v2.0/keys", path: "/discovery/v2.0/keys", want: 200},
		{key: "GET /{tenant}/v2.0/.well-known/openid-configuration", path: "/" + tid + "/v2.0/.well-known/openid-configuration", want: 200},
		{key: "GET /{tenant}/.well-known/openid-configuration", path: "/" + tid + "/.well-known/openid-configuration", want: 200},
		{key: "GET /{tenant}/discovery/keys", path: "/" + tid + "/discovery/keys", want: 200},
		{key: "GET /{tenant}/discovery/v2.0/keys", path: "/" + tid + "/discovery/v2.0/keys", want: 200},
		{key: "POST /{tenant}/oauth2/v2.0/token", path: "/" + tid + "/oauth2/v2.0/token", want: 400},
		{key: "POST /{tenant}/oauth2/token", path: "/" + tid + "/oauth2/token", want: 400},
		{key: "GET /oidc/{tenant}/{cluster}/.well-known/openid-configuration", path: issuerPath + ".well-known/openid-configuration", want: 200},
		// The agent API takes no Ward token: a join token or the agent's
		// attestation, and without either it refuses.
		{key: "POST /ward/v1/agent/join", path: "/ward/v1/agent/join", body: `{"joinToken":"wj1.nonsense","certificate":""}`, want: 401},
		// Token and state are authenticated by the agent's attestation, which
		// no Ward bearer token is (not the admin's either): the attested
		// flows are TestAgent*'s.
		{key: "POST /ward/v1/agent/token", path: "/ward/v1/agent/token", body: `{"resource":"https://management.azure.com/"}`, noRole: 401, want: 401},
		{key: "GET /ward/v1/agent/state", path: "/ward/v1/agent/state", noRole: 401, want: 401},
		{key: "GET /oidc/{tenant}/{cluster}/openid/v1/jwks", path: issuerPath + "openid/v1/jwks", want: 200},

		{key: "GET /subscriptions", path: "/subscriptions" + av("2022-12-01"), noRole: 200, want: 200, checkNoRoles: func(t *testing.T, b map[string]any) {
			if v := b["value"].([]any); len(v) != 0 {
				t.Errorf("a principal with no role lists subscriptions: %v", v)
			}
		}},
		{key: "GET /subscriptions/{subscriptionId}", path: sub + av("2022-12-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups", path: sub + "/resourceGroups" + av("2021-04-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", path: rg + av("2021-04-01"), want: 200},
		{key: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", path: rg + av("2021-04-01"), body: `{"location":"westeurope"}`, want: 200},
		{key: "PATCH /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", path: rg + av("2021-04-01"), body: `{"tags":{"team":"mx"}}`, want: 200},

		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.ManagedIdentity/userAssignedIdentities", path: sub + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities" + av("2023-01-31"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities", path: rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities" + av("2023-01-31"), want: 200},
		{key: "GET " + "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}", path: rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mx-id" + av("2023-01-31"), want: 200},
		{key: "PUT " + "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}", path: rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mx-id" + av("2023-01-31"), body: `{"location":"westeurope"}`, want: 200},
		{key: "PATCH " + "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}", path: rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mx-id" + av("2023-01-31"), body: `{"tags":{"a":"b"}}`, want: 200},
		{key: "GET " + "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials", path: strings.TrimSuffix(ficPath, "/") + av("2023-01-31"), want: 200},
		{key: "GET " + "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}", path: ficPath + "mx-fic" + av("2023-01-31"), want: 200},
		{key: "PUT " + "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}", path: ficPath + "mx-fic" + av("2023-01-31"), body: ficBody("system:serviceaccount:mx:mx-fic"), want: 200},

		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/vaults", path: sub + "/providers/Microsoft.KeyVault/vaults" + av("2023-07-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults", path: rg + "/providers/Microsoft.KeyVault/vaults" + av("2023-07-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults/{vaultName}", path: rg + "/providers/Microsoft.KeyVault/vaults/mxkv" + av("2023-07-01"), want: 200},
		{key: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults/{vaultName}", path: rg + "/providers/Microsoft.KeyVault/vaults/mxkv" + av("2023-07-01"), body: vaultBody, want: 200},

		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/managedClusters", path: sub + "/providers/Microsoft.ContainerService/managedClusters" + av("2024-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters", path: rg + "/providers/Microsoft.ContainerService/managedClusters" + av("2024-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}", path: rg + "/providers/Microsoft.ContainerService/managedClusters/mxc" + av("2024-05-01"), want: 200},
		{key: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}", path: rg + "/providers/Microsoft.ContainerService/managedClusters/mxc" + av("2024-05-01"), body: `{"location":"westeurope"}`, want: 200},
		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/getServiceAccountToken", path: rg + "/providers/Microsoft.ContainerService/managedClusters/mxc/getServiceAccountToken" + av("2024-05-01"),
			body: `{"namespace":"mx","serviceAccount":"sa","audience":"api://AzureADTokenExchange"}`, want: 200},
		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/getServiceAccountSigningKey", path: rg + "/providers/Microsoft.ContainerService/managedClusters/mxc/getServiceAccountSigningKey" + av("2024-05-01"), body: `{}`, want: 200},
		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/rotateServiceAccountSigningKey", path: rg + "/providers/Microsoft.ContainerService/managedClusters/mxc/rotateServiceAccountSigningKey" + av("2024-05-01"), body: `{}`, want: 200},

		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/listClusterUserCredential", path: rg + "/providers/Microsoft.ContainerService/managedClusters/mxc/listClusterUserCredential" + av("2024-05-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/listClusterAdminCredential", path: rg + "/providers/Microsoft.ContainerService/managedClusters/mxc/listClusterAdminCredential" + av("2024-05-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/listClusterMonitoringUserCredential", path: rg + "/providers/Microsoft.ContainerService/managedClusters/mxc/listClusterMonitoringUserCredential" + av("2024-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/locations/{location}/operations/{operationId}", path: sub + "/providers/Microsoft.ContainerService/locations/westeurope/operations/" + clusterOp + av("2024-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/locations/{location}/operationresults/{operationId}", path: sub + "/providers/Microsoft.ContainerService/locations/westeurope/operationresults/" + clusterOp + av("2024-05-01"), want: 204},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/locations/{location}/operations/{operationId}", path: sub + "/providers/Microsoft.KeyVault/locations/westeurope/operations/" + opID(rg+"/providers/Microsoft.KeyVault/vaults/mxkv") + av("2023-07-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/locations/{location}/operationresults/{operationId}", path: sub + "/providers/Microsoft.KeyVault/locations/westeurope/operationresults/" + opID(rg+"/providers/Microsoft.KeyVault/vaults/mxkv") + av("2023-07-01"), want: 204},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.ContainerRegistry/locations/{location}/operations/{operationId}", path: sub + "/providers/Microsoft.ContainerRegistry/locations/westeurope/operations/" + opID(rg+"/providers/Microsoft.ContainerRegistry/registries/mxacr1") + av("2023-07-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.ContainerRegistry/locations/{location}/operationresults/{operationId}", path: sub + "/providers/Microsoft.ContainerRegistry/locations/westeurope/operationresults/" + opID(rg+"/providers/Microsoft.ContainerRegistry/registries/mxacr1") + av("2023-07-01"), want: 204},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Storage/locations/{location}/operations/{operationId}", path: sub + "/providers/Microsoft.Storage/locations/westeurope/operations/" + opID(rg+"/providers/Microsoft.Storage/storageAccounts/mxsa") + av("2023-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Storage/locations/{location}/operationresults/{operationId}", path: sub + "/providers/Microsoft.Storage/locations/westeurope/operationresults/" + opID(rg+"/providers/Microsoft.Storage/storageAccounts/mxsa") + av("2023-05-01"), want: 204},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/deletedVaults", path: sub + "/providers/Microsoft.KeyVault/deletedVaults" + av("2023-07-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{vaultName}", path: sub + "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/mxkv-gone" + av("2023-07-01"), want: 404},
		{key: "POST /subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{vaultName}/purge", path: sub + "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/mxkv-gone/purge" + av("2023-07-01"), want: 202},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/agentPools", path: poolPath + av("2024-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{agentPoolName}", path: poolPath + "/nodepool1" + av("2024-05-01"), want: 200},
		{key: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{agentPoolName}", path: poolPath + "/mxp" + av("2024-05-01"), body: `{"properties":{}}`, want: 201},
		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{agentPoolName}/upgradeNodeImageVersion", path: poolPath + "/nodepool1/upgradeNodeImageVersion" + av("2024-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/maintenanceConfigurations", path: strings.TrimSuffix(poolPath, "/agentPools") + "/maintenanceConfigurations" + av("2024-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/maintenanceConfigurations/{configName}", path: strings.TrimSuffix(poolPath, "/agentPools") + "/maintenanceConfigurations/default" + av("2024-05-01"), want: 404},

		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.HybridCompute/machines", path: sub + "/providers/Microsoft.HybridCompute/machines" + av("2024-07-10"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HybridCompute/machines", path: rg + "/providers/Microsoft.HybridCompute/machines" + av("2024-07-10"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HybridCompute/machines/{machineName}", path: rg + "/providers/Microsoft.HybridCompute/machines/mx-m" + av("2024-07-10"), want: 200},
		{key: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HybridCompute/machines/{machineName}", path: rg + "/providers/Microsoft.HybridCompute/machines/mx-m" + av("2024-07-10"), body: `{"location":"westeurope"}`, want: 200},
		{key: "PATCH /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HybridCompute/machines/{machineName}", path: rg + "/providers/Microsoft.HybridCompute/machines/mx-m" + av("2024-07-10"), body: `{"tags":{"a":"b"}}`, want: 200},
		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HybridCompute/machines/{machineName}/resetAgentCredential", path: rg + "/providers/Microsoft.HybridCompute/machines/mx-m/resetAgentCredential" + av("2024-07-10"), body: `{}`, want: 200},

		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Insights/eventtypes/management/values", path: sub + "/providers/Microsoft.Insights/eventtypes/management/values" + av("2015-04-01"), want: 200},

		{key: "GET /{scope...}/providers/Microsoft.Authorization/roleAssignments", path: sub + "/providers/Microsoft.Authorization/roleAssignments" + av("2022-04-01"), want: 200},
		{key: "GET /{scope...}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", path: sub + "/providers/Microsoft.Authorization/roleAssignments/" + assignment + av("2022-04-01"), want: 200},
		{key: "PUT /{scope...}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", path: rg + "/providers/Microsoft.Authorization/roleAssignments/" + newAssignment + av("2022-04-01"),
			body: `{"properties":{"roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7","principalId":"` + del1.ObjectID + `"}}`, want: 201},
		{key: "DELETE /{scope...}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", path: rg + "/providers/Microsoft.Authorization/roleAssignments/" + newAssignment + av("2022-04-01"), want: 200},
		{key: "GET /{scope...}/providers/Microsoft.Authorization/roleDefinitions", path: sub + "/providers/Microsoft.Authorization/roleDefinitions" + av("2022-04-01"), want: 200},
		{key: "GET /{scope...}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}", path: sub + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7" + av("2022-04-01"), want: 200},
		{key: "PUT /{scope...}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}", path: rg + "/providers/Microsoft.Authorization/roleDefinitions/" + customRole + av("2022-04-01"), body: customBody, want: 201},
		{key: "DELETE /{scope...}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}", path: rg + "/providers/Microsoft.Authorization/roleDefinitions/" + customRole + av("2022-04-01"), want: 200},
		{key: "POST /{scope...}/providers/Microsoft.Authorization/checkAccess", path: sub + "/providers/Microsoft.Authorization/checkAccess" + av("2022-04-01"), noRole: 200, want: 200},

		// Azure Policy: built-in definitions are the same for everyone.
		{key: "GET /providers/Microsoft.Authorization/policyDefinitions", path: "/providers/Microsoft.Authorization/policyDefinitions" + av("2021-06-01"), noRole: 200, want: 200},
		{key: "GET /providers/Microsoft.Authorization/policyDefinitions/{policyDefinitionName}", path: "/providers/Microsoft.Authorization/policyDefinitions/2571b7c3-3056-4a61-b00a-9bc5232234f5" + av("2021-06-01"), noRole: 200, want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Authorization/policyDefinitions", path: strings.TrimSuffix(policyDefs, "/") + av("2021-06-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Authorization/policyDefinitions/{policyDefinitionName}", path: policyDefs + "mx-def" + av("2021-06-01"), want: 200},
		{key: "PUT /subscriptions/{subscriptionId}/providers/Microsoft.Authorization/policyDefinitions/{policyDefinitionName}", path: policyDefs + "mx-def-new" + av("2021-06-01"), body: policyDefBody, want: 201},
		{key: "DELETE /subscriptions/{subscriptionId}/providers/Microsoft.Authorization/policyDefinitions/{policyDefinitionName}", path: policyDefs + "mx-def-del" + av("2021-06-01"), want: 200},
		{key: "GET /{scope...}/providers/Microsoft.Authorization/policyAssignments", path: sub + "/providers/Microsoft.Authorization/policyAssignments" + av("2021-06-01"), want: 200},
		{key: "GET /{scope...}/providers/Microsoft.Authorization/policyAssignments/{policyAssignmentName}", path: rg + "/providers/Microsoft.Authorization/policyAssignments/mx-asg" + av("2021-06-01"), want: 200},
		{key: "PUT /{scope...}/providers/Microsoft.Authorization/policyAssignments/{policyAssignmentName}", path: rg + "/providers/Microsoft.Authorization/policyAssignments/mx-asg-new" + av("2021-06-01"), body: policyAsgBody, want: 201},
		{key: "DELETE /{scope...}/providers/Microsoft.Authorization/policyAssignments/{policyAssignmentName}", path: rg + "/providers/Microsoft.Authorization/policyAssignments/mx-asg-del" + av("2021-06-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/providers/Microsoft.PolicyInsights/policyStates/{policyStatesResource}/queryResults", path: sub + "/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults" + av("2019-10-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/providers/Microsoft.PolicyInsights/policyStates/{policyStatesResource}/summarize", path: sub + "/providers/Microsoft.PolicyInsights/policyStates/latest/summarize" + av("2019-10-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.PolicyInsights/policyStates/{policyStatesResource}/queryResults", path: rg + "/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults" + av("2019-10-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.PolicyInsights/policyStates/{policyStatesResource}/summarize", path: rg + "/providers/Microsoft.PolicyInsights/policyStates/latest/summarize" + av("2019-10-01"), want: 200},

		{key: "GET /subscriptions/{subscriptionId}/providers", path: sub + "/providers" + av("2021-04-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resources", path: sub + "/resources" + av("2015-11-01") + "&$filter=" + url.QueryEscape("resourceType eq 'Microsoft.KeyVault/vaults'"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/resources", path: rg + "/resources" + av("2021-04-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}", path: sub + "/providers/Microsoft.ContainerService" + av("2021-04-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}/register", path: sub + "/providers/Microsoft.ContainerService/register" + av("2021-04-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}/unregister", path: sub + "/providers/Microsoft.ContainerService/unregister" + av("2021-04-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Features/features", path: sub + "/providers/Microsoft.Features/features" + av("2021-07-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Features/providers/{featureNamespace}/features", path: sub + "/providers/Microsoft.Features/providers/Microsoft.ContainerService/features" + av("2021-07-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Features/providers/{featureNamespace}/features/{featureName}", path: sub + "/providers/Microsoft.Features/providers/Microsoft.ContainerService/features/EnableWorkloadIdentityPreview" + av("2021-07-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/providers/Microsoft.Features/providers/{featureNamespace}/features/{featureName}/register", path: sub + "/providers/Microsoft.Features/providers/Microsoft.ContainerService/features/EnableWorkloadIdentityPreview/register" + av("2021-07-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/providers/Microsoft.Features/providers/{featureNamespace}/features/{featureName}/unregister", path: sub + "/providers/Microsoft.Features/providers/Microsoft.ContainerService/features/EnableWorkloadIdentityPreview/unregister" + av("2021-07-01"), want: 200},

		{key: "GET /v1.0/servicePrincipals", path: "/v1.0/servicePrincipals", audience: graph, noRole: 200, want: 200, checkNoRoles: func(t *testing.T, b map[string]any) {
			if v := b["value"].([]any); len(v) != 1 || v[0].(map[string]any)["appId"] != noroles.AppID {
				t.Errorf("a principal with no role lists %d principals, want only itself: %v", len(v), v)
			}
		}},
		{key: "POST /v1.0/servicePrincipals", path: "/v1.0/servicePrincipals", audience: graph, body: `{"displayName":"mx-created"}`, want: 201},
		{key: "GET /v1.0/servicePrincipals/{id}", path: "/v1.0/servicePrincipals/" + target.ObjectID, audience: graph, noRole: 404, want: 200},
		{key: "GET /v1.0/servicePrincipals(appId='{id}')", path: "/v1.0/servicePrincipals(appId='" + target.AppID + "')", audience: graph, noRole: 404, want: 200},
		{key: "PATCH /v1.0/servicePrincipals/{id}", path: "/v1.0/servicePrincipals/" + target.ObjectID, audience: graph, body: `{"displayName":"x"}`, noRole: 404, want: 204},
		{key: "PATCH /v1.0/servicePrincipals(appId='{id}')", path: "/v1.0/servicePrincipals(appId='" + target.AppID + "')", audience: graph, body: `{"displayName":"x"}`, noRole: 404, want: 204},
		{key: "POST /v1.0/servicePrincipals/{id}/addPassword", path: "/v1.0/servicePrincipals/" + target.ObjectID + "/addPassword", audience: graph, body: `{}`, noRole: 404, want: 200},
		{key: "POST /v1.0/servicePrincipals(appId='{id}')/addPassword", path: "/v1.0/servicePrincipals(appId='" + target.AppID + "')/addPassword", audience: graph, body: `{}`, noRole: 404, want: 200},
		{key: "POST /v1.0/servicePrincipals/{id}/removePassword", path: "/v1.0/servicePrincipals/" + target.ObjectID + "/removePassword", audience: graph, body: `{"keyId":"` + keyIDs[0] + `"}`, noRole: 404, want: 204},
		{key: "POST /v1.0/servicePrincipals(appId='{id}')/removePassword", path: "/v1.0/servicePrincipals(appId='" + target.AppID + "')/removePassword", audience: graph, body: `{"keyId":"` + keyIDs[1] + `"}`, noRole: 404, want: 204},
		{key: "DELETE /v1.0/servicePrincipals/{id}", path: "/v1.0/servicePrincipals/" + del1.ObjectID, audience: graph, noRole: 404, want: 204},
		{key: "DELETE /v1.0/servicePrincipals(appId='{id}')", path: "/v1.0/servicePrincipals(appId='" + del2.AppID + "')", audience: graph, noRole: 404, want: 204},
		{key: "POST /v1.0/directoryObjects/getByIds", path: "/v1.0/directoryObjects/getByIds", audience: graph, body: `{"ids":["` + target.ObjectID + `"],"types":["servicePrincipal"]}`, noRole: 200, want: 200,
			checkNoRoles: func(t *testing.T, b map[string]any) {
				if v := b["value"].([]any); len(v) != 0 {
					t.Errorf("a principal with no role resolves %d objects it may not read: %v", len(v), v)
				}
			}},
		{key: "GET /v1.0/auditLogs/signIns", path: "/v1.0/auditLogs/signIns", audience: graph, want: 200},
		{key: "POST /ward/v1/keys/rotate", path: "/ward/v1/keys/rotate", audience: graph, want: 200},

		{key: "GET vault:/secrets", host: vaultHost, path: "/secrets" + av("7.4"), audience: kv, want: 200},
		{key: "GET vault:/secrets/{name}/versions", host: vaultHost, path: "/secrets/mx-secret/versions" + av("7.4"), audience: kv, want: 200},
		{key: "GET vault:/secrets/{name}", host: vaultHost, path: "/secrets/mx-secret" + av("7.4"), audience: kv, want: 200},
		{key: "GET vault:/secrets/{name}/{version}", host: vaultHost, path: "/secrets/mx-secret/" + version + av("7.4"), audience: kv, want: 200},
		{key: "PUT vault:/secrets/{name}", host: vaultHost, path: "/secrets/mx-secret" + av("7.4"), body: `{"value":"v2"}`, audience: kv, want: 200},
		{key: "PATCH vault:/secrets/{name}", host: vaultHost, path: "/secrets/mx-secret" + av("7.4"), body: `{"contentType":"text/plain"}`, audience: kv, want: 200},
		{key: "PATCH vault:/secrets/{name}/{version}", host: vaultHost, path: "/secrets/mx-secret/" + version + av("7.4"), body: `{"tags":{"a":"b"}}`, audience: kv, want: 200},
		// ARM's registries, then the registry token service and the registry:
		// its routes are reached with a registry access token, whose access
		// the token service decided by RBAC (an owner gets what it asks; a
		// principal with no role a token that opens /v2/ and nothing else).
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.ContainerRegistry/registries", path: sub + "/providers/Microsoft.ContainerRegistry/registries" + av("2023-07-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerRegistry/registries", path: rg + "/providers/Microsoft.ContainerRegistry/registries" + av("2023-07-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/{registryName}", path: rg + "/providers/Microsoft.ContainerRegistry/registries/mxacr1" + av("2023-07-01"), want: 200},
		{key: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/{registryName}", path: rg + "/providers/Microsoft.ContainerRegistry/registries/mxacr1" + av("2023-07-01"), body: `{"location":"westeurope","sku":{"name":"Standard"}}`, want: 200},
		{key: "PATCH /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/{registryName}", path: rg + "/providers/Microsoft.ContainerRegistry/registries/mxacr1" + av("2023-07-01"), body: `{"tags":{"a":"b"}}`, want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/{registryName}/replications", path: rg + "/providers/Microsoft.ContainerRegistry/registries/mxacr1/replications" + av("2023-07-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/providers/Microsoft.ContainerRegistry/checkNameAvailability", path: sub + "/providers/Microsoft.ContainerRegistry/checkNameAvailability" + av("2023-07-01"), body: `{"name":"mxacrfree","type":"Microsoft.ContainerRegistry/registries"}`, want: 200},
		{key: "POST registry:/oauth2/exchange", host: regHost, path: "/oauth2/exchange", want: 400},
		{key: "POST registry:/oauth2/token", host: regHost, path: "/oauth2/token", want: 400},
		{key: "GET registry:/oauth2/token", host: regHost, path: "/oauth2/token?service=" + regHost, want: 401},
		{key: "GET registry:/v2", host: regHost, path: "/v2/", regScope: "repository:mx/app:pull", noRole: 200, want: 200},
		{key: "GET registry:/v2/{path...}", host: regHost, path: "/v2/mx/app/tags/list", regScope: "repository:mx/app:pull", noRole: 401, want: 404},
		{key: "POST registry:/v2/{path...}", host: regHost, path: "/v2/mx/app/blobs/uploads/", regScope: "repository:mx/app:pull,push", noRole: 401, want: 202},
		{key: "PUT registry:/v2/{path...}", host: regHost, path: "/v2/mx/app/manifests/v1", body: `{}`, regScope: "repository:mx/app:pull,push", noRole: 401, want: 400},
		{key: "PATCH registry:/v2/{path...}", host: regHost, path: "/v2/mx/app/blobs/uploads/00000000-0000-0000-0000-000000000000", body: `{}`, regScope: "repository:mx/app:pull,push", noRole: 401, want: 404},
		{key: "DELETE registry:/v2/{path...}", host: regHost, path: "/v2/mx/app/manifests/sha256:" + strings.Repeat("0", 64), regScope: "repository:mx/app:delete", noRole: 401, want: 404},

		{key: "DELETE vault:/secrets/{name}", host: vaultHost, path: "/secrets/mx-gone" + av("7.4"), audience: kv, want: 200},
		{key: "GET vault:/deletedsecrets", host: vaultHost, path: "/deletedsecrets" + av("7.4"), audience: kv, want: 200},
		{key: "GET vault:/deletedsecrets/{name}", host: vaultHost, path: "/deletedsecrets/mx-recovered" + av("7.4"), audience: kv, want: 200},
		{key: "POST vault:/deletedsecrets/{name}/recover", host: vaultHost, path: "/deletedsecrets/mx-recovered/recover" + av("7.4"), audience: kv, want: 200},
		{key: "DELETE vault:/deletedsecrets/{name}", host: vaultHost, path: "/deletedsecrets/mx-purged" + av("7.4"), audience: kv, want: 204},
		// No certificates, so no contacts: Key Vault's 404 for that.
		{key: "GET vault:/certificates/contacts", host: vaultHost, path: "/certificates/contacts" + av("7.4"), audience: kv, want: 404},

		// The console: its page and assets are public and hold no data; its
		// API takes a session cookie or a bearer token and shows a principal
		// with no role nothing but itself.
		{key: "GET /console", path: "/console/", want: 200},
		{key: "GET /console/assets/{file}", path: "/console/assets/app.js", want: 200},
		{key: "GET /console/login", path: "/console/login?code=not-a-code", want: 401},
		{key: "POST /console/api/links", path: "/console/api/links", body: `{}`, noRole: 201, want: 201},
		{key: "GET /console/api/me", path: "/console/api/me", noRole: 200, want: 200},
		{key: "POST /console/api/logout", path: "/console/api/logout", body: `{}`, noRole: 204, want: 204},
		{key: "GET /console/api/explorer", path: "/console/api/explorer", noRole: 200, want: 200, checkNoRoles: func(t *testing.T, b map[string]any) {
			for k, v := range b {
				l, _ := v.([]any)
				if k == "servicePrincipals" && len(l) == 1 && l[0].(map[string]any)["id"] == noroles.ObjectID {
					continue
				}
				if len(l) != 0 {
					t.Errorf("a principal with no role sees %d %s in the console: %v", len(l), k, l)
				}
			}
		}},
		{key: "GET /console/api/graph", path: "/console/api/graph", noRole: 200, want: 200, checkNoRoles: func(t *testing.T, b map[string]any) {
			if n := b["nodes"].([]any); len(n) != 0 {
				t.Errorf("a principal with no role sees %d graph nodes: %v", len(n), n)
			}
		}},
		{key: "GET /console/api/activity", path: "/console/api/activity", noRole: 200, want: 200, checkNoRoles: func(t *testing.T, b map[string]any) {
			if v := b["value"].([]any); len(v) != 0 {
				t.Errorf("a principal with no role sees %d activity events", len(v))
			}
		}},
		{key: "GET /console/api/policy", path: "/console/api/policy", noRole: 200, want: 200, checkNoRoles: func(t *testing.T, b map[string]any) {
			if v := b["value"].([]any); len(v) != 0 {
				t.Errorf("a principal with no role sees %d non-compliant resources", len(v))
			}
		}},
		{key: "GET /console/api/signins", path: "/console/api/signins", want: 200},
		{key: "GET /console/api/signins/stream", path: "/console/api/signins/stream?maxSeconds=1", want: 200},
		{key: "GET /console/api/check", path: "/console/api/check?principal=" + target.ObjectID + "&scope=" + url.QueryEscape(sub) + "&action=Microsoft.Resources/subscriptions/read", want: 200},
		{key: "POST /console/api/fix/federated-credential", path: "/console/api/fix/federated-credential",
			body: `{"identity":"` + rg + `/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mx-id","name":"mx-console-fix","issuer":"https://issuer.example.com/mx","subject":"system:serviceaccount:mx:console"}`, want: 201},

		// Deletions last: the objects above must still exist for the reads.
		{key: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}", path: ficPath + "mx-fic-del" + av("2023-01-31"), want: 200},
		{key: "DELETE " + "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}", path: rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mx-id-del" + av("2023-01-31"), want: 200},
		{key: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/{registryName}", path: rg + "/providers/Microsoft.ContainerRegistry/registries/mxacrdel" + av("2023-07-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Storage/storageAccounts", path: sub + "/providers/Microsoft.Storage/storageAccounts" + av("2023-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts", path: sa[:len(sa)-1] + av("2023-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}", path: sa + "mxsa" + av("2023-05-01"), want: 200},
		{key: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}", path: sa + "mxsa" + av("2023-05-01"), body: `{"location":"westeurope"}`, want: 200},
		{key: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/listKeys", path: sa + "mxsa/listKeys" + av("2023-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default", path: sa + "mxsa/blobServices/default" + av("2023-05-01"), want: 200},
		{key: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default", path: sa + "mxsa/blobServices/default" + av("2023-05-01"), body: `{"properties":{"isVersioningEnabled":false}}`, want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/fileServices/default", path: sa + "mxsa/fileServices/default" + av("2023-05-01"), want: 200},
		{key: "PATCH /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}", path: sa + "mxsa" + av("2023-05-01"), body: `{"tags":{"a":"b"}}`, want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers", path: sa + "mxsa/blobServices/default/containers" + av("2023-05-01"), want: 200},
		{key: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}", path: sa + "mxsa/blobServices/default/containers/mxbc" + av("2023-05-01"), want: 200},
		{key: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}", path: sa + "mxsa/blobServices/default/containers/mxbc" + av("2023-05-01"), body: `{}`, want: 200},
		{key: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}", path: sa + "mxsa/blobServices/default/containers/mxbcdel" + av("2023-05-01"), want: 200},
		{key: "POST /subscriptions/{subscriptionId}/providers/Microsoft.Storage/checkNameAvailability", path: sub + "/providers/Microsoft.Storage/checkNameAvailability" + av("2023-05-01"), body: `{"name":"mxsa"}`, want: 200},
		{key: "GET blob:/", host: blobHost, path: "/?comp=list", audience: storageAud, want: 200},
		{key: "GET blob:/{container}", host: blobHost, path: "/mxbc?restype=container&comp=list", audience: storageAud, want: 200},
		{key: "PUT blob:/{container}", host: blobHost, path: "/mxbc?restype=container&comp=metadata", audience: storageAud, want: 200},
		{key: "DELETE blob:/{container}", host: blobHost, path: "/mxdpdel?restype=container", audience: storageAud, want: 202},
		{key: "GET blob:/{container}/{blob...}", host: blobHost, path: "/mxbc/b.txt", audience: storageAud, want: 200},
		{key: "PUT blob:/{container}/{blob...}", host: blobHost, path: "/mxbc/b.txt?comp=metadata", audience: storageAud, want: 200},
		{key: "DELETE blob:/{container}/{blob...}", host: blobHost, path: "/mxbc/gone.txt", audience: storageAud, want: 202},
		{key: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}", path: sa + "mxsadel" + av("2023-05-01"), want: 200},
		{key: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults/{vaultName}", path: rg + "/providers/Microsoft.KeyVault/vaults/mxkv-del" + av("2023-07-01"), want: 200},
		{key: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{agentPoolName}", path: poolPath + "/mxpdel" + av("2024-05-01"), want: 202},
		{key: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HybridCompute/machines/{machineName}", path: rg + "/providers/Microsoft.HybridCompute/machines/mx-m-del" + av("2024-07-10"), want: 200},
		{key: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}", path: rg + "/providers/Microsoft.ContainerService/managedClusters/mxc-del" + av("2024-05-01"), want: 202},
		{key: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", path: sub + "/resourceGroups/mx-del" + av("2021-04-01"), want: 200},
	}

	// Every served route has a case and every case a route.
	routes := map[string]router.Route{}
	for _, r := range servedRoutes(t) {
		routes[r.Key()] = r
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if _, ok := routes[c.key]; !ok {
			t.Errorf("case %q names no served route", c.key)
		}
		seen[c.key] = true
	}
	var missing []string
	for k := range routes {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		t.Errorf("served route %q has no case in the authorization matrix: add one", k)
	}
	if t.Failed() {
		t.FailNow()
	}

	tokens := map[string]string{}
	tok := func(p principal, aud string) string {
		k := p.AppID + aud
		if tokens[k] == "" {
			tokens[k] = w.tokenFor(t, p, aud)
		}
		return tokens[k]
	}
	exact := map[string]principal{}
	for _, c := range cases {
		rt := routes[c.key]
		aud := c.audience
		if aud == "" {
			aud = arm
		}
		t.Run(c.key, func(t *testing.T) {
			if rt.Access.Kind == router.KindPublic {
				st, b := w.raw(t, "", rt.Method, c.host, c.path, c.body)
				if st != c.want {
					t.Fatalf("public route without a token: %d %v, want %d", st, b, c.want)
				}
				return
			}
			if st, b := w.raw(t, "", rt.Method, c.host, c.path, c.body); st != 401 {
				t.Errorf("no token: %d %v, want 401", st, b)
			}
			want := c.noRole
			if want == 0 {
				want = 403
			}
			noRoleBody := c.body
			if c.key == "POST /{scope...}/providers/Microsoft.Authorization/checkAccess" {
				noRoleBody = `{"subject":{"principalId":"` + noroles.ObjectID + `"},"resource":{"id":"` + sub + `"},"actions":[{"id":"Microsoft.Resources/subscriptions/read"}]}`
				want = 200
			}
			bearer := func(p principal) string {
				if c.regScope != "" {
					return w.registryAccessToken(t, c.host, tok(p, "https://containerregistry.azure.net/.default"), c.regScope)
				}
				return tok(p, aud)
			}
			st, b := w.raw(t, bearer(noroles), rt.Method, c.host, c.path, noRoleBody)
			if st != want {
				t.Errorf("principal with no role: %d %v, want %d", st, b, want)
			} else if c.checkNoRoles != nil {
				c.checkNoRoles(t, b)
			}
			// The authorized caller: exactly the declared action, or the
			// admin for routes whose handler authorizes per object.
			caller := adminP
			if rt.Access.Kind == router.KindAction {
				p, ok := exact[rt.Access.Action]
				if !ok {
					p = w.newPrincipal(t, "exact "+rt.Access.Action)
					actions := []string{rt.Access.Action}
					if strings.HasPrefix(rt.Access.Action, "Microsoft.Directory/servicePrincipals/credentials") {
						// The target holds Reader at the subscription.
						actions = append(actions, "Microsoft.Authorization/roleAssignments/write")
					}
					if rt.Access.Data {
						w.grantExactlyData(t, p, "/", actions...)
					} else {
						w.grantExactly(t, p, "/", actions...)
					}
					exact[rt.Access.Action] = p
				}
				caller = p
			}
			body := c.body
			if c.key == "POST /{scope...}/providers/Microsoft.Authorization/checkAccess" {
				body = `{"subject":{"principalId":"` + target.ObjectID + `"},"resource":{"id":"` + sub + `"},"actions":[{"id":"Microsoft.Resources/subscriptions/read"}]}`
			}
			if st, b := w.raw(t, bearer(caller), rt.Method, c.host, c.path, body); st != c.want {
				t.Errorf("authorized caller (%s): %d %v, want %d", rt.Access, st, b, c.want)
			}
		})
	}
}
