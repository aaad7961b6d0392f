package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// TestARMSDKGenericResources drives the ARM surfaces Terraform's azurerm
// needs (../shared/reference/terraform.md) with Azure's Go SDK: the
// generic resource lists (by group, by subscription with a resourceType
// $filter) and a cluster deleted through the SDK's long-running-operation
// poller (202, then Azure-AsyncOperation until Succeeded). The azurerm
// provider itself (go-azure-sdk) is not run here.
func TestARMSDKGenericResources(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	ctx := context.Background()
	c, err := armresources.NewClient(w.admin.SubscriptionID, w.adminCredential(), w.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	sub := "/subscriptions/" + w.admin.SubscriptionID
	rg := sub + "/resourceGroups/rg-tf"
	for _, p := range []struct{ path, body string }{
		{rg + "?api-version=2021-04-01", `{"location":"westeurope"}`},
		{rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/tf-id?api-version=2023-01-31", `{"location":"westeurope"}`},
		{rg + "/providers/Microsoft.KeyVault/vaults/tfkv-sdk?api-version=2023-07-01", `{"location":"westeurope","properties":{"tenantId":"` + w.admin.TenantID + `","sku":{"family":"A","name":"standard"}}}`},
		{rg + "/providers/Microsoft.ContainerService/managedClusters/tf-aks?api-version=2025-02-01", `{"location":"westeurope"}`},
	} {
		if st, b, _ := w.request("PUT", p.path, p.body); st != 200 && st != 201 {
			t.Fatalf("PUT %s: %d %v", p.path, st, b)
		}
	}
	names := func(ids []*armresources.GenericResourceExpanded) string {
		var out []string
		for _, r := range ids {
			out = append(out, *r.Type+"/"+*r.Name)
		}
		return strings.Join(out, " ")
	}
	var inGroup []*armresources.GenericResourceExpanded
	for pager := c.NewListByResourceGroupPager("rg-tf", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list by group: %v", err)
		}
		inGroup = append(inGroup, page.Value...)
	}
	if got, want := names(inGroup), "Microsoft.ContainerService/managedClusters/tf-aks Microsoft.KeyVault/vaults/tfkv-sdk Microsoft.ManagedIdentity/userAssignedIdentities/tf-id"; got != want {
		t.Fatalf("list by group = %q, want %q", got, want)
	}
	var vaults []*armresources.GenericResourceExpanded
	for pager := c.NewListPager(&armresources.ClientListOptions{Filter: to.Ptr("resourceType eq 'Microsoft.KeyVault/vaults'")}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list by type: %v", err)
		}
		vaults = append(vaults, page.Value...)
	}
	if got := names(vaults); got != "Microsoft.KeyVault/vaults/tfkv-sdk" || *vaults[0].Location != "westeurope" {
		t.Fatalf("list by type = %q", got)
	}

	poller, err := c.BeginDeleteByID(ctx, rg+"/providers/Microsoft.ContainerService/managedClusters/tf-aks", "2025-02-01", nil)
	if err != nil {
		t.Fatalf("begin delete: %v", err)
	}
	if poller.Done() {
		t.Fatal("the delete finished with its first answer; want a long-running operation (202)")
	}
	if _, err := poller.PollUntilDone(ctx, nil); err != nil {
		t.Fatalf("poll the delete: %v", err)
	}
	if st, b, _ := w.request("GET", rg+"/providers/Microsoft.ContainerService/managedClusters/tf-aks?api-version=2025-02-01", ""); st != 404 {
		t.Fatalf("cluster after the delete: %d %v", st, b)
	}
}

// TestTerraformReadsOfAccountsAndClusters: what Terraform's azurerm reads
// on every refresh besides the resources themselves, and the operation a
// long-running PUT points at. A storage account: created with 200 (its
// clients take 200 or 202 only), listKeys empty (no shared keys), the
// blob and file service properties; a cluster: no maintenance windows
// (404 per name), and the node-image upgrade az's nodepool upgrade sends.
func TestTerraformReadsOfAccountsAndClusters(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	rg := "/subscriptions/" + w.admin.SubscriptionID + "/resourceGroups/rg-tfr"
	if st, b, _ := w.request("PUT", rg+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 {
		t.Fatalf("group: %d %v", st, b)
	}
	sa := rg + "/providers/Microsoft.Storage/storageAccounts/tfreads"
	st, b, hdr := w.request("PUT", sa+"?api-version=2025-08-01", `{"location":"westeurope","kind":"StorageV2","sku":{"name":"Standard_LRS"}}`)
	if st != 200 || hdr.Get("Retry-After") != "0" || hdr.Get("Azure-AsyncOperation") == "" {
		t.Fatalf("create account: %d %v, Azure-AsyncOperation %q, Retry-After %q", st, b, hdr.Get("Azure-AsyncOperation"), hdr.Get("Retry-After"))
	}
	op := strings.TrimPrefix(hdr.Get("Azure-AsyncOperation"), w.base)
	if st, b, _ := w.request("GET", op, ""); st != 200 || b["status"] != "Succeeded" {
		t.Fatalf("the create's operation %s: %d %v", op, st, b)
	}
	if st, b, _ := w.request("POST", sa+"/listKeys?api-version=2025-08-01", ""); st != 200 || len(b["keys"].([]any)) != 0 {
		t.Fatalf("listKeys: %d %v", st, b)
	}
	for _, svc := range []string{"blobServices", "fileServices"} {
		st, b, _ := w.request("GET", sa+"/"+svc+"/default?api-version=2025-08-01", "")
		if st != 200 || b["name"] != "default" || b["type"] != "Microsoft.Storage/storageAccounts/"+svc || b["properties"].(map[string]any)["cors"] == nil {
			t.Fatalf("%s/default: %d %v", svc, st, b)
		}
	}
	if st, b, _ := w.request("GET", rg+"/providers/Microsoft.Storage/storageAccounts/absent/blobServices/default?api-version=2025-08-01", ""); st != 404 {
		t.Fatalf("blob service of no account: %d %v", st, b)
	}

	// Purging a deleted vault (Ward keeps none: it is over at once): 202 and
	// an operation that answers Succeeded.
	purge := "/subscriptions/" + w.admin.SubscriptionID + "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/tfreads-gone/purge?api-version=2026-02-01"
	st, b, hdr = w.request("POST", purge, "")
	if st != 202 || hdr.Get("Retry-After") != "0" {
		t.Fatalf("purge: %d %v", st, b)
	}
	if st, b, _ := w.request("GET", strings.TrimPrefix(hdr.Get("Azure-AsyncOperation"), w.base), ""); st != 200 || b["status"] != "Succeeded" {
		t.Fatalf("the purge's operation %s: %d %v", hdr.Get("Azure-AsyncOperation"), st, b)
	}

	mc := rg + "/providers/Microsoft.ContainerService/managedClusters/tfreads"
	if st, b, _ := w.request("PUT", mc+"?api-version=2025-10-01", `{"location":"westeurope"}`); st != 201 {
		t.Fatalf("cluster: %d %v", st, b)
	}
	if st, b, _ := w.request("GET", mc+"/maintenanceConfigurations?api-version=2025-10-01", ""); st != 200 || len(b["value"].([]any)) != 0 {
		t.Fatalf("maintenance configurations: %d %v", st, b)
	}
	for _, name := range []string{"default", "aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"} {
		if st, b, _ := w.request("GET", mc+"/maintenanceConfigurations/"+name+"?api-version=2025-10-01", ""); st != 404 || errorCode(b) != "ResourceNotFound" {
			t.Fatalf("maintenance configuration %s: %d %v", name, st, b)
		}
	}
	if st, b, _ := w.request("GET", rg+"/providers/Microsoft.ContainerService/managedClusters/absent/maintenanceConfigurations/default?api-version=2025-10-01", ""); st != 404 {
		t.Fatalf("maintenance configuration of no cluster: %d %v", st, b)
	}
	if st, b, _ := w.request("POST", mc+"/agentPools/nodepool1/upgradeNodeImageVersion?api-version=2025-10-01", ""); st != 200 || b["name"] != "nodepool1" {
		t.Fatalf("upgradeNodeImageVersion: %d %v", st, b)
	}
}
