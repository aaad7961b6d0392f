package machines

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
	tests := []struct {
		name     string
		ref      storage.MachineRef
		wantCode string
		reads    int // store reads of machines, groups and subscriptions
	}{
		{"found", storage.MachineRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "m1"}, "", 1},
		{"found, other casing", storage.MachineRef{SubscriptionID: sub, ResourceGroup: "RG", Name: "M1"}, "", 1},
		{"no machine", storage.MachineRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "other"}, armerr.CodeResourceNotFound, 3},
		{"no group", storage.MachineRef{SubscriptionID: sub, ResourceGroup: "nope", Name: "m1"}, armerr.CodeResourceGroupNotFound, 3},
		{"no subscription", storage.MachineRef{SubscriptionID: "00000000-0000-0000-0000-0000000000ff", ResourceGroup: "rg", Name: "m1"}, armerr.CodeSubscriptionNotFound, 2},
	}
	reads := func() int {
		return st.Calls("GetMachine") + st.Calls("GetResourceGroup") + st.Calls("GetSubscription")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reads()
			m, err := svc.Get(ctx, tt.ref)
			var e *armerr.Error
			got := ""
			if errors.As(err, &e) {
				got = e.Code
			}
			if got != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Fatalf("Get(%+v) = %v (code %q), want code %q", tt.ref, err, got, tt.wantCode)
			}
			if tt.wantCode == "" && m.Name != "m1" {
				t.Fatalf("Get(%+v) = %+v, want m1", tt.ref, m)
			}
			if n := reads() - before; n != tt.reads {
				t.Errorf("Get(%+v) read the store %d times, want %d", tt.ref, n, tt.reads)
			}
		})
	}
}
