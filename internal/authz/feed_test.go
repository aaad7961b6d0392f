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
	access, err := authz.New(ctx, authz.Config{Store: st, Now: time.Now, Settle: s})
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
