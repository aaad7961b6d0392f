package machines

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/agentproto"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/storage"
)

// recreate deletes the identity name and creates another under the same
// name: a new principal and client ID.
func (f fixture) recreate(t *testing.T, name string) storage.Identity {
	t.Helper()
	ctx := context.Background()
	ref := storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: name}
	if _, err := f.ids.DeleteIdentity(ctx, ref); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Second)
	id, _, err := f.ids.PutIdentity(ctx, ref, msi.IdentitySpec{Location: "westeurope"})
	must(t, err)
	return id
}

func (f fixture) identity(t *testing.T, name string) (storage.Identity, string) {
	t.Helper()
	id, _, err := f.ids.PutIdentity(context.Background(), storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: name}, msi.IdentitySpec{Location: "westeurope"})
	must(t, err)
	return id, "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
}

// refusedFor checks that a request for the identity (by resource, client
// or object ID) is refused with the re-creation's reason, never served.
func refusedFor(t *testing.T, served, refused []agentproto.Identity, rid string, ids ...storage.Identity) {
	t.Helper()
	for _, id := range ids {
		for _, sel := range [][3]string{{"", "", rid}, {id.ClientID, "", ""}, {"", id.PrincipalID, ""}} {
			got, err := agentproto.Choose(served, refused, sel[0], sel[1], sel[2])
			var re *agentproto.RefusedError
			if err == nil {
				t.Fatalf("selector %v served %+v: the identity was re-created under its name and never re-attached", sel, got)
			}
			if sel[0] == id.ClientID && !errors.As(err, &re) && !errors.Is(err, agentproto.ErrIdentityNotFound) {
				t.Fatalf("selector %v: %v", sel, err)
			}
			if sel[2] != "" && (!errors.As(err, &re) || !strings.Contains(re.Error(), "re-created")) {
				t.Fatalf("selector %v: %v, want the re-creation named", sel, err)
			}
		}
	}
}

// TestRecreatedIdentityIsNotServed: an attachment records the principal it
// was authorized for; an identity deleted and re-created under the same
// name (another principal) is refused to the machine's and the node
// pool's agents until a caller allowed to assign it attaches it again.
func TestRecreatedIdentityIsNotServed(t *testing.T) {
	ctx := context.Background()
	errDenied := armerr.New(http.StatusForbidden, armerr.CodeLinkedAuthorization, "no assign/action")
	deny := func(context.Context, string) error { return errDenied }

	t.Run("machine", func(t *testing.T) {
		f := newFixture(t)
		old, rid := f.identity(t, "id2")
		_, otherRID := f.identity(t, "other")
		ref := storage.MachineRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "m1"}
		m, _, _, err := f.svc.Put(ctx, ref, Request{Identity: &IdentityRequest{Type: TypeUserAssigned, UserAssigned: map[string]bool{rid: true, otherRID: true}}})
		must(t, err)
		subj := Subject{Machine: &m}
		served, _, err := f.svc.Identities(ctx, subj)
		must(t, err)
		if len(served) != 2 {
			t.Fatalf("served before: %+v", served)
		}
		nu := f.recreate(t, "id2")
		m, err = f.svc.Get(ctx, ref)
		must(t, err)
		subj = Subject{Machine: &m}
		served, refused, err := f.svc.Identities(ctx, subj)
		must(t, err)
		if len(served) != 1 || !strings.HasSuffix(served[0].ResourceID, "/other") || len(refused) != 1 || refused[0].ObjectID != old.PrincipalID {
			t.Fatalf("after re-creation: served %+v refused %+v", served, refused)
		}
		refusedFor(t, served, refused, rid, old, nu)

		// A PATCH that does not name it keeps it refused; a PUT by a caller
		// without assign/action cannot re-bind it.
		_, err = f.svc.Patch(ctx, ref, Patch{Tags: map[string]string{"a": "b"}, Identity: &IdentityRequest{UserAssigned: map[string]bool{otherRID: true}}, CanUse: deny})
		must(t, err)
		if _, _, _, err := f.svc.Put(ctx, ref, Request{Identity: &IdentityRequest{Type: TypeUserAssigned, UserAssigned: map[string]bool{rid: true, otherRID: true}}, CanUse: deny}); !errors.Is(err, errDenied) {
			t.Fatalf("re-attach without assign/action: %v", err)
		}
		m, err = f.svc.Get(ctx, ref)
		must(t, err)
		if served, _, _ := f.svc.Identities(ctx, Subject{Machine: &m}); len(served) != 1 {
			t.Fatalf("served after refused re-attachments: %+v", served)
		}
		// Re-attaching with the right binds the new principal.
		m, _, _, err = f.svc.Put(ctx, ref, Request{Identity: &IdentityRequest{Type: TypeUserAssigned, UserAssigned: map[string]bool{rid: true, otherRID: true}}})
		must(t, err)
		served, refused, err = f.svc.Identities(ctx, Subject{Machine: &m})
		must(t, err)
		got, err := agentproto.Choose(served, refused, "", "", rid)
		if err != nil || got.ObjectID != nu.PrincipalID || len(refused) != 0 {
			t.Fatalf("after re-attaching: %+v %v (refused %+v)", got, err, refused)
		}
	})

	t.Run("machine's only identity is the default, refused", func(t *testing.T) {
		f := newFixture(t)
		_, rid := f.identity(t, "solo")
		ref := storage.MachineRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "m2"}
		_, _, _, err := f.svc.Put(ctx, ref, Request{Identity: &IdentityRequest{Type: TypeUserAssigned, UserAssigned: map[string]bool{rid: true}}})
		must(t, err)
		f.recreate(t, "solo")
		m, err := f.svc.Get(ctx, ref)
		must(t, err)
		served, refused, err := f.svc.Identities(ctx, Subject{Machine: &m})
		must(t, err)
		var re *agentproto.RefusedError
		if _, err := agentproto.Choose(served, refused, "", "", ""); !errors.As(err, &re) {
			t.Fatalf("no selector: %v, want the refusal", err)
		}
	})

	t.Run("kubelet and node pool", func(t *testing.T) {
		f := newFixture(t)
		oldKubelet, kubeletRID := f.identity(t, "kubelet")
		oldPool, poolRID := f.identity(t, "pool-app")
		cref := storage.ClusterRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "c1"}
		enabled := true
		c, _, err := f.clusters.Put(ctx, cref, clusters.Request{Location: "westeurope", OIDCIssuer: &enabled, KubeletIdentity: kubeletRID})
		must(t, err)
		_, _, err = f.clusters.PutNodePool(ctx, cref, "gpu", clusters.PoolRequest{UserAssigned: []string{poolRID}})
		must(t, err)
		nuKubelet, nuPool := f.recreate(t, "kubelet"), f.recreate(t, "pool-app")
		c, err = f.clusters.Get(ctx, cref)
		must(t, err)
		served, refused, err := f.svc.Identities(ctx, Subject{Cluster: &c, Pool: "gpu"})
		must(t, err)
		if len(served) != 0 || len(refused) != 2 {
			t.Fatalf("served %+v refused %+v", served, refused)
		}
		refusedFor(t, served, refused, kubeletRID, oldKubelet, nuKubelet)
		refusedFor(t, served, refused, poolRID, oldPool, nuPool)
		var re *agentproto.RefusedError
		if _, err := agentproto.Choose(served, refused, "", "", ""); !errors.As(err, &re) || !strings.Contains(re.Error(), "kubelet") {
			t.Fatalf("default (kubelet) request: %v", err)
		}
		// Re-attaching without the right fails; with it, serves the new principals.
		if _, _, err := f.clusters.PutNodePool(ctx, cref, "gpu", clusters.PoolRequest{UserAssigned: []string{poolRID}, CanUse: deny}); !errors.Is(err, errDenied) {
			t.Fatalf("pool re-attach without assign/action: %v", err)
		}
		_, _, err = f.clusters.Put(ctx, cref, clusters.Request{KubeletIdentity: kubeletRID})
		must(t, err)
		_, _, err = f.clusters.PutNodePool(ctx, cref, "gpu", clusters.PoolRequest{UserAssigned: []string{poolRID}})
		must(t, err)
		c, err = f.clusters.Get(ctx, cref)
		must(t, err)
		served, refused, err = f.svc.Identities(ctx, Subject{Cluster: &c, Pool: "gpu"})
		must(t, err)
		if len(served) != 2 || len(refused) != 0 || served[0].ObjectID != nuKubelet.PrincipalID || served[1].ObjectID != nuPool.PrincipalID {
			t.Fatalf("after re-attaching: served %+v refused %+v", served, refused)
		}
	})

	t.Run("attachments stored before principals were recorded", func(t *testing.T) {
		f := newFixture(t)
		_, before := f.identity(t, "before")
		ref := storage.MachineRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "m3"}
		f.clock.Add(time.Second)
		_, _, _, err := f.svc.Put(ctx, ref, Request{})
		must(t, err)
		f.clock.Add(time.Second)
		_, after := f.identity(t, "after")
		// A row as an older Ward stored it: resource IDs, no bindings.
		_, err = f.svc.store.UpdateMachine(ctx, ref, func(m storage.Machine) (storage.Machine, error) {
			m.Spec.IdentityType, m.Spec.UserAssigned, m.Spec.Bindings = TypeSystemAndUserAssigned, []string{after, before}, nil
			return m, nil
		})
		must(t, err)
		m, err := f.svc.Get(ctx, ref)
		must(t, err)
		served, refused, err := f.svc.Identities(ctx, Subject{Machine: &m})
		must(t, err)
		// "before" existed before the machine: it is the identity attached.
		// "after" may be a re-creation: refused until attached again.
		if len(served) != 2 || !strings.HasSuffix(served[1].ResourceID, "/before") || len(refused) != 1 || !strings.Contains(refused[0].Reason, "attach it again") {
			t.Fatalf("legacy: served %+v refused %+v", served, refused)
		}
	})
}
