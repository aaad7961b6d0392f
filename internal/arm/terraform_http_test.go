package arm_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

// The answers Terraform's azurerm provider (through go-azure-sdk) needs,
// request by request as ../shared/reference/terraform.md lists them.

// TestClusterDeleteIsLongRunning: go-azure-sdk takes only 202 with a
// polling header, or 204, from DELETE managedClusters/{name}; it then polls
// Azure-AsyncOperation (status Succeeded) or Location (204).
func TestClusterDeleteIsLongRunning(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	if _, _, err := s.Client.CreateOrUpdateGroup(context.Background(), s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	c := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"
	const v = "?api-version=2025-02-01"
	if resp, b := s.Do(t, "PUT", c+v, tok, strings.NewReader(`{"location":"westeurope"}`)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT = %d %s", resp.StatusCode, b)
	}
	resp, b := s.Do(t, "DELETE", c+v, tok, nil)
	if resp.StatusCode != http.StatusAccepted || len(b) != 0 {
		t.Fatalf("DELETE = %d %q, want 202 without a body", resp.StatusCode, b)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "0" {
		t.Errorf("Retry-After = %q, want 0", ra)
	}
	poll := func(header string) (*http.Response, []byte) {
		t.Helper()
		u, err := url.Parse(resp.Header.Get(header))
		if err != nil || !strings.HasPrefix(u.String(), s.URL+"/subscriptions/"+s.Admin.SubscriptionID+"/providers/Microsoft.ContainerService/locations/westeurope/") {
			t.Fatalf("%s = %q, want a URL under the subscription's ContainerService location", header, resp.Header.Get(header))
		}
		return s.Do(t, "GET", u.RequestURI(), tok, nil)
	}
	if r, b := poll("Azure-AsyncOperation"); r.StatusCode != http.StatusOK || !strings.Contains(string(b), `"status":"Succeeded"`) {
		t.Fatalf("GET Azure-AsyncOperation = %d %s, want 200 status Succeeded", r.StatusCode, b)
	}
	if r, b := poll("Location"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("GET Location = %d %s, want 204", r.StatusCode, b)
	}
	if r, b := s.Do(t, "GET", c+v, tok, nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("GET after delete = %d %s, want 404", r.StatusCode, b)
	}
	ops := "/subscriptions/" + s.Admin.SubscriptionID + "/providers/Microsoft.ContainerService/locations/westeurope/operations/"
	other := base64.RawURLEncoding.EncodeToString([]byte("1|/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"))
	s.RunCases(t, []servertest.Case{
		{Name: "deleted again", Method: "DELETE", Path: c + v, Token: tok, Status: http.StatusNoContent},
		{Name: "an operation Ward did not hand out", Method: "GET", Path: ops + "nope" + v, Token: tok, Status: http.StatusNotFound, Code: "OperationNotFound"},
		{Name: "another subscription's operation", Method: "GET", Path: ops + other + v, Token: tok, Status: http.StatusNotFound, Code: "OperationNotFound"},
		{Name: "operation without api-version", Method: "GET", Path: ops + "nope", Token: tok, Status: http.StatusBadRequest, Code: "MissingApiVersionParameter"},
		{Name: "operation anonymous", Method: "GET", Path: ops + "nope" + v, Status: http.StatusUnauthorized},
	})
}

// TestClusterCredentials: azurerm lists a cluster's user credentials on
// every read, and decodes {"kubeconfigs":[{"name","value"}]}.
func TestClusterCredentials(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	if _, _, err := s.Client.CreateOrUpdateGroup(context.Background(), s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	c := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"
	const v = "?api-version=2025-02-01"
	if resp, b := s.Do(t, "PUT", c+v, tok, strings.NewReader(`{"location":"westeurope","properties":{"dnsPrefix":"c1-dns"}}`)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT = %d %s", resp.StatusCode, b)
	}
	for op, name := range map[string]string{"listClusterUserCredential": "clusterUser", "listClusterAdminCredential": "clusterAdmin", "listClusterMonitoringUserCredential": "clusterMonitoringUser"} {
		resp, b := s.Do(t, "POST", c+"/"+op+v, tok, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s = %d %s", op, resp.StatusCode, b)
		}
		var got struct {
			Kubeconfigs []struct{ Name, Value string } `json:"kubeconfigs"`
		}
		if err := json.Unmarshal(b, &got); err != nil || len(got.Kubeconfigs) != 1 || got.Kubeconfigs[0].Name != name {
			t.Fatalf("POST %s = %s (%v), want one kubeconfig named %s", op, b, err, name)
		}
		kc, err := base64.StdEncoding.DecodeString(got.Kubeconfigs[0].Value)
		if err != nil {
			t.Fatalf("%s: value is not base64: %v", op, err)
		}
		for _, want := range []string{"kind: Config", "server: https://c1-dns.westeurope.ward.invalid:443", "name: " + name + "_rg_c1", "not its Kubernetes"} {
			if !strings.Contains(string(kc), want) {
				t.Errorf("%s kubeconfig lacks %q:\n%s", op, want, kc)
			}
		}
	}
	s.RunCases(t, []servertest.Case{
		{Name: "absent cluster", Method: "POST", Path: strings.TrimSuffix(c, "c1") + "nope/listClusterUserCredential" + v, Token: tok, Status: http.StatusNotFound, Code: "ResourceNotFound"},
		{Name: "anonymous", Method: "POST", Path: c + "/listClusterUserCredential" + v, Status: http.StatusUnauthorized},
	})
}

// TestDeletedVaults: before creating a vault azurerm reads the deleted
// vault of its name (must be 404), and after destroying one it purges it
// (200 or 202).
func TestDeletedVaults(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	if _, _, err := s.Client.CreateOrUpdateGroup(context.Background(), s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	sub := "/subscriptions/" + s.Admin.SubscriptionID
	vault := sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/tfvault1"
	deleted := sub + "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/tfvault1"
	const v = "?api-version=2023-07-01"
	s.RunCases(t, []servertest.Case{
		{Name: "no deleted vault before create", Method: "GET", Path: deleted + v, Token: tok, Status: http.StatusNotFound, Code: "ResourceNotFound"},
		{Name: "vault created", Method: "PUT", Path: vault + v, Token: tok, Body: `{"location":"westeurope","properties":{"tenantId":"` + s.Admin.TenantID + `","sku":{"family":"A","name":"standard"}}}`, Status: http.StatusCreated},
		{Name: "a live vault is no deleted vault", Method: "GET", Path: deleted + v, Token: tok, Status: http.StatusNotFound, Code: "ResourceNotFound"},
		{Name: "a live vault is not purged", Method: "POST", Path: deleted + "/purge" + v, Token: tok, Status: http.StatusNotFound, Code: "ResourceNotFound"},
		{Name: "vault still there", Method: "GET", Path: vault + v, Token: tok, Status: http.StatusOK},
		{Name: "vault deleted", Method: "DELETE", Path: vault + v, Token: tok, Status: http.StatusOK},
		{Name: "purged after delete", Method: "POST", Path: deleted + "/purge" + v, Token: tok, Status: http.StatusAccepted},
		{Name: "no deleted vault after purge", Method: "GET", Path: deleted + v, Token: tok, Status: http.StatusNotFound, Code: "ResourceNotFound"},
		{Name: "deleted vaults list empty", Method: "GET", Path: sub + "/providers/Microsoft.KeyVault/deletedVaults" + v, Token: tok, Status: http.StatusOK, Contains: `"value":[]`},
		{Name: "purge without api-version", Method: "POST", Path: deleted + "/purge", Token: tok, Status: http.StatusBadRequest, Code: "MissingApiVersionParameter"},
		{Name: "purge anonymous", Method: "POST", Path: deleted + "/purge" + v, Status: http.StatusUnauthorized},
	})
}

// TestGenericResourceLists: azurerm lists a group's resources before
// deleting the group, and finds a vault by URI through the subscription's
// resources filtered on resourceType (api-version 2015-11-01).
func TestGenericResourceLists(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	ctx := context.Background()
	for _, g := range []string{"rg", "other", "empty"} {
		if _, _, err := s.Client.CreateOrUpdateGroup(ctx, s.Admin.SubscriptionID, g, "westeurope", nil); err != nil {
			t.Fatal(err)
		}
	}
	sub := "/subscriptions/" + s.Admin.SubscriptionID
	put := func(path, body string) {
		t.Helper()
		want := http.StatusCreated
		if strings.Contains(path, "/storageAccounts/") {
			want = http.StatusOK // Azure's synchronous create: storage clients take 200 or 202 only
		}
		if resp, b := s.Do(t, "PUT", path, tok, strings.NewReader(body)); resp.StatusCode != want {
			t.Fatalf("PUT %s = %d %s", path, resp.StatusCode, b)
		}
	}
	put(sub+"/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1?api-version=2023-01-31", `{"location":"westeurope","tags":{"team":"a"}}`)
	put(sub+"/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1/federatedIdentityCredentials/fic1?api-version=2023-01-31",
		`{"properties":{"issuer":"https://issuer.example.com","subject":"s","audiences":["api://AzureADTokenExchange"]}}`)
	put(sub+"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/tfkv1?api-version=2023-07-01", `{"location":"westeurope","properties":{"tenantId":"`+s.Admin.TenantID+`","sku":{"family":"A","name":"standard"}}}`)
	put(sub+"/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2025-02-01", `{"location":"westeurope"}`)
	put(sub+"/resourceGroups/other/providers/Microsoft.KeyVault/vaults/tfkv2?api-version=2023-07-01", `{"location":"northeurope","properties":{"tenantId":"`+s.Admin.TenantID+`","sku":{"family":"A","name":"standard"}}}`)
	put(sub+"/resourceGroups/other/providers/Microsoft.HybridCompute/machines/m1?api-version=2024-07-10", `{"location":"westeurope"}`)
	put(sub+"/resourceGroups/other/providers/Microsoft.ContainerRegistry/registries/tfacr1?api-version=2023-07-01", `{"location":"westeurope","sku":{"name":"Basic"}}`)
	put(sub+"/resourceGroups/other/providers/Microsoft.Storage/storageAccounts/tfsa1?api-version=2023-05-01", `{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}`)

	list := func(t *testing.T, path string) []map[string]any {
		t.Helper()
		resp, b := s.Do(t, "GET", path, tok, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
		}
		var got struct{ Value []map[string]any }
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		return got.Value
	}
	names := func(items []map[string]any) string {
		var out []string
		for _, it := range items {
			out = append(out, it["type"].(string)+"/"+it["name"].(string))
		}
		return strings.Join(out, " ")
	}
	filter := func(f string) string { return "&$filter=" + url.QueryEscape(f) }
	for _, tc := range []struct{ name, path, want string }{
		{"a group's resources, no child resources", sub + "/resourceGroups/rg/resources?api-version=2021-04-01",
			"Microsoft.ContainerService/managedClusters/c1 Microsoft.KeyVault/vaults/tfkv1 Microsoft.ManagedIdentity/userAssignedIdentities/id1"},
		{"an empty group", sub + "/resourceGroups/empty/resources?api-version=2021-04-01", ""},
		{"a subscription's vaults, as azurerm asks", sub + "/resources?api-version=2015-11-01" + filter("resourceType eq 'Microsoft.KeyVault/vaults'"),
			"Microsoft.KeyVault/vaults/tfkv2 Microsoft.KeyVault/vaults/tfkv1"},
		{"type in another case", sub + "/resources?api-version=2015-11-01" + filter("resourceType eq 'microsoft.keyvault/VAULTS'"),
			"Microsoft.KeyVault/vaults/tfkv2 Microsoft.KeyVault/vaults/tfkv1"},
		{"type and name", sub + "/resources?api-version=2025-04-01" + filter("resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'tfkv2'"), "Microsoft.KeyVault/vaults/tfkv2"},
		{"by location", sub + "/resources?api-version=2025-04-01" + filter("location eq 'northeurope'"), "Microsoft.KeyVault/vaults/tfkv2"},
		// Sorted by ID; the cluster's kubelet identity is in its node group.
		{"a whole subscription", sub + "/resources?api-version=2021-04-01",
			"Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool Microsoft.ContainerRegistry/registries/tfacr1 Microsoft.HybridCompute/machines/m1 Microsoft.KeyVault/vaults/tfkv2 Microsoft.Storage/storageAccounts/tfsa1 " +
				"Microsoft.ContainerService/managedClusters/c1 Microsoft.KeyVault/vaults/tfkv1 Microsoft.ManagedIdentity/userAssignedIdentities/id1"},
		{"by group", sub + "/resources?api-version=2021-04-01" + filter("resourceGroup eq 'OTHER'"),
			"Microsoft.ContainerRegistry/registries/tfacr1 Microsoft.HybridCompute/machines/m1 Microsoft.KeyVault/vaults/tfkv2 Microsoft.Storage/storageAccounts/tfsa1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(list(t, tc.path)); got != tc.want {
				t.Fatalf("GET %s = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
	if got := list(t, sub+"/resourceGroups/rg/resources?api-version=2021-04-01"); len(got) == 0 || got[2]["location"] != "westeurope" ||
		got[2]["id"] != sub+"/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1" || got[2]["tags"].(map[string]any)["team"] != "a" {
		t.Fatalf("identity as a generic resource = %v", got)
	}
	s.RunCases(t, []servertest.Case{
		{Name: "absent group", Method: "GET", Path: sub + "/resourceGroups/nope/resources?api-version=2021-04-01", Token: tok, Status: http.StatusNotFound, Code: "ResourceGroupNotFound"},
		{Name: "a filter Ward does not answer", Method: "GET", Path: sub + "/resources?api-version=2021-04-01" + filter("substringof('kv', name)"), Token: tok, Status: http.StatusBadRequest, Code: "InvalidFilterInQueryString"},
		{Name: "no api-version", Method: "GET", Path: sub + "/resources", Token: tok, Status: http.StatusBadRequest, Code: "MissingApiVersionParameter"},
		{Name: "anonymous", Method: "GET", Path: sub + "/resources?api-version=2021-04-01", Status: http.StatusUnauthorized},
	})
}

// TestClusterEchoesWhatWasSent: a GET of a cluster reproduces every
// property of the PUT, even those Ward does not act on, so a Terraform
// plan shows no drift; secrets are not echoed.
func TestClusterEchoesWhatWasSent(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	if _, _, err := s.Client.CreateOrUpdateGroup(context.Background(), s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	rg := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg"
	idPath := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/tf-cp"
	if resp, b := s.Do(t, "PUT", idPath+"?api-version=2023-01-31", tok, strings.NewReader(`{"location":"westeurope"}`)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("identity: %d %s", resp.StatusCode, b)
	}
	c := rg + "/providers/Microsoft.ContainerService/managedClusters/tf1"
	const v = "?api-version=2025-02-01"
	// The body azurerm sends for a small azurerm_kubernetes_cluster.
	sent := `{"location":"westeurope","tags":{"env":"test"},
		"identity":{"type":"UserAssigned","userAssignedIdentities":{"` + idPath + `":{}}},
		"sku":{"name":"Base","tier":"Standard"},
		"properties":{"dnsPrefix":"tf1","enableRBAC":true,"disableLocalAccounts":false,
			"agentPoolProfiles":[{"name":"default","count":2,"vmSize":"Standard_D2_v2","mode":"System","type":"VirtualMachineScaleSets","osDiskSizeGB":128,"maxPods":110,
				"enableAutoScaling":false,"nodeLabels":{},"tags":{},"upgradeSettings":{"maxSurge":"10%"}}],
			"addonProfiles":{"azurepolicy":{"enabled":false},"omsagent":{"enabled":false}},
			"apiServerAccessProfile":{"enablePrivateCluster":false,"authorizedIPRanges":[]},
			"autoUpgradeProfile":{"upgradeChannel":"none","nodeOSUpgradeChannel":"NodeImage"},
			"azureMonitorProfile":{"metrics":{"enabled":false}},
			"networkProfile":{"networkPlugin":"kubenet","loadBalancerSku":"standard","outboundType":"loadBalancer","serviceCidr":"10.0.0.0/16","dnsServiceIP":"10.0.0.10"},
			"oidcIssuerProfile":{"enabled":true},"securityProfile":{"workloadIdentity":{"enabled":true}},
			"windowsProfile":{"adminUsername":"azureuser","adminPassword":"Sup3r-secret!"}}}`
	resp, b := s.Do(t, "PUT", c+v, tok, strings.NewReader(sent))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT = %d %s", resp.StatusCode, b)
	}
	check := func(t *testing.T, what string, body []byte) {
		t.Helper()
		var want, got map[string]any
		if err := json.Unmarshal([]byte(sent), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: %v %s", what, err, body)
		}
		delete(want["properties"].(map[string]any)["windowsProfile"].(map[string]any), "adminPassword")
		for _, d := range diffSent("", want, got) {
			t.Errorf("%s: %s", what, d)
		}
		if strings.Contains(string(body), "Sup3r-secret") {
			t.Errorf("%s echoes the admin password: %s", what, body)
		}
		// Ward's own answers are still there.
		for _, must := range []string{`"issuerURL":"` + s.URL, `"provisioningState":"Succeeded"`, `"kubeletidentity"`} {
			if !strings.Contains(string(body), must) {
				t.Errorf("%s lacks %s: %s", what, must, body)
			}
		}
	}
	check(t, "PUT answer", b)
	_, b = s.Do(t, "GET", c+v, tok, nil)
	check(t, "GET", b)
	_, b = s.Do(t, "GET", rg+"/providers/Microsoft.ContainerService/managedClusters"+v, tok, nil)
	var l struct{ Value []json.RawMessage }
	if err := json.Unmarshal(b, &l); err != nil || len(l.Value) != 1 {
		t.Fatalf("list: %v %s", err, b)
	}
	check(t, "list", l.Value[0])

	// An update that leaves a property out keeps it (as Ward keeps every
	// modelled one); null removes it.
	resp, b = s.Do(t, "PUT", c+v, tok, strings.NewReader(`{"properties":{"autoUpgradeProfile":{"upgradeChannel":"stable"},"addonProfiles":null}}`))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"upgradeChannel":"stable"`) || strings.Contains(string(b), "azurepolicy") ||
		!strings.Contains(string(b), `"azureMonitorProfile":{"metrics":{"enabled":false}}`) {
		t.Fatalf("update = %d %s", resp.StatusCode, b)
	}
	if resp, b := s.Do(t, "PUT", c+v, tok, strings.NewReader(`{"properties":{"addonProfiles":{"x":"`+strings.Repeat("a", 70<<10)+`"}}}`)); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("an oversized body = %d %.200s, want 400", resp.StatusCode, b)
	}
	// Updates that each fit but together outgrow what Ward stores.
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusBadRequest} {
		body := fmt.Sprintf(`{"properties":{"extra%d":"%s"}}`, i, strings.Repeat("a", 50<<10))
		if resp, b := s.Do(t, "PUT", c+v, tok, strings.NewReader(body)); resp.StatusCode != want {
			t.Fatalf("growing update %d = %d %.200s, want %d", i, resp.StatusCode, b, want)
		}
	}
}

// diffSent lists where got lacks or changes a value of sent.
func diffSent(path string, sent, got any) []string {
	switch s := sent.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s = %v, want an object", path, got)}
		}
		var out []string
		for k, v := range s {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s missing (sent %v)", path, k, v))
				continue
			}
			out = append(out, diffSent(path+"."+k, v, gv)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(s) {
			return []string{fmt.Sprintf("%s = %v, want %v", path, got, sent)}
		}
		var out []string
		for i := range s {
			out = append(out, diffSent(fmt.Sprintf("%s[%d]", path, i), s[i], g[i])...)
		}
		return out
	}
	if fmt.Sprint(sent) != fmt.Sprint(got) {
		return []string{fmt.Sprintf("%s = %v, want %v", path, got, sent)}
	}
	return nil
}

// TestVaultEchoesWhatWasSent: a vault answers with the properties azurerm
// sends (createMode, soft-delete settings, publicNetworkAccess as sent).
func TestVaultEchoesWhatWasSent(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	if _, _, err := s.Client.CreateOrUpdateGroup(context.Background(), s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	vault := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/tfkv-echo"
	const v = "?api-version=2023-07-01"
	sent := `{"location":"westeurope","tags":{"env":"test"},"properties":{"tenantId":"` + s.Admin.TenantID + `","sku":{"family":"A","name":"standard"},
		"createMode":"default","enableSoftDelete":true,"softDeleteRetentionInDays":7,"enablePurgeProtection":false,
		"enabledForDeployment":false,"enabledForDiskEncryption":false,"enabledForTemplateDeployment":false,
		"enableRbacAuthorization":true,"publicNetworkAccess":"Disabled","networkAcls":{"bypass":"AzureServices","defaultAction":"Deny","ipRules":[],"virtualNetworkRules":[]}}}`
	for _, step := range []struct {
		method string
		want   int
	}{{"PUT", http.StatusCreated}, {"GET", http.StatusOK}} {
		var body io.Reader
		if step.method == "PUT" {
			body = strings.NewReader(sent)
		}
		resp, b := s.Do(t, step.method, vault+v, tok, body)
		if resp.StatusCode != step.want {
			t.Fatalf("%s = %d %s", step.method, resp.StatusCode, b)
		}
		var want, got map[string]any
		_ = json.Unmarshal([]byte(sent), &want)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		for _, d := range diffSent("", want, got) {
			t.Errorf("%s: %s", step.method, d)
		}
		if !strings.Contains(string(b), `"vaultUri":"https://tfkv-echo.`) {
			t.Errorf("%s lacks Ward's vaultUri: %s", step.method, b)
		}
	}
	// A PUT replaces what was declared, as ARM's PUT does.
	resp, b := s.Do(t, "PUT", vault+v, tok, strings.NewReader(`{"location":"westeurope","properties":{"tenantId":"`+s.Admin.TenantID+`","sku":{"family":"A","name":"standard"}}}`))
	if resp.StatusCode != http.StatusOK || strings.Contains(string(b), "createMode") || !strings.Contains(string(b), `"publicNetworkAccess":"Enabled"`) {
		t.Fatalf("PUT without them = %d %s", resp.StatusCode, b)
	}
}

// TestRoleAssignmentEchoes: a role assignment reads back its description
// and principal type; a condition, which Ward does not evaluate, is
// refused rather than stored and ignored.
func TestRoleAssignmentEchoes(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	if _, _, err := s.Client.CreateOrUpdateGroup(context.Background(), s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	rg := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg"
	resp, b := s.Do(t, "PUT", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/tf-app?api-version=2023-01-31", tok, strings.NewReader(`{"location":"westeurope"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("identity: %d %s", resp.StatusCode, b)
	}
	var id struct{ Properties struct{ PrincipalID string } }
	if err := json.Unmarshal(b, &id); err != nil {
		t.Fatal(err)
	}
	const reader = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
	body := func(extra string) string {
		return `{"properties":{"roleDefinitionId":"` + rg + reader + `","principalId":"` + id.Properties.PrincipalID + `","principalType":"ServicePrincipal","description":"read the group"` + extra + `}}`
	}
	ra := rg + "/providers/Microsoft.Authorization/roleAssignments/"
	const v = "?api-version=2022-04-01"
	s.RunCases(t, []servertest.Case{
		{Name: "with a condition", Method: "PUT", Path: ra + "0b3c3d9e-1b8a-4e52-9b7e-1d1f4f0a6c01" + v, Token: tok,
			Body: body(`,"condition":"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs'","conditionVersion":"2.0"`), Status: http.StatusBadRequest, Code: "InvalidRequestContent"},
		{Name: "with a delegated identity", Method: "PUT", Path: ra + "0b3c3d9e-1b8a-4e52-9b7e-1d1f4f0a6c01" + v, Token: tok,
			Body: body(`,"delegatedManagedIdentityResourceId":"` + rg + `/providers/Microsoft.ManagedIdentity/userAssignedIdentities/tf-app"`), Status: http.StatusBadRequest, Code: "InvalidRequestContent"},
		{Name: "a principal type that is not the principal's", Method: "PUT", Path: ra + "0b3c3d9e-1b8a-4e52-9b7e-1d1f4f0a6c01" + v, Token: tok,
			Body: strings.Replace(body(""), `"principalType":"ServicePrincipal"`, `"principalType":"User"`, 1), Status: http.StatusBadRequest, Code: "UnmatchedPrincipalType"},
		{Name: "created", Method: "PUT", Path: ra + "0b3c3d9e-1b8a-4e52-9b7e-1d1f4f0a6c01" + v, Token: tok, Body: body(`,"condition":null,"conditionVersion":null`), Status: http.StatusCreated,
			Contains: `"description":"read the group"`},
		{Name: "read back", Method: "GET", Path: ra + "0b3c3d9e-1b8a-4e52-9b7e-1d1f4f0a6c01" + v, Token: tok, Status: http.StatusOK, Contains: `"description":"read the group"`},
	})
}
