package arm_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

// lookupReads are the storage reads of a resource and of the parents it
// lives in: what a GET of one resource costs the database.
var lookupReads = []string{
	"GetSubscription", "GetResourceGroup", "GetIdentity", "GetFederatedCredential", "GetVault", "GetCluster",
	"GetMachine", "GetRegistry", "GetStorageAccount", "GetBlobContainer",
}

// TestGetLookups: a GET of one resource of each type reads the store once
// when the resource exists (twice for a blob container: its account, then
// the container), and when it does not, names what is missing with ARM's
// codes: the resource (or its parent resource), its group, its
// subscription.
func TestGetLookups(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	sub := "/subscriptions/" + s.Admin.SubscriptionID
	rg := sub + "/resourceGroups/rg"
	put := func(path, body string) {
		t.Helper()
		resp, b := s.Do(t, "PUT", path, tok, strings.NewReader(body))
		if resp.StatusCode >= 300 {
			t.Fatalf("PUT %s = %d %s", path, resp.StatusCode, b)
		}
	}
	const (
		idV  = "?api-version=2023-01-31"
		kvV  = "?api-version=2023-07-01"
		aksV = "?api-version=2024-02-01"
		arcV = "?api-version=2024-07-10"
		acrV = "?api-version=2023-07-01"
		saV  = "?api-version=2023-05-01"
	)
	id := "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
	fic := id + "/federatedIdentityCredentials/fic"
	kv := "/providers/Microsoft.KeyVault/vaults/lookupkv"
	aks := "/providers/Microsoft.ContainerService/managedClusters/aks"
	pool := aks + "/agentPools/nodepool1"
	arc := "/providers/Microsoft.HybridCompute/machines/m1"
	acr := "/providers/Microsoft.ContainerRegistry/registries/lookupacr"
	sa := "/providers/Microsoft.Storage/storageAccounts/lookupsa"
	container := sa + "/blobServices/default/containers/data"
	put(rg+"?api-version=2021-04-01", `{"location":"westeurope"}`)
	put(rg+id+idV, `{"location":"westeurope"}`)
	put(rg+fic+idV, `{"properties":{"issuer":"https://issuer.example/","subject":"system:serviceaccount:default:app","audiences":["api://AzureADTokenExchange"]}}`)
	put(rg+kv+kvV, `{"location":"westeurope","properties":{"tenantId":"`+s.Admin.TenantID+`","sku":{"family":"A","name":"standard"}}}`)
	put(rg+aks+aksV, `{"location":"westeurope"}`)
	put(rg+arc+arcV, `{"location":"westeurope"}`)
	put(rg+acr+acrV, `{"location":"westeurope","sku":{"name":"Basic"}}`)
	put(rg+sa+saV, `{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}`)
	put(rg+container+saV, `{}`)

	noSub := "/subscriptions/00000000-0000-0000-0000-0000000000ff/resourceGroups/rg"
	noGroup := sub + "/resourceGroups/nope"
	const (
		notFound      = "ResourceNotFound"
		groupNotFound = "ResourceGroupNotFound"
		subNotFound   = "SubscriptionNotFound"
	)
	types := []struct {
		name, path, version string
		// hitReads are the store reads of a GET that finds the resource:
		// one, the resource's own, plus what its view reads.
		hitReads int
		missing  string // the path with the resource's (or its parent's) name replaced
		// The codes of a GET of a missing resource, in a missing group, in
		// a missing subscription.
		missingCode, groupCode, subCode string
	}{
		{"identity", id, idV, 1, strings.Replace(id, "/app", "/other", 1), notFound, groupNotFound, subNotFound},
		{"federated credential", fic, idV, 1, strings.Replace(fic, "/fic", "/other", 1), notFound, groupNotFound, subNotFound},
		{"federated credential of no identity", fic, idV, 1, strings.Replace(fic, "/app/", "/other/", 1), "ParentResourceNotFound", groupNotFound, subNotFound},
		{"vault", kv, kvV, 1, strings.Replace(kv, "lookupkv", "otherkv", 1), notFound, groupNotFound, subNotFound},
		// +1: the view checks the kubelet identity.
		{"cluster", aks, aksV, 2, strings.Replace(aks, "/aks", "/other", 1), notFound, groupNotFound, subNotFound},
		// A pool with no identities: its view reads nothing more.
		{"agent pool of no cluster", pool, aksV, 1, strings.Replace(pool, "/aks/", "/other/", 1), notFound, groupNotFound, subNotFound},
		{"agent pool", pool, aksV, 1, strings.Replace(pool, "nodepool1", "gpu", 1), notFound, groupNotFound, subNotFound},
		{"machine", arc, arcV, 1, strings.Replace(arc, "/m1", "/m2", 1), notFound, groupNotFound, subNotFound},
		{"registry", acr, acrV, 1, strings.Replace(acr, "lookupacr", "otheracr", 1), notFound, groupNotFound, subNotFound},
		{"storage account", sa, saV, 1, strings.Replace(sa, "lookupsa", "othersa", 1), notFound, groupNotFound, subNotFound},
		// The account, then the container. A container's parent check is
		// its account, whose group and subscription are not read: the
		// account is not found there.
		{"blob container", container, saV, 2, strings.Replace(container, "/data", "/other", 1), "ContainerNotFound", notFound, notFound},
		{"blob container of no account", container, saV, 2, strings.Replace(container, "lookupsa", "othersa", 1), notFound, notFound, notFound},
	}
	reads := func() int {
		n := 0
		for _, m := range lookupReads {
			n += s.Store.Calls(m)
		}
		return n
	}
	get := func(t *testing.T, path string) (int, string, int) {
		t.Helper()
		before := reads()
		resp, b := s.Do(t, "GET", path, tok, nil)
		n := reads() - before
		if resp.StatusCode == http.StatusOK {
			return resp.StatusCode, "", n
		}
		return resp.StatusCode, servertest.ErrorCode(t, b), n
	}
	for _, tt := range types {
		t.Run(tt.name, func(t *testing.T) {
			if status, code, n := get(t, rg+tt.path+tt.version); status != http.StatusOK || n != tt.hitReads {
				t.Errorf("GET %s = %d %s after %d store reads, want 200 after %d", tt.path, status, code, n, tt.hitReads)
			}
			for _, miss := range []struct{ path, code string }{
				{rg + tt.missing, tt.missingCode},
				{noGroup + tt.path, tt.groupCode},
				{noSub + tt.path, tt.subCode},
			} {
				if status, code, _ := get(t, miss.path+tt.version); status != http.StatusNotFound || code != miss.code {
					t.Errorf("GET %s = %d %s, want 404 %s", miss.path, status, code, miss.code)
				}
			}
		})
	}

	// A cluster's maintenance configurations are always absent: the GET
	// reads the cluster only to say whether the cluster or the
	// configuration is missing.
	mc := aks + "/maintenanceConfigurations/default"
	for _, tt := range []struct {
		path, code string
		reads      int
	}{
		{rg + mc, notFound, 1},
		{rg + strings.Replace(mc, "/aks/", "/other/", 1), notFound, 3},
		{noGroup + mc, groupNotFound, 3},
		{noSub + mc, subNotFound, 2},
	} {
		if status, code, n := get(t, tt.path+aksV); status != http.StatusNotFound || code != tt.code || n != tt.reads {
			t.Errorf("GET %s = %d %s after %d store reads, want 404 %s after %d", tt.path, status, code, n, tt.code, tt.reads)
		}
	}
}
