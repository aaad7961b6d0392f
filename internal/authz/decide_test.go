package authz_test

import (
	"context"
	"testing"

	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

// TestDecide: the explained decision names the assignment that allowed it,
// on the plane asked for, and nothing when denied.
func TestDecide(t *testing.T) {
	ctx := context.Background()
	st := wardtest.NewStore(t)
	access, _ := follower(t, st, nil)
	const principal = "33333333-3333-3333-3333-333333333333"
	sub := "/subscriptions/" + wardtest.SubscriptionID
	if err := st.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: principal, AppID: "55555555-5555-5555-5555-555555555555", TenantID: wardtest.TenantID}); err != nil {
		t.Fatal(err)
	}
	if err := access.EnsureAssignment(ctx, sub, principal, rbac.KeyVaultSecretsUserID, "ServicePrincipal"); err != nil {
		t.Fatal(err)
	}
	ra, err := st.FindRoleAssignment(ctx, sub, principal, rbac.KeyVaultSecretsUserID)
	if err != nil {
		t.Fatal(err)
	}
	secret := sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/secrets/s"
	getSecret := "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	cases := []struct {
		name, principal, action, scope string
		data                           bool
		want                           storage.RoleAssignment
	}{
		{"data action granted below the assignment", principal, getSecret, secret, true, ra},
		{"the same action as a management action", principal, getSecret, secret, false, storage.RoleAssignment{}},
		{"outside the assignment's scope", principal, getSecret, "/subscriptions/other", true, storage.RoleAssignment{}},
		{"another principal", "44444444-4444-4444-4444-444444444444", getSecret, secret, true, storage.RoleAssignment{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := access.Decide(c.principal, c.action, c.scope, c.data)
			if d.Allowed != (c.want.ID != "") || d.AssignmentID() != c.want.ID {
				t.Errorf("Decide(%s, %s, %s, data=%v) = allowed %v by %q, want by %q", c.principal, c.action, c.scope, c.data, d.Allowed, d.AssignmentID(), c.want.ID)
			}
		})
	}
}

// TestPrincipalAssignments: a principal's assignments are read by the IDs
// the index holds for it; another principal's are not listed, and one
// deleted from the store behind the index's back is left out.
func TestPrincipalAssignments(t *testing.T) {
	ctx := context.Background()
	st := wardtest.NewStore(t)
	access, _ := follower(t, st, nil)
	const alice, bob = "33333333-3333-3333-3333-333333333333", "44444444-4444-4444-4444-444444444444"
	sub := "/subscriptions/" + wardtest.SubscriptionID
	for _, p := range []string{alice, bob} {
		if err := st.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: p, AppID: p, TenantID: wardtest.TenantID}); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []struct{ principal, role string }{{alice, rbac.ReaderID}, {alice, rbac.KeyVaultSecretsUserID}, {bob, rbac.ReaderID}} {
		if err := access.EnsureAssignment(ctx, sub, a.principal, a.role, "ServicePrincipal"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := access.PrincipalAssignments(ctx, alice)
	if err != nil || len(got) != 2 {
		t.Fatalf("alice's assignments: %v, %v", got, err)
	}
	for _, a := range got {
		if a.PrincipalID != alice || a.Scope != sub {
			t.Errorf("not alice's: %+v", a)
		}
	}
	if err := st.DeleteRoleAssignment(ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	if left, err := access.PrincipalAssignments(ctx, alice); err != nil || len(left) != 1 || left[0].ID != got[1].ID {
		t.Fatalf("after a delete behind the index: %v, %v", left, err)
	}
	if none, err := access.PrincipalAssignments(ctx, "55555555-5555-5555-5555-555555555555"); err != nil || len(none) != 0 {
		t.Fatalf("a principal without assignments: %v, %v", none, err)
	}
}
