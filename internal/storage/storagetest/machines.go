package storagetest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/storage"
)

// errSpent is what a test update returns when the value it consumes is gone.
var errSpent = errors.New("spent")

func testMachines(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	// Every field of the spec set, so that the round trip through the spec
	// column shows none is lost.
	spec := storage.MachineSpec{IdentityType: "SystemAssigned, UserAssigned", SystemPrincipalID: uuid.NewString(), SystemAppID: uuid.NewString(),
		UserAssigned: []string{"/subscriptions/" + subID + "/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"},
		Bindings: map[string]storage.Binding{"/subscriptions/" + subID + "/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/app": {
			PrincipalID: uuid.NewString(), ClientID: uuid.NewString()}},
		JoinTokenHash: "once", JoinTokenExpires: now.Add(time.Hour), AgentCertificate: []byte{0x30, 0x82}, AgentThumbprint: "thumb", JoinedAt: now}
	m := storage.Machine{ID: uuid.NewString(), SubscriptionID: subID, ResourceGroup: "rg", Name: "m1", Location: "westeurope",
		Tags: map[string]string{"env": "lab"}, Spec: spec, CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateMachine(ctx, m))
	dup := m
	dup.ID, dup.Name = uuid.NewString(), "M1"
	wantErr(t, "create twice", s.CreateMachine(ctx, dup), storage.ErrAlreadyExists)
	orphan := m
	orphan.ID, orphan.ResourceGroup = uuid.NewString(), "nogroup"
	wantErr(t, "create in a missing group", s.CreateMachine(ctx, orphan), storage.ErrParentNotFound)

	ref := storage.MachineRef{SubscriptionID: subID, ResourceGroup: "RG", Name: "M1"}
	got, err := s.GetMachine(ctx, ref)
	must(t, err)
	if got.ID != strings.ToLower(m.ID) || got.Name != "m1" || !reflect.DeepEqual(got.Spec, m.Spec) || got.Tags["env"] != "lab" || !got.CreatedAt.Equal(now) {
		t.Fatalf("machine = %+v, want %+v", got, m)
	}
	if byID, err := s.GetMachineByID(ctx, strings.ToUpper(m.ID)); err != nil || byID.Name != "m1" {
		t.Fatalf("by ID: %+v %v", byID, err)
	}

	// A value consumed inside UpdateMachine is consumed once, however many
	// writers race for it (a join token's single use rests on this).
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateMachine(ctx, ref, func(old storage.Machine) (storage.Machine, error) {
				if old.Spec.JoinTokenHash != "once" {
					return old, errSpent
				}
				old.Spec.JoinTokenHash, old.ID, old.Name = "", "ignored", "ignored"
				return old, nil
			})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, errSpent), errors.Is(err, storage.ErrConflict):
			default:
				t.Errorf("update: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d concurrent updates consumed the value, want exactly 1", n)
	}
	got, err = s.GetMachine(ctx, ref)
	must(t, err)
	spent := spec
	spent.JoinTokenHash = ""
	if !reflect.DeepEqual(got.Spec, spent) || got.ID != strings.ToLower(m.ID) || got.Name != "m1" {
		t.Fatalf("after update: %+v (ID and name must not change)", got)
	}
	_, err = s.UpdateMachine(ctx, storage.MachineRef{SubscriptionID: subID, ResourceGroup: "rg", Name: "absent"},
		func(old storage.Machine) (storage.Machine, error) { return old, nil })
	wantErr(t, "update a missing machine", err, storage.ErrNotFound)

	seedGroup(t, s, "rg2")
	m2 := storage.Machine{ID: uuid.NewString(), SubscriptionID: subID, ResourceGroup: "rg2", Name: "m2", Location: "westeurope", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateMachine(ctx, m2))
	if list, err := listAll(t, func(p storage.Page) ([]storage.Machine, string, error) { return s.ListMachines(ctx, subID, "rg", p) }); err != nil || len(list) != 1 {
		t.Fatalf("list in group: %+v %v", list, err)
	}
	if list, err := listAll(t, func(p storage.Page) ([]storage.Machine, string, error) { return s.ListMachines(ctx, subID, "", p) }); err != nil || len(list) != 2 {
		t.Fatalf("list in subscription: %+v %v", list, err)
	}
	must(t, s.DeleteMachine(ctx, ref))
	wantErr(t, "delete twice", s.DeleteMachine(ctx, ref), storage.ErrNotFound)
	_, err = s.GetMachineByID(ctx, m.ID)
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	must(t, s.DeleteResourceGroup(ctx, subID, "rg2"))
	_, err = s.GetMachineByID(ctx, m2.ID)
	wantErr(t, "machine of a deleted group", err, storage.ErrNotFound)
}
