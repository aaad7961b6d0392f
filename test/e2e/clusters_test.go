package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func cliJSON(t *testing.T, w *ward, args ...string) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, w, args...)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWorkloadIdentityOnALaptop is seed 001's flow with no Kubernetes: a
// cluster with a hosted OIDC issuer, an identity with a federated credential
// for a service account, and a service-account token from the issuer
// exchanged by the unmodified WorkloadIdentityCredential.
func TestWorkloadIdentityOnALaptop(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "a long end-to-end flow")
	w := startWard(t, "")
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	c := cliJSON(t, w, "aks", "create", "-n", "aks1", "-g", "rg", "--enable-managed-identity", "--enable-oidc-issuer", "--enable-workload-identity")

	id := c["identity"].(map[string]any)
	kubelet := c["identityProfile"].(map[string]any)["kubeletidentity"].(map[string]any)
	issuer := c["oidcIssuerProfile"].(map[string]any)["issuerUrl"].(string)
	if id["type"] != "SystemAssigned" || !guidRE.MatchString(id["principalId"].(string)) || id["tenantId"] != w.admin.TenantID {
		t.Fatalf("identity = %v", id)
	}
	if c["nodeResourceGroup"] != "MC_rg_aks1_westeurope" || !strings.HasSuffix(kubelet["resourceId"].(string), "/resourcegroups/MC_rg_aks1_westeurope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks1-agentpool") ||
		!guidRE.MatchString(kubelet["clientId"].(string)) || !guidRE.MatchString(kubelet["objectId"].(string)) {
		t.Fatalf("kubelet identity = %v, node group %v", kubelet, c["nodeResourceGroup"])
	}
	if !strings.HasPrefix(issuer, w.base+"/oidc/"+w.admin.TenantID+"/") || !strings.HasSuffix(issuer, "/") ||
		c["securityProfile"].(map[string]any)["workloadIdentity"].(map[string]any)["enabled"] != true ||
		c["servicePrincipalProfile"].(map[string]any)["clientId"] != "msi" {
		t.Fatalf("cluster = %v", c)
	}
	if got := strings.TrimSpace(mustCLI(t, w, "aks", "show", "-n", "aks1", "-g", "rg", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv")); got != issuer {
		t.Fatalf("aks show --query oidcIssuerProfile.issuerUrl = %q", got)
	}

	// The issuer is served over HTTPS, publicly.
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, w, issuer+".well-known/openid-configuration", &doc)
	var set jose.JSONWebKeySet
	getJSON(t, w, doc.JWKSURI, &set)
	if doc.Issuer != issuer || len(set.Keys) != 1 {
		t.Fatalf("issuer discovery = %+v, %d keys", doc, len(set.Keys))
	}

	// A token shaped like kube-apiserver's, verified with the published key.
	const subject = "system:serviceaccount:default:workload-sa"
	raw := strings.TrimSpace(mustCLI(t, w, "aks", "get-token", "--cluster", "aks1", "-g", "rg", "--namespace", "default", "--service-account", "workload-sa", "--query", "token", "-o", "tsv"))
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		jwt.Claims
		K8s struct {
			Namespace      string `json:"namespace"`
			ServiceAccount struct {
				Name string `json:"name"`
				UID  string `json:"uid"`
			} `json:"serviceaccount"`
		} `json:"kubernetes.io"`
	}
	if err := tok.Claims(set.Key(tok.Headers[0].KeyID)[0].Key, &claims); err != nil {
		t.Fatalf("service-account token does not verify with the issuer's JWKS: %v", err)
	}
	if claims.Issuer != issuer || claims.Subject != subject || claims.Audience[0] != "api://AzureADTokenExchange" ||
		claims.K8s.Namespace != "default" || claims.K8s.ServiceAccount.Name != "workload-sa" || claims.K8s.ServiceAccount.UID == "" ||
		claims.Expiry.Time().Sub(claims.IssuedAt.Time()) != time.Hour {
		t.Fatalf("claims = %+v", claims)
	}

	// Seed 001: identity, federated credential with the cluster's issuer,
	// then the workload exchanges its token.
	clientID := strings.TrimSpace(mustCLI(t, w, "identity", "create", "-n", "wl-id", "-g", "rg", "--query", "clientId", "-o", "tsv"))
	principalID := strings.TrimSpace(mustCLI(t, w, "identity", "show", "-n", "wl-id", "-g", "rg", "--query", "principalId", "-o", "tsv"))
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "aks1-fic", "--identity-name", "wl-id", "-g", "rg", "--issuer", issuer, "--subject", subject)
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	os.WriteFile(tokenFile, []byte(raw), 0o600)
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: credOptions(w), ClientID: clientID, TenantID: w.admin.TenantID, TokenFilePath: tokenFile, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	at, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	if err != nil {
		t.Fatalf("exchange of a hosted-issuer token: %v", err)
	}
	if got := verify(t, w, at.Token); got["oid"] != principalID {
		t.Fatalf("token oid %v, want the identity's principal %s", got["oid"], principalID)
	}

	// ward run: a program started as the pod would be, with the real
	// DefaultAzureCredential, gets the identity's token.
	prog := filepath.Join(t.TempDir(), "wiprog")
	if out, err := exec.Command("go", "build", "-o", prog, "github.com/ward-id/ward/test/e2e/testdata/wiprog").CombinedOutput(); err != nil {
		t.Fatalf("build wiprog: %v\n%s", err, out)
	}
	run := exec.Command(wardBin, "run", "--data", w.dataDir, "--cluster", "aks1", "-g", "rg", "--service-account", "default/workload-sa", "--", prog)
	run.Env = append(os.Environ(), "AZURE_TOKEN_CREDENTIALS=WorkloadIdentityCredential")
	out, err := run.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != principalID {
		t.Fatalf("ward run: %v\n%s\nwant oid %s", err, out, principalID)
	}

	// Deleting the federated credential refuses the very next exchange
	// (the token service's credential cache is cleared by the write).
	mustCLI(t, w, "identity", "federated-credential", "delete", "--name", "aks1-fic", "--identity-name", "wl-id", "-g", "rg")
	fresh, _ := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: credOptions(w), ClientID: clientID, TenantID: w.admin.TenantID, TokenFilePath: tokenFile, DisableInstanceDiscovery: true})
	if _, err := fresh.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}}); err == nil || !strings.Contains(err.Error(), "AADSTS70021") {
		t.Fatalf("exchange right after the credential was deleted: %v", err)
	}
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "aks1-fic", "--identity-name", "wl-id", "-g", "rg", "--issuer", issuer, "--subject", subject)

	// The system-assigned identity can hold roles (seed 000's flow).
	systemPrincipal := id["principalId"].(string)
	mustCLI(t, w, "role", "assignment", "create", "--assignee-object-id", systemPrincipal, "--role", "Network Contributor", "--scope", "/subscriptions/"+w.admin.SubscriptionID+"/resourceGroups/rg")

	// AKS refusals.
	if _, errOut, code := w.cli("aks", "update", "-n", "aks1", "-g", "rg", "--enable-oidc-issuer=false"); code == 0 || !strings.Contains(errOut, "cannot be disabled") {
		t.Fatalf("disable OIDC issuer: %s", errOut)
	}
	if _, errOut, code := w.cli("aks", "create", "-n", "aks2", "-g", "rg", "--enable-workload-identity"); code == 0 || !strings.Contains(errOut, "OIDC issuer") {
		t.Fatalf("workload identity without issuer: %s", errOut)
	}

	// A second cluster with user-assigned control-plane and kubelet identities.
	mustCLI(t, w, "identity", "create", "-n", "cp-id", "-g", "rg")
	cpID := strings.TrimSpace(mustCLI(t, w, "identity", "show", "-n", "cp-id", "-g", "rg", "--query", "id", "-o", "tsv"))
	mustCLI(t, w, "identity", "create", "-n", "kubelet-id", "-g", "rg")
	kID := strings.TrimSpace(mustCLI(t, w, "identity", "show", "-n", "kubelet-id", "-g", "rg", "--query", "id", "-o", "tsv"))
	c2 := cliJSON(t, w, "aks", "create", "-n", "aks2", "-g", "rg", "--enable-managed-identity", "--assign-identity", cpID, "--assign-kubelet-identity", kID)
	if c2["identity"].(map[string]any)["type"] != "UserAssigned" || c2["identityProfile"].(map[string]any)["kubeletidentity"].(map[string]any)["resourceId"] != kID {
		t.Fatalf("user-assigned cluster = %v", c2)
	}

	// Deleting: the system-assigned identity, its role assignments, the node
	// group and the generated kubelet identity go; given identities stay.
	mustCLI(t, w, "aks", "delete", "-n", "aks1", "-g", "rg", "--yes")
	if _, _, code := w.cli("ad", "sp", "show", "--id", systemPrincipal); code == 0 {
		t.Fatal("system-assigned identity survived its cluster")
	}
	if out := mustCLI(t, w, "role", "assignment", "list", "--all", "--query", "[?principalId=='"+systemPrincipal+"']", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("role assignments of the deleted identity: %s", out)
	}
	if _, _, code := w.cli("group", "show", "-n", "MC_rg_aks1_westeurope"); code == 0 {
		t.Fatal("node resource group survived its cluster")
	}
	mustCLI(t, w, "aks", "delete", "-n", "aks2", "-g", "rg", "--yes")
	mustCLI(t, w, "identity", "show", "-n", "kubelet-id", "-g", "rg")
	mustCLI(t, w, "identity", "show", "-n", "cp-id", "-g", "rg")
	// The issuer of a deleted cluster is gone.
	resp, err := w.http.Get(issuer + ".well-known/openid-configuration")
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("issuer of a deleted cluster: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
}
