package machines

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

// TestMachineLookup reads a machine with one query when it exists, and
// names what is missing when it does not: the subscription, the group or
// the machine, as ARM does.
func TestMachineLookup(t *testing.T) {
	st := wardtest.NewStore(t)
	groups := resources.New(resources.Config{Store: st})
	svc := New(Config{Store: st, Groups: groups})
	ctx := context.Background()
	if _, _, err := groups.PutGroup(ctx, sub, "rg", resources.GroupSpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := st.CreateMachine(ctx, storage.Machine{ID: uuid.NewString(), SubscriptionID: sub, ResourceGroup: "rg", Name: "m1", Location: "westeurope", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	get := func(sub, group, name string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			m, err := svc.Get(ctx, storage.MachineRef{SubscriptionID: sub, ResourceGroup: group, Name: name})
			return m.Name, err
		}
	}
	wardtest.CheckLookups(t, st, []string{"GetMachine", "GetResourceGroup", "GetSubscription"}, wardtest.InGroup("machine", sub, "m1", get))
}
