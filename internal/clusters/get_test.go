package clusters

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

// TestClusterLookup reads a cluster (and one of its node pools) with one
// query when it exists, and names what is missing when it does not: the
// subscription, the group, the cluster or the pool, as ARM does.
func TestClusterLookup(t *testing.T) {
	const sub = wardtest.SubscriptionID
	st := wardtest.NewStore(t)
	groups := resources.New(resources.Config{Store: st})
	svc := New(Config{Store: st, Groups: groups})
	ctx := context.Background()
	if _, _, err := groups.PutGroup(ctx, sub, "rg", resources.GroupSpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := st.PutCluster(ctx, storage.Cluster{ID: uuid.NewString(), SubscriptionID: sub, ResourceGroup: "rg", Name: "aks", Location: "westeurope", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	aks := storage.ClusterRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "aks"}
	tests := []struct {
		name     string
		ref      storage.ClusterRef
		pool     string // "" reads the cluster (Get), else the pool (GetNodePool)
		wantCode string
		reads    int // store reads of clusters, groups and subscriptions
	}{
		{"found", aks, "", "", 1},
		{"found, other casing", storage.ClusterRef{SubscriptionID: sub, ResourceGroup: "RG", Name: "AKS"}, "", "", 1},
		{"no cluster", storage.ClusterRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "other"}, "", armerr.CodeResourceNotFound, 3},
		{"no group", storage.ClusterRef{SubscriptionID: sub, ResourceGroup: "nope", Name: "aks"}, "", armerr.CodeResourceGroupNotFound, 3},
		{"no subscription", storage.ClusterRef{SubscriptionID: "00000000-0000-0000-0000-0000000000ff", ResourceGroup: "rg", Name: "aks"}, "", armerr.CodeSubscriptionNotFound, 2},
		{"pool found", aks, DefaultNodePool, "", 1},
		{"no pool", aks, "gpu", armerr.CodeResourceNotFound, 1},
		{"pool of no cluster", storage.ClusterRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "other"}, DefaultNodePool, armerr.CodeResourceNotFound, 3},
		{"pool of no group", storage.ClusterRef{SubscriptionID: sub, ResourceGroup: "nope", Name: "aks"}, DefaultNodePool, armerr.CodeResourceGroupNotFound, 3},
	}
	reads := func() int {
		return st.Calls("GetCluster") + st.Calls("GetResourceGroup") + st.Calls("GetSubscription")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reads()
			var err error
			if tt.pool == "" {
				var c Cluster
				if c, err = svc.Get(ctx, tt.ref); err == nil && c.Name != "aks" {
					t.Fatalf("Get(%+v) = %+v, want aks", tt.ref, c)
				}
			} else {
				var p NamedPool
				if p, err = svc.GetNodePool(ctx, tt.ref, tt.pool); err == nil && p.Name != tt.pool {
					t.Fatalf("GetNodePool(%+v, %q) = %+v", tt.ref, tt.pool, p)
				}
			}
			var e *armerr.Error
			got := ""
			if errors.As(err, &e) {
				got = e.Code
			}
			if got != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Fatalf("read of %+v (pool %q) = %v (code %q), want code %q", tt.ref, tt.pool, err, got, tt.wantCode)
			}
			if n := reads() - before; n != tt.reads {
				t.Errorf("read of %+v (pool %q) read the store %d times, want %d", tt.ref, tt.pool, n, tt.reads)
			}
		})
	}
}
