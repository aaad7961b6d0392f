package clusters

import (
	"context"
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
	get := func(sub, group, name string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			c, err := svc.Get(ctx, storage.ClusterRef{SubscriptionID: sub, ResourceGroup: group, Name: name})
			return c.Name, err
		}
	}
	pool := func(ref storage.ClusterRef, name string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			p, err := svc.GetNodePool(ctx, ref, name)
			return p.Name, err
		}
	}
	other := storage.ClusterRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "other"}
	noGroup := storage.ClusterRef{SubscriptionID: sub, ResourceGroup: "nope", Name: "aks"}
	wardtest.CheckLookups(t, st, []string{"GetCluster", "GetResourceGroup", "GetSubscription"}, append(wardtest.InGroup("cluster", sub, "aks", get),
		wardtest.Lookup{Name: "pool found", Read: pool(aks, DefaultNodePool), WantName: DefaultNodePool, Reads: 1},
		wardtest.Lookup{Name: "no pool", Read: pool(aks, "gpu"), WantCode: armerr.CodeResourceNotFound, Reads: 1},
		wardtest.Lookup{Name: "pool of no cluster", Read: pool(other, DefaultNodePool), WantCode: armerr.CodeResourceNotFound, Reads: 3},
		wardtest.Lookup{Name: "pool of no group", Read: pool(noGroup, DefaultNodePool), WantCode: armerr.CodeResourceGroupNotFound, Reads: 3},
	))
}
