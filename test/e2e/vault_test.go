package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/uuid"
)

// hostsClient resolves every host name to the server, as an /etc/hosts
// entry "127.0.0.1 team-kv.vault.localhost" would; Go does not resolve
// *.localhost by itself.
func (w *ward) hostsClient() *http.Client {
	tr := w.http.Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, w.addr)
	}
	tr.TLSClientConfig = tr.TLSClientConfig.Clone()
	tr.TLSClientConfig.MinVersion = tls.VersionTLS12
	return &http.Client{Transport: tr}
}

func TestKeyVaultWithWorkloadIdentity(t *testing.T) {
	t.Parallel()
	is := newOIDCIssuer(t)
	w := startWard(t, "", "--issuer-ca-file", is.caFile)
	ctx := context.Background()
	const subject = "system:serviceaccount:default:workload-sa"
	clientID := setupWorkload(t, w, is, subject)

	// The vault, through ARM.
	status, body, _ := w.request("PUT", "/subscriptions/"+w.admin.SubscriptionID+"/resourceGroups/wl/providers/Microsoft.KeyVault/vaults/team-kv?api-version=2023-07-01",
		`{"location":"westeurope","properties":{"tenantId":"`+w.admin.TenantID+`","sku":{"family":"A","name":"standard"}}}`)
	if status != 201 {
		t.Fatalf("create vault: %d %v", status, body)
	}
	props := body["properties"].(map[string]any)
	vaultURI := props["vaultUri"].(string)
	_, port, _ := net.SplitHostPort(w.addr)
	if vaultURI != "https://team-kv.vault.localhost:"+port+"/" || props["enableRbacAuthorization"] != true {
		t.Fatalf("vault = %v", props)
	}
	hc := w.hostsClient()
	opts := func() *azsecrets.ClientOptions {
		return &azsecrets.ClientOptions{ClientOptions: policy.ClientOptions{Transport: hc}} // challenge resource verification stays on
	}
	adminCred, _ := azidentity.NewClientSecretCredential(w.admin.TenantID, w.admin.ClientID, w.admin.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: hc}, DisableInstanceDiscovery: true})
	adminKV, err := azsecrets.NewClient(vaultURI, adminCred, opts())
	if err != nil {
		t.Fatal(err)
	}
	// The admin is Key Vault Secrets Officer at /: it writes.
	set, err := adminKV.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("s3cr3t"), ContentType: to.Ptr("text/plain")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.ID == nil || len(set.ID.Version()) != 32 {
		t.Fatalf("secret id = %v", set.ID)
	}

	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(is.saToken(t, subject)), 0o600)
	wl, _ := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: hc}, ClientID: clientID, TenantID: w.admin.TenantID,
		TokenFilePath: tokenFile, DisableInstanceDiscovery: true})
	wlKV, _ := azsecrets.NewClient(vaultURI, wl, opts())
	forbidden := func(err error) bool {
		var re *azcore.ResponseError
		if !errorsAs(err, &re) || re.StatusCode != 403 {
			return false
		}
		var kv struct {
			Error struct {
				Code       string
				InnerError struct{ Code string } `json:"innererror"`
			}
		}
		json.NewDecoder(re.RawResponse.Body).Decode(&kv)
		return kv.Error.Code == "Forbidden" && kv.Error.InnerError.Code == "ForbiddenByRbac"
	}
	if _, err := wlKV.GetSecret(ctx, "db-password", "", nil); !forbidden(err) {
		t.Fatalf("workload without a role: %v", err)
	}

	// Key Vault Secrets User on this vault: the next request reads it.
	var principalID string
	_, idBody, _ := w.request("GET", "/subscriptions/"+w.admin.SubscriptionID+"/resourceGroups/wl/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id?api-version=2024-11-30", "")
	principalID = idBody["properties"].(map[string]any)["principalId"].(string)
	vaultScope := "/subscriptions/" + w.admin.SubscriptionID + "/resourceGroups/wl/providers/Microsoft.KeyVault/vaults/team-kv"
	assignments, _ := armauthorization.NewRoleAssignmentsClient(w.admin.SubscriptionID, w.adminCredential(), w.armOptions())
	name := uuid.NewString()
	if _, err := assignments.Create(ctx, vaultScope, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: to.Ptr(principalID), RoleDefinitionID: to.Ptr("/subscriptions/" + w.admin.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"),
		PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)}}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := wlKV.GetSecret(ctx, "db-password", "", nil)
	if err != nil || *got.Value != "s3cr3t" {
		t.Fatalf("workload with Key Vault Secrets User: %v", err)
	}
	// Secrets User reads but does not write.
	if _, err := wlKV.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil); !forbidden(err) {
		t.Fatalf("Secrets User wrote a secret: %v", err)
	}
	// Revoked: the next read is refused.
	if _, err := assignments.Delete(ctx, vaultScope, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := wlKV.GetSecret(ctx, "db-password", "", nil); !forbidden(err) {
		t.Fatalf("after revocation: %v", err)
	}

	// Owner at / without a data role does not read secrets, as in Azure.
	out := mustCLI(t, w, "ad", "sp", "create-for-rbac", "-n", "owner", "--role", "Owner", "--scopes", "/")
	var sp struct{ AppID, Password string }
	json.Unmarshal([]byte(out), &sp)
	ownerCred, _ := azidentity.NewClientSecretCredential(w.admin.TenantID, sp.AppID, sp.Password,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: hc}, DisableInstanceDiscovery: true})
	ownerKV, _ := azsecrets.NewClient(vaultURI, ownerCred, opts())
	if _, err := ownerKV.GetSecret(ctx, "db-password", "", nil); !forbidden(err) {
		t.Fatalf("Owner read a secret: %v", err)
	}

	// The admin lists and deletes.
	pager := adminKV.NewListSecretPropertiesPager(nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 1 || !strings.HasSuffix(string(*page.Value[0].ID), "/secrets/db-password") {
		t.Fatalf("list: %v", err)
	}
	if _, err := adminKV.DeleteSecret(ctx, "db-password", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := adminKV.GetSecret(ctx, "db-password", "", nil); err == nil || !strings.Contains(err.Error(), "SecretNotFound") {
		t.Fatalf("deleted secret: %v", err)
	}
}

// TestVaultDeletionIsImmediate: the data plane caches vaults, yet a vault
// deleted through ARM, directly or with its resource group, is gone on the
// next request (VaultNotFound), and one created again serves at once.
func TestVaultDeletionIsImmediate(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	rg := sub + "/resourceGroups/kvdel"
	vaultPath := rg + "/providers/Microsoft.KeyVault/vaults/kvdel1?api-version=2023-07-01"
	_, port, _ := net.SplitHostPort(w.addr)
	host := "kvdel1.vault.localhost:" + port
	tok := w.tokenFor(t, principal{AppID: w.admin.ClientID, Secret: w.admin.ClientSecret}, "https://vault.azure.net/.default")
	create := func() {
		t.Helper()
		if st, body, _ := w.request("PUT", rg+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 200 && st != 201 {
			t.Fatalf("group: %d %v", st, body)
		}
		if st, body, _ := w.request("PUT", vaultPath, `{"location":"westeurope","properties":{"tenantId":"`+w.admin.TenantID+`","sku":{"family":"A","name":"standard"}}}`); st != 201 {
			t.Fatalf("create vault: %d %v", st, body)
		}
		if st, body := w.raw(t, tok, "PUT", host, "/secrets/s?api-version=7.4", `{"value":"v"}`); st != 200 {
			t.Fatalf("set secret: %d %v", st, body)
		}
		for i := 0; i < 3; i++ { // served, and cached
			if st, body := w.raw(t, tok, "GET", host, "/secrets/s?api-version=7.4", ""); st != 200 {
				t.Fatalf("get secret: %d %v", st, body)
			}
		}
	}
	gone := func(after string) {
		t.Helper()
		st, body := w.raw(t, tok, "GET", host, "/secrets/s?api-version=7.4", "")
		if e, _ := body["error"].(map[string]any); st != 404 || e["code"] != "VaultNotFound" {
			t.Fatalf("secret read right after %s: %d %v", after, st, body)
		}
	}
	create()
	if st, body, _ := w.request("DELETE", vaultPath, ""); st != 200 {
		t.Fatalf("delete vault: %d %v", st, body)
	}
	gone("the vault's deletion")
	create()
	if st, body, _ := w.request("DELETE", rg+"?api-version=2021-04-01", ""); st != 200 && st != 202 {
		t.Fatalf("delete group: %d %v", st, body)
	}
	gone("its resource group's deletion")
}
