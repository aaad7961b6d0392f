package authz_test

import (
	"context"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/authz"
	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

// TestDecide: the explained decision names the assignment that allowed it,
// on the plane asked for, and nothing when denied.
func TestDecide(t *testing.T) {
	ctx := context.Background()
	st := wardtest.NewStore(t)
	access, err := authz.New(ctx, authz.Config{Store: st, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
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
