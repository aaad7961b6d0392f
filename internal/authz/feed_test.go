package authz_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/authz"
	"github.com/ward-id/ward/internal/changefeed"
	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

// follower builds an authz Service whose writes settle through a real
// change feed follower on st, wired as the server wires it; settle, when
// set, runs in place of the follower's catch-up (to make it fail or skip).
func follower(t testing.TB, st storage.Storage, settle func(ctx context.Context, catchUp func(context.Context) error) error) (*authz.Service, *changefeed.Follower) {
	t.Helper()
	ctx := context.Background()
	head, err := st.ChangeHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var f *changefeed.Follower
	catchUp := func(ctx context.Context) error { return f.CatchUp(ctx) }
	s := catchUp
	if settle != nil {
		s = func(ctx context.Context) error { return settle(ctx, catchUp) }
	}
	access, err := authz.New(ctx, authz.Config{Store: st, Now: time.Now, CatchUp: s})
	if err != nil {
		t.Fatal(err)
	}
	f = changefeed.New(changefeed.Config{Feed: st, Handlers: map[string]changefeed.Handler{
		"role_assignments": access.ReloadAssignment, "role_definitions": access.ReloadRole,
	}, Resync: access.Reload, Check: access.Consistent, Synced: access.Synced}, head)
	return access, f
}

// TestWritesReachTheIndexThroughTheFeed: authz's writes change decisions
// only by the change feed's catch-up (the path every replica applies),
// never by writing the index directly; a catch-up that fails leaves the
// index stale, and a stale index denies everything until the follower has
// caught up.
func TestWritesReachTheIndexThroughTheFeed(t *testing.T) {
	ctx := context.Background()
	const principal = "33333333-3333-3333-3333-333333333333"
	sub := "/subscriptions/" + wardtest.SubscriptionID
	secret := sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/secrets/s"
	const getSecret = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	broken := errors.New("database unreachable")
	cases := []struct {
		name string
		// settle stands in for the server's catch-up.
		settle      func(ctx context.Context, catchUp func(context.Context) error) error
		wantErr     bool
		wantAllowed bool // right after the grant
	}{
		{name: "catch-up applies the grant before the write returns", wantAllowed: true},
		{name: "no catch-up: the index does not change",
			settle:      func(context.Context, func(context.Context) error) error { return nil },
			wantAllowed: false},
		{name: "failed catch-up: stale, everything denied",
			settle:  func(context.Context, func(context.Context) error) error { return broken },
			wantErr: true, wantAllowed: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := wardtest.NewStore(t)
			if err := st.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: principal, AppID: "55555555-5555-5555-5555-555555555555", TenantID: wardtest.TenantID}); err != nil {
				t.Fatal(err)
			}
			access, f := follower(t, st, c.settle)
			err := access.EnsureAssignment(ctx, sub, principal, rbac.KeyVaultSecretsUserID, "ServicePrincipal")
			if (err != nil) != c.wantErr || (err != nil && !errors.Is(err, broken)) {
				t.Fatalf("EnsureAssignment: %v, want error %v", err, c.wantErr)
			}
			if got := access.AllowedData(principal, getSecret, secret); got != c.wantAllowed {
				t.Fatalf("allowed right after the grant = %v, want %v", got, c.wantAllowed)
			}
			// The follower (the feed's poll on this replica, or another
			// replica) brings every case to the same state.
			if err := f.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			if !access.AllowedData(principal, getSecret, secret) {
				t.Fatal("not allowed once the follower caught up")
			}
			// A revocation takes effect by the same path.
			ra, err := st.FindRoleAssignment(ctx, sub, principal, rbac.KeyVaultSecretsUserID)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := access.DeleteAssignment(ctx, ra.ID); (err != nil) != c.wantErr {
				t.Fatalf("DeleteAssignment: %v", err)
			}
			if got := access.AllowedData(principal, getSecret, secret); got != (c.settle != nil && !c.wantErr) {
				t.Fatalf("allowed right after the revocation = %v", got)
			}
			if err := f.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			if access.AllowedData(principal, getSecret, secret) {
				t.Fatal("still allowed once the follower caught up with the revocation")
			}
		})
	}
}

// TestStaleIndexDenies: Stale (a request's writes that could not be
// applied) denies every decision with a reason that says to retry, until
// the follower's catch-up says it is current (Synced).
func TestStaleIndexDenies(t *testing.T) {
	ctx := context.Background()
	st := wardtest.NewStore(t)
	const principal = "33333333-3333-3333-3333-333333333333"
	sub := "/subscriptions/" + wardtest.SubscriptionID
	if err := st.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: principal, AppID: "55555555-5555-5555-5555-555555555555", TenantID: wardtest.TenantID}); err != nil {
		t.Fatal(err)
	}
	access, f := follower(t, st, nil)
	if err := access.EnsureAssignment(ctx, sub, principal, rbac.ReaderID, "ServicePrincipal"); err != nil {
		t.Fatal(err)
	}
	const read = "Microsoft.Resources/subscriptions/read"
	if !access.Allowed(principal, read, sub) {
		t.Fatal("reader not allowed")
	}
	access.Stale()
	if access.Allowed(principal, read, sub) {
		t.Fatal("allowed while stale")
	}
	if err := access.Authorize(ctx, authn.Principal{ObjectID: principal}, read, sub); err == nil || !strings.Contains(err.Error(), "retry") {
		t.Fatalf("Authorize while stale: %v", err)
	}
	if err := f.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if !access.Allowed(principal, read, sub) {
		t.Fatal("still denied after the follower caught up")
	}
}

// TestEveryWriteReachesTheIndexThroughTheFeed: each of authz's writes
// (assignments created, ensured, deleted one by one or by principal,
// custom roles widened and narrowed) changes Decide and Allowed only when
// the change feed is applied. With the catch-up wired (as the server wires
// it) the writer decides on the write when it returns; with a catch-up
// that applies nothing, not until its follower catches up; a second
// replica on the same database, which applies only the feed, agrees once
// it catches up, and both indexes agree with the database.
func TestEveryWriteReachesTheIndexThroughTheFeed(t *testing.T) {
	const (
		admin     = "11111111-aaaa-4aaa-8aaa-111111111111"
		principal = "33333333-3333-4333-8333-333333333333"
		roleID    = "77777777-7777-4777-8777-777777777777"
		name      = "88888888-8888-4888-8888-888888888888"
		vaultRead = "Microsoft.KeyVault/vaults/read"
		groupRead = "Microsoft.Resources/subscriptions/resourceGroups/read"
	)
	sub := "/subscriptions/" + wardtest.SubscriptionID
	custom := func(actions ...string) rbac.RoleDefinition {
		return rbac.RoleDefinition{ID: roleID, Name: "feed-test", AssignableScopes: []string{sub}, Permissions: []rbac.Permission{{Actions: actions}}}
	}
	assign := func(ctx context.Context, a *authz.Service, role string) error {
		_, _, err := a.CreateAssignment(ctx, sub, name, authz.AssignmentSpec{RoleDefinitionID: role, PrincipalID: principal}, "test")
		return err
	}
	putRole := func(actions ...string) func(context.Context, *authz.Service) error {
		return func(ctx context.Context, a *authz.Service) error {
			_, _, err := a.PutCustomRoleAs(ctx, admin, sub, custom(actions...))
			return err
		}
	}
	withAssignment := func(ctx context.Context, a *authz.Service) error { return assign(ctx, a, rbac.ReaderID) }
	cases := []struct {
		name   string
		setup  func(context.Context, *authz.Service) error // applied before the decisions are first checked
		write  func(context.Context, *authz.Service) error
		before bool // principal may read vaults at sub before the write (and not after)
	}{
		{name: "create an assignment", write: withAssignment},
		{name: "ensure an assignment (bootstrap, directory owners)",
			write: func(ctx context.Context, a *authz.Service) error {
				return a.EnsureAssignment(ctx, sub, principal, rbac.ReaderID, "ServicePrincipal")
			}},
		{name: "delete an assignment at its scope", before: true, setup: withAssignment,
			write: func(ctx context.Context, a *authz.Service) error {
				_, _, err := a.DeleteAssignmentAt(ctx, sub, name)
				return err
			}},
		{name: "delete a principal's assignments (its identity went)", before: true, setup: withAssignment,
			write: func(ctx context.Context, a *authz.Service) error { return a.DeletePrincipalAssignments(ctx, principal) }},
		{name: "forget a deleted principal", before: true, setup: withAssignment,
			write: func(ctx context.Context, a *authz.Service) error {
				return a.ForgetPrincipal(ctx, principal, "/providers/Microsoft.Directory/servicePrincipals/"+principal)
			}},
		{name: "widen a custom role in use",
			setup: func(ctx context.Context, a *authz.Service) error {
				if err := putRole(groupRead)(ctx, a); err != nil {
					return err
				}
				return assign(ctx, a, roleID)
			},
			write: putRole(groupRead, vaultRead)},
		{name: "narrow a custom role in use", before: true,
			setup: func(ctx context.Context, a *authz.Service) error {
				if err := putRole(vaultRead)(ctx, a); err != nil {
					return err
				}
				return assign(ctx, a, roleID)
			},
			write: putRole(groupRead)},
	}
	skip := func(context.Context, func(context.Context) error) error { return nil }
	for _, c := range cases {
		for _, local := range []bool{true, false} {
			t.Run(c.name+map[bool]string{true: "/catch-up", false: "/feed only"}[local], func(t *testing.T) {
				ctx := context.Background()
				st := wardtest.NewStore(t)
				for _, p := range []string{admin, principal} {
					if err := st.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: p, AppID: p, TenantID: wardtest.TenantID}); err != nil {
						t.Fatal(err)
					}
				}
				var settle func(context.Context, func(context.Context) error) error
				if !local {
					settle = skip
				}
				writer, writerFeed := follower(t, st, settle)
				peer, peerFeed := follower(t, st, skip)
				catchUp := func(f *changefeed.Follower) {
					t.Helper()
					if err := f.CatchUp(ctx); err != nil {
						t.Fatal(err)
					}
				}
				// The admin's Owner grant is what the custom role's
				// scope check asks for.
				if err := writer.EnsureAssignment(ctx, sub, admin, rbac.OwnerID, "ServicePrincipal"); err != nil {
					t.Fatal(err)
				}
				catchUp(writerFeed)
				if c.setup != nil {
					if err := c.setup(ctx, writer); err != nil {
						t.Fatalf("setup: %v", err)
					}
				}
				catchUp(writerFeed)
				catchUp(peerFeed)
				decision := func(who string, a *authz.Service, want bool) {
					t.Helper()
					d, ok := a.Decide(principal, vaultRead, sub, false), a.Allowed(principal, vaultRead, sub)
					if d.Allowed != want || ok != want {
						t.Errorf("%s: %s at %s: Decide %v, Allowed %v; want %v", who, vaultRead, sub, d.Allowed, ok, want)
					}
				}
				decision("writer before the write", writer, c.before)
				decision("peer before the write", peer, c.before)

				if err := c.write(ctx, writer); err != nil {
					t.Fatalf("write: %v", err)
				}
				if local {
					decision("writer when the write returned", writer, !c.before)
				} else {
					decision("writer before its feed is applied", writer, c.before)
					catchUp(writerFeed)
					decision("writer after its feed is applied", writer, !c.before)
				}
				decision("peer before its feed is applied", peer, c.before)
				catchUp(peerFeed)
				decision("peer after its feed is applied", peer, !c.before)
				for who, a := range map[string]*authz.Service{"writer": writer, "peer": peer} {
					if ok, err := a.Consistent(ctx); err != nil || !ok {
						t.Errorf("%s's index disagrees with the database: %v, %v", who, ok, err)
					}
				}
			})
		}
	}
}

// TestFailedCatchUpFailsTheWrite: a write whose catch-up cannot read the
// feed (the store's Changes fails, no stand-in) is stored but answered
// with an error, and the index is stale: every decision is a denial, also
// one an older grant allowed, until the follower's next round applies the
// write.
func TestFailedCatchUpFailsTheWrite(t *testing.T) {
	ctx := context.Background()
	st := wardtest.NewStore(t)
	const (
		principal = "33333333-3333-4333-8333-333333333333"
		read      = "Microsoft.Resources/subscriptions/read"
		getSecret = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	)
	sub := "/subscriptions/" + wardtest.SubscriptionID
	secret := sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/secrets/s"
	if err := st.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: principal, AppID: principal, TenantID: wardtest.TenantID}); err != nil {
		t.Fatal(err)
	}
	access, f := follower(t, st, nil)
	if err := access.EnsureAssignment(ctx, sub, principal, rbac.ReaderID, "ServicePrincipal"); err != nil {
		t.Fatal(err)
	}
	st.Fail("Changes", context.DeadlineExceeded)
	err := access.EnsureAssignment(ctx, sub, principal, rbac.KeyVaultSecretsUserID, "ServicePrincipal")
	st.Heal()
	if err == nil {
		t.Fatal("EnsureAssignment succeeded though its catch-up could not read the feed")
	}
	if _, ferr := st.FindRoleAssignment(ctx, sub, principal, rbac.KeyVaultSecretsUserID); ferr != nil {
		t.Fatalf("the assignment was not stored: %v", ferr)
	}
	if access.Allowed(principal, read, sub) {
		t.Fatal("a stale index still allows what the older grant allowed")
	}
	if err := f.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if !access.Allowed(principal, read, sub) || !access.AllowedData(principal, getSecret, secret) {
		t.Fatal("the follower's next round did not bring the index back with both grants")
	}
}
