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
