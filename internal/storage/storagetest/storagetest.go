// Package storagetest is the conformance suite every storage backend passes.
// Backends call Run with a function that returns a fresh, empty store.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/storage"
)

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Storage)
	}{
		{"TenantsAndSubscriptions", testTenantsAndSubscriptions},
		{"ServicePrincipalsAndSecrets", testServicePrincipals},
		{"ResourceGroups", testResourceGroups},
		{"ResourceGroupPaging", testResourceGroupPaging},
		{"Identities", testIdentities},
		{"IdentityPaging", testIdentityPaging},
		{"FederatedCredentials", testFederatedCredentials},
		{"FederatedCredentialCheckUnderConcurrency", testFICConcurrency},
		{"DeleteResourceGroupCascades", testCascade},
		{"ServicePrincipalCredentials", testSPCredentials},
		{"SigningKeys", testSigningKeys},
		{"SignIns", testSignIns},
		{"RoleAssignments", testRoleAssignments},
		{"RoleDefinitions", testRoleDefinitions},
		{"VaultsAndSecrets", testVaults},
		{"Registries", testRegistries},
		{"ActivityLog", testActivity},
		{"LogFieldCaps", testLogFieldCaps},
		{"SignInAggregation", testSignInAggregation},
		{"LogRetention", testLogRetention},
		{"Clusters", testClusters},
		{"ListPaging", testListPaging},
		{"KeyedListPaging", testKeyedListPaging},
		{"UpdateCluster", testUpdateCluster},
		{"ConcurrentRowWriters", testConcurrentRowWriters},
		{"Machines", testMachines},
		{"ChangeFeed", testChangeFeed},
		{"ChangeFeedCascade", testChangeFeedCascade},
		{"Lock", testLock},
		{"Settings", testSettings},
		{"BlobStorage", testBlobs},
		{"Policy", testPolicy},
		{"Registrations", testRegistrations},
	}
	// Every store is wrapped in a recorder: a method of the interface that
	// no test calls fails the run, so a new method cannot go untested.
	seen := &calls{seen: map[string]bool{}}
	ran := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ran++
			s := &recorder{s: newStore(t), seen: seen}
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
	// With -run selecting some tests only, coverage is not judged.
	if ran == len(tests) {
		if missing := seen.missing(); len(missing) > 0 {
			t.Errorf("the conformance suite never calls these storage.Storage methods: %v; add a test that does", missing)
		}
	}
}

const (
	tenantID = "11111111-1111-1111-1111-111111111111"
	subID    = "22222222-2222-2222-2222-222222222222"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func seed(t *testing.T, s storage.Storage) {
	t.Helper()
	ctx := context.Background()
	must(t, s.CreateTenant(ctx, storage.Tenant{ID: tenantID, DisplayName: "Ward", CreatedAt: now}))
	must(t, s.CreateSubscription(ctx, storage.Subscription{ID: subID, TenantID: tenantID, DisplayName: "default", State: "Enabled", CreatedAt: now}))
}

func seedGroup(t *testing.T, s storage.Storage, name string) {
	t.Helper()
	if _, err := s.PutResourceGroup(context.Background(), storage.ResourceGroup{SubscriptionID: subID, Name: name, Location: "westeurope", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatalf("put group %s: %v", name, err)
	}
}

func newIdentity(rg, name string) storage.Identity {
	return storage.Identity{
		SubscriptionID: subID, ResourceGroup: rg, Name: name, Location: "westeurope",
		Tags: map[string]string{"team": "a"}, TenantID: tenantID,
		ClientID: uuid.NewString(), PrincipalID: uuid.NewString(), IsolationScope: "None",
		CreatedAt: now, UpdatedAt: now,
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Fatalf("%s: got error %v, want %v", what, got, want)
	}
}

func testTenantsAndSubscriptions(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	wantErr(t, "duplicate tenant", s.CreateTenant(ctx, storage.Tenant{ID: tenantID, CreatedAt: now}), storage.ErrAlreadyExists)
	got, err := s.GetTenant(ctx, tenantID)
	must(t, err)
	if got.ID != tenantID || got.DisplayName != "Ward" || !got.CreatedAt.Equal(now) {
		t.Fatalf("tenant = %+v", got)
	}
	_, err = s.GetTenant(ctx, uuid.NewString())
	wantErr(t, "missing tenant", err, storage.ErrNotFound)

	sub, err := s.GetSubscription(ctx, "22222222-2222-2222-2222-222222222222")
	must(t, err)
	if sub.TenantID != tenantID || sub.State != "Enabled" {
		t.Fatalf("subscription = %+v", sub)
	}
	subs, err := listAll(t, func(p storage.Page) ([]storage.Subscription, string, error) { return s.ListSubscriptions(ctx, p) })
	must(t, err)
	if len(subs) != 1 || subs[0].ID != subID {
		t.Fatalf("subscriptions = %+v", subs)
	}
	_, err = s.GetSubscription(ctx, uuid.NewString())
	wantErr(t, "missing subscription", err, storage.ErrNotFound)
	wantErr(t, "subscription in missing tenant",
		s.CreateSubscription(ctx, storage.Subscription{ID: uuid.NewString(), TenantID: uuid.NewString(), State: "Enabled"}), storage.ErrParentNotFound)
}

func testServicePrincipals(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	sp := storage.ServicePrincipal{ObjectID: uuid.NewString(), AppID: uuid.NewString(), TenantID: tenantID, DisplayName: "admin", CreatedAt: now}
	must(t, s.CreateServicePrincipal(ctx, sp))
	wantErr(t, "duplicate app id", s.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: uuid.NewString(), AppID: sp.AppID, TenantID: tenantID}), storage.ErrAlreadyExists)
	got, err := s.GetServicePrincipalByAppID(ctx, sp.AppID)
	must(t, err)
	if got.ObjectID != sp.ObjectID || got.DisplayName != "admin" {
		t.Fatalf("sp = %+v, want %+v", got, sp)
	}
	// A managed identity's principal keeps the resource it stands for, by
	// client ID and by object ID.
	mi := storage.ServicePrincipal{ObjectID: uuid.NewString(), AppID: uuid.NewString(), TenantID: tenantID, DisplayName: "vm1", CreatedAt: now,
		ManagedResourceID: "/subscriptions/" + subID + "/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/vm1"}
	must(t, s.CreateServicePrincipal(ctx, mi))
	byApp, err := s.GetServicePrincipalByAppID(ctx, mi.AppID)
	must(t, err)
	byObj, err := s.GetServicePrincipal(ctx, mi.ObjectID)
	must(t, err)
	if byApp.ManagedResourceID != mi.ManagedResourceID || byObj.ManagedResourceID != mi.ManagedResourceID {
		t.Fatalf("managed principal = %+v / %+v, want ManagedResourceID %q", byApp, byObj, mi.ManagedResourceID)
	}
	if got.ManagedResourceID != "" {
		t.Fatalf("application principal has ManagedResourceID %q", got.ManagedResourceID)
	}
	exp := now.Add(24 * time.Hour)
	sec := storage.ClientSecret{KeyID: uuid.NewString(), AppID: sp.AppID, Hint: "abc", DisplayName: "rbac", Salt: []byte{1, 2, 3}, Hash: []byte{4, 5, 6, 255}, ExpiresAt: exp, CreatedAt: now}
	must(t, s.AddClientSecret(ctx, sec))
	wantErr(t, "secret for missing sp", s.AddClientSecret(ctx, storage.ClientSecret{KeyID: uuid.NewString(), AppID: uuid.NewString(), Salt: []byte{1}, Hash: []byte{1}}), storage.ErrParentNotFound)
	secs, err := listAll(t, func(p storage.Page) ([]storage.ClientSecret, string, error) {
		return s.ListClientSecrets(ctx, sp.AppID, p)
	})
	must(t, err)
	if len(secs) != 1 || string(secs[0].Hash) != string(sec.Hash) || string(secs[0].Salt) != string(sec.Salt) || !secs[0].ExpiresAt.Equal(exp) || secs[0].Hint != "abc" {
		t.Fatalf("secrets = %+v", secs)
	}
}

func testResourceGroups(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	rg := storage.ResourceGroup{SubscriptionID: subID, Name: "My-RG", Location: "westeurope", Tags: map[string]string{"env": "dev"}, CreatedAt: now, UpdatedAt: now}
	created, err := s.PutResourceGroup(ctx, rg)
	must(t, err)
	if !created {
		t.Fatal("first put: created = false")
	}
	later := now.Add(time.Minute)
	rg2 := storage.ResourceGroup{SubscriptionID: subID, Name: "my-rg", Location: "westeurope", Tags: map[string]string{"env": "prod"}, ManagedBy: "/subscriptions/" + subID + "/resourceGroups/x/providers/Microsoft.ContainerService/managedClusters/c", CreatedAt: later, UpdatedAt: later}
	created, err = s.PutResourceGroup(ctx, rg2)
	must(t, err)
	if created {
		t.Fatal("second put (other case): created = true, want an update")
	}
	got, err := s.GetResourceGroup(ctx, subID, "MY-RG")
	must(t, err)
	if got.Name != "My-RG" || got.Tags["env"] != "prod" || got.ManagedBy != rg2.ManagedBy || !got.CreatedAt.Equal(now) || !got.UpdatedAt.Equal(later) {
		t.Fatalf("group = %+v: want original name and creation time, new tags and managedBy", got)
	}
	_, err = s.PutResourceGroup(ctx, storage.ResourceGroup{SubscriptionID: uuid.NewString(), Name: "x", Location: "l"})
	wantErr(t, "group in missing subscription", err, storage.ErrParentNotFound)
	must(t, s.DeleteResourceGroup(ctx, subID, "my-RG"))
	_, err = s.GetResourceGroup(ctx, subID, "My-RG")
	wantErr(t, "deleted group", err, storage.ErrNotFound)
	wantErr(t, "delete again", s.DeleteResourceGroup(ctx, subID, "My-RG"), storage.ErrNotFound)
	items, next, err := s.ListResourceGroups(ctx, subID, storage.Page{})
	must(t, err)
	if items == nil || len(items) != 0 || next != "" {
		t.Fatalf("empty list = %#v, %q; want an empty non-nil slice", items, next)
	}
}

func testResourceGroupPaging(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	var want []string
	for i := 0; i < 7; i++ {
		name := fmt.Sprintf("rg-%02d", i)
		seedGroup(t, s, name)
		want = append(want, name)
	}
	var got []string
	p := storage.Page{Limit: 3}
	for pages := 0; ; pages++ {
		items, next, err := s.ListResourceGroups(ctx, subID, p)
		must(t, err)
		if len(items) > 3 {
			t.Fatalf("page of %d items, limit 3", len(items))
		}
		for _, it := range items {
			got = append(got, it.Name)
		}
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		p.After = next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged names = %v, want %v", got, want)
	}
}

func testIdentities(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	id := newIdentity("rg", "App-Id")
	must(t, s.CreateIdentity(ctx, id))
	dup := newIdentity("RG", "app-id")
	wantErr(t, "duplicate name, other case", s.CreateIdentity(ctx, dup), storage.ErrAlreadyExists)
	wantErr(t, "identity in missing group", s.CreateIdentity(ctx, newIdentity("nope", "x")), storage.ErrParentNotFound)

	got, err := s.GetIdentity(ctx, storage.IdentityRef{SubscriptionID: subID, ResourceGroup: "Rg", Name: "APP-ID"})
	must(t, err)
	if got.Name != "App-Id" || got.ClientID != id.ClientID || got.PrincipalID != id.PrincipalID || got.Tags["team"] != "a" || got.TenantID != tenantID {
		t.Fatalf("identity = %+v, want %+v", got, id)
	}
	byClient, err := s.GetIdentityByClientID(ctx, id.ClientID)
	must(t, err)
	if byClient.Name != "App-Id" {
		t.Fatalf("by client id = %+v", byClient)
	}
	_, err = s.GetIdentityByClientID(ctx, uuid.NewString())
	wantErr(t, "unknown client id", err, storage.ErrNotFound)

	later := now.Add(time.Hour)
	upd, err := s.UpdateIdentity(ctx, id.Ref(), func(old storage.Identity) (storage.Identity, error) {
		old.Tags = map[string]string{"team": "b"}
		old.ClientID = "must-not-change"
		old.UpdatedAt = later
		return old, nil
	})
	must(t, err)
	if upd.Tags["team"] != "b" || upd.ClientID != id.ClientID || !upd.UpdatedAt.Equal(later) {
		t.Fatalf("updated = %+v", upd)
	}
	got, err = s.GetIdentity(ctx, id.Ref())
	must(t, err)
	if got.Tags["team"] != "b" || got.ClientID != id.ClientID || !got.CreatedAt.Equal(now) {
		t.Fatalf("after update = %+v", got)
	}
	boom := errors.New("boom")
	_, err = s.UpdateIdentity(ctx, id.Ref(), func(storage.Identity) (storage.Identity, error) { return storage.Identity{}, boom })
	wantErr(t, "update fn error", err, boom)
	_, err = s.UpdateIdentity(ctx, storage.IdentityRef{SubscriptionID: subID, ResourceGroup: "rg", Name: "nope"}, func(i storage.Identity) (storage.Identity, error) { return i, nil })
	wantErr(t, "update missing", err, storage.ErrNotFound)

	must(t, s.DeleteIdentity(ctx, id.Ref()))
	_, err = s.GetIdentity(ctx, id.Ref())
	wantErr(t, "deleted identity", err, storage.ErrNotFound)
	wantErr(t, "delete twice", s.DeleteIdentity(ctx, id.Ref()), storage.ErrNotFound)
	again := newIdentity("rg", "App-Id")
	must(t, s.CreateIdentity(ctx, again))
	got, err = s.GetIdentity(ctx, again.Ref())
	must(t, err)
	if got.ClientID == id.ClientID {
		t.Fatal("re-created identity kept the old client ID")
	}
}

func testIdentityPaging(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "a")
	seedGroup(t, s, "b")
	for i := 0; i < 5; i++ {
		must(t, s.CreateIdentity(ctx, newIdentity("a", fmt.Sprintf("id-%d", i))))
		must(t, s.CreateIdentity(ctx, newIdentity("b", fmt.Sprintf("id-%d", i))))
	}
	count := func(f storage.IdentityFilter) int {
		n := 0
		p := storage.Page{Limit: 2}
		for {
			items, next, err := s.ListIdentities(ctx, f, p)
			must(t, err)
			n += len(items)
			if next == "" {
				return n
			}
			p.After = next
		}
	}
	if n := count(storage.IdentityFilter{SubscriptionID: subID}); n != 10 {
		t.Fatalf("subscription list: %d identities, want 10", n)
	}
	if n := count(storage.IdentityFilter{SubscriptionID: subID, ResourceGroup: "A"}); n != 5 {
		t.Fatalf("group list: %d identities, want 5", n)
	}
}

func testFederatedCredentials(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	id := newIdentity("rg", "app")
	must(t, s.CreateIdentity(ctx, id))
	fic := storage.FederatedCredential{Identity: id.Ref(), Name: "Fic-1", Issuer: "https://issuer.example/a/", Subject: "system:serviceaccount:default:app", Audiences: []string{"api://AzureADTokenExchange"}, CreatedAt: now, UpdatedAt: now}
	var seen []storage.FederatedCredential
	created, err := s.PutFederatedCredential(ctx, fic, func(sib []storage.FederatedCredential) error { seen = sib; return nil })
	must(t, err)
	if !created || len(seen) != 0 {
		t.Fatalf("first put: created=%v siblings=%v", created, seen)
	}
	fic2 := fic
	fic2.Name, fic2.Subject = "fic-2", "system:serviceaccount:default:other"
	_, err = s.PutFederatedCredential(ctx, fic2, func(sib []storage.FederatedCredential) error { seen = sib; return nil })
	must(t, err)
	if len(seen) != 1 || seen[0].Name != "Fic-1" || seen[0].Subject != fic.Subject {
		t.Fatalf("siblings seen by check = %+v", seen)
	}
	// Replace fic-1 (other case): not created, siblings exclude itself.
	upd := fic
	upd.Name, upd.Subject, upd.UpdatedAt = "FIC-1", "system:serviceaccount:prod:app", now.Add(time.Minute)
	created, err = s.PutFederatedCredential(ctx, upd, func(sib []storage.FederatedCredential) error { seen = sib; return nil })
	must(t, err)
	if created || len(seen) != 1 || seen[0].Name != "fic-2" {
		t.Fatalf("replace: created=%v siblings=%+v", created, seen)
	}
	got, err := s.GetFederatedCredential(ctx, id.Ref(), "fic-1")
	must(t, err)
	if got.Name != "Fic-1" || got.Subject != "system:serviceaccount:prod:app" || got.Issuer != fic.Issuer || len(got.Audiences) != 1 || !got.CreatedAt.Equal(now) {
		t.Fatalf("after replace = %+v", got)
	}
	// A flexible credential keeps its expression; replacing it with a plain
	// one clears the expression.
	flex := fic
	flex.Name, flex.Subject, flex.Expression, flex.ExpressionVersion = "flex", "", "claims['sub'] matches 'system:serviceaccount:team-*:*'", 1
	_, err = s.PutFederatedCredential(ctx, flex, nil)
	must(t, err)
	got, err = s.GetFederatedCredential(ctx, id.Ref(), "flex")
	must(t, err)
	if got.Subject != "" || got.Expression != flex.Expression || got.ExpressionVersion != 1 {
		t.Fatalf("flexible credential read back as %+v", got)
	}
	plain := fic
	plain.Name, plain.Subject = "flex", "system:serviceaccount:x:y"
	_, err = s.PutFederatedCredential(ctx, plain, nil)
	must(t, err)
	got, err = s.GetFederatedCredential(ctx, id.Ref(), "flex")
	must(t, err)
	if got.Subject != plain.Subject || got.Expression != "" || got.ExpressionVersion != 0 {
		t.Fatalf("flexible credential replaced by a plain one read back as %+v", got)
	}
	must(t, s.DeleteFederatedCredential(ctx, id.Ref(), "flex"))
	// A refusing check writes nothing.
	refuse := errors.New("refused")
	fic3 := fic
	fic3.Name = "fic-3"
	_, err = s.PutFederatedCredential(ctx, fic3, func([]storage.FederatedCredential) error { return refuse })
	wantErr(t, "refused put", err, refuse)
	_, err = s.GetFederatedCredential(ctx, id.Ref(), "fic-3")
	wantErr(t, "refused credential", err, storage.ErrNotFound)

	missing := storage.IdentityRef{SubscriptionID: subID, ResourceGroup: "rg", Name: "ghost"}
	_, err = s.PutFederatedCredential(ctx, storage.FederatedCredential{Identity: missing, Name: "x", Audiences: []string{"a"}}, nil)
	wantErr(t, "put under missing identity", err, storage.ErrParentNotFound)
	_, _, err = s.ListFederatedCredentials(ctx, missing, storage.Page{})
	wantErr(t, "list under missing identity", err, storage.ErrParentNotFound)

	items, next, err := s.ListFederatedCredentials(ctx, id.Ref(), storage.Page{Limit: 1})
	must(t, err)
	if len(items) != 1 || next == "" {
		t.Fatalf("first page = %+v next=%q", items, next)
	}
	items2, next, err := s.ListFederatedCredentials(ctx, id.Ref(), storage.Page{Limit: 1, After: next})
	must(t, err)
	if len(items2) != 1 || next != "" || items2[0].Name == items[0].Name {
		t.Fatalf("second page = %+v next=%q", items2, next)
	}
	must(t, s.DeleteFederatedCredential(ctx, id.Ref(), "FIC-2"))
	wantErr(t, "delete twice", s.DeleteFederatedCredential(ctx, id.Ref(), "fic-2"), storage.ErrNotFound)
	// Deleting the identity deletes its credentials; a re-created identity starts empty.
	must(t, s.DeleteIdentity(ctx, id.Ref()))
	must(t, s.CreateIdentity(ctx, newIdentity("rg", "app")))
	items, _, err = s.ListFederatedCredentials(ctx, id.Ref(), storage.Page{})
	must(t, err)
	if len(items) != 0 {
		t.Fatalf("re-created identity inherited credentials: %+v", items)
	}
}

// testFICConcurrency writes many credentials at once under one identity with
// a check that allows at most 5: the store must never let more than 5 land.
func testFICConcurrency(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	id := newIdentity("rg", "app")
	must(t, s.CreateIdentity(ctx, id))
	errLimit := errors.New("limit")
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := storage.FederatedCredential{Identity: id.Ref(), Name: fmt.Sprintf("fic-%02d", i), Issuer: "https://i.example", Subject: fmt.Sprint("s", i), Audiences: []string{"a"}, CreatedAt: now, UpdatedAt: now}
			_, errs[i] = s.PutFederatedCredential(ctx, c, func(sib []storage.FederatedCredential) error {
				if len(sib) >= 5 {
					return errLimit
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, errLimit), errors.Is(err, storage.ErrConflict):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	items, _, err := s.ListFederatedCredentials(ctx, id.Ref(), storage.Page{})
	must(t, err)
	if len(items) != ok || ok > 5 || ok == 0 {
		names := []string{}
		for _, it := range items {
			names = append(names, it.Name)
		}
		sort.Strings(names)
		t.Fatalf("%d writes succeeded, %d stored (%v); want the same number, at most 5", ok, len(items), names)
	}
}

func testCascade(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	id := newIdentity("rg", "app")
	must(t, s.CreateIdentity(ctx, id))
	_, err := s.PutFederatedCredential(ctx, storage.FederatedCredential{Identity: id.Ref(), Name: "fic", Issuer: "https://i", Subject: "s", Audiences: []string{"a"}}, nil)
	must(t, err)
	must(t, s.DeleteResourceGroup(ctx, subID, "RG"))
	_, err = s.GetIdentityByClientID(ctx, id.ClientID)
	wantErr(t, "identity of deleted group", err, storage.ErrNotFound)
	seedGroup(t, s, "rg")
	must(t, s.CreateIdentity(ctx, newIdentity("rg", "app")))
	items, _, err := s.ListFederatedCredentials(ctx, id.Ref(), storage.Page{})
	must(t, err)
	if len(items) != 0 {
		t.Fatalf("credentials survived their group: %+v", items)
	}
}

func testSPCredentials(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	sp := storage.ServicePrincipal{ObjectID: uuid.NewString(), AppID: uuid.NewString(), TenantID: tenantID, DisplayName: "b-app", CreatedAt: now}
	sp2 := storage.ServicePrincipal{ObjectID: uuid.NewString(), AppID: uuid.NewString(), TenantID: tenantID, DisplayName: "a-app", CreatedAt: now}
	must(t, s.CreateServicePrincipal(ctx, sp))
	must(t, s.CreateServicePrincipal(ctx, sp2))
	got, err := s.GetServicePrincipal(ctx, sp.ObjectID)
	must(t, err)
	if got.AppID != sp.AppID {
		t.Fatalf("by object id = %+v", got)
	}
	all, err := listAll(t, func(p storage.Page) ([]storage.ServicePrincipal, string, error) {
		return s.ListServicePrincipals(ctx, p)
	})
	must(t, err)
	if len(all) != 2 || all[0].DisplayName != "a-app" {
		t.Fatalf("list = %+v", all)
	}
	sec := storage.ClientSecret{KeyID: uuid.NewString(), AppID: sp.AppID, Hint: "abc", Salt: []byte{1}, Hash: []byte{2}, CreatedAt: now}
	must(t, s.AddClientSecret(ctx, sec))
	cert := storage.Certificate{KeyID: uuid.NewString(), AppID: sp.AppID, Thumbprint: "ab12", CertDER: []byte{0x30, 0x82, 0}, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
	must(t, s.AddCertificate(ctx, cert))
	certs, err := listAll(t, func(p storage.Page) ([]storage.Certificate, string, error) {
		return s.ListCertificates(ctx, sp.AppID, p)
	})
	must(t, err)
	if len(certs) != 1 || certs[0].Thumbprint != "ab12" || string(certs[0].CertDER) != string(cert.CertDER) || !certs[0].ExpiresAt.Equal(cert.ExpiresAt) {
		t.Fatalf("certificates = %+v", certs)
	}
	wantErr(t, "delete secret of other sp", s.DeleteClientSecret(ctx, sp2.AppID, sec.KeyID), storage.ErrNotFound)
	must(t, s.DeleteClientSecret(ctx, sp.AppID, sec.KeyID))
	secs, err := listAll(t, func(p storage.Page) ([]storage.ClientSecret, string, error) {
		return s.ListClientSecrets(ctx, sp.AppID, p)
	})
	must(t, err)
	if len(secs) != 0 {
		t.Fatalf("secrets after delete = %+v", secs)
	}
	must(t, s.AddClientSecret(ctx, storage.ClientSecret{KeyID: uuid.NewString(), AppID: sp.AppID, Salt: []byte{1}, Hash: []byte{2}}))
	must(t, s.DeleteServicePrincipal(ctx, sp.ObjectID))
	wantErr(t, "delete twice", s.DeleteServicePrincipal(ctx, sp.ObjectID), storage.ErrNotFound)
	secs, err = listAll(t, func(p storage.Page) ([]storage.ClientSecret, string, error) {
		return s.ListClientSecrets(ctx, sp.AppID, p)
	})
	must(t, err)
	certs, err2 := listAll(t, func(p storage.Page) ([]storage.Certificate, string, error) {
		return s.ListCertificates(ctx, sp.AppID, p)
	})
	must(t, err2)
	if len(secs) != 0 || len(certs) != 0 {
		t.Fatalf("credentials survived their principal: %d secrets, %d certificates", len(secs), len(certs))
	}
	wantErr(t, "delete cert", s.DeleteCertificate(ctx, sp.AppID, cert.KeyID), storage.ErrNotFound)
}

func testSigningKeys(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	k1 := storage.SigningKey{KID: "k1", Alg: "RS256", EncryptedKey: []byte{9, 8, 7}, CertDER: []byte{1}, CreatedAt: now, ActiveFrom: now, RetireAt: now.Add(48 * time.Hour)}
	k0 := storage.SigningKey{KID: "k0", Alg: "ES256", EncryptedKey: []byte{1}, CertDER: []byte{2}, CreatedAt: now, ActiveFrom: now.Add(-time.Hour), RetireAt: now.Add(time.Hour)}
	must(t, s.CreateSigningKey(ctx, k1))
	must(t, s.CreateSigningKey(ctx, k0))
	wantErr(t, "duplicate kid", s.CreateSigningKey(ctx, k1), storage.ErrAlreadyExists)
	must(t, s.CreateSigningKey(ctx, storage.SigningKey{Owner: "cluster-1", KID: "c1", Alg: "RS256", EncryptedKey: []byte{1}, CertDER: []byte{1}, ActiveFrom: now, RetireAt: now}))
	keys, err := listAll(t, func(p storage.Page) ([]storage.SigningKey, string, error) { return s.ListSigningKeys(ctx, "", p) })
	must(t, err)
	if len(keys) != 2 || keys[0].KID != "k0" || string(keys[1].EncryptedKey) != string(k1.EncryptedKey) || !keys[1].RetireAt.Equal(k1.RetireAt) {
		t.Fatalf("keys = %+v", keys)
	}
	must(t, s.DeleteSigningKey(ctx, "k0"))
	wantErr(t, "delete twice", s.DeleteSigningKey(ctx, "k0"), storage.ErrNotFound)
}

func testSignIns(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		must(t, s.RecordSignIn(ctx, storage.SignIn{ID: fmt.Sprint("si-", i), Time: now.Add(time.Duration(i) * time.Minute), TenantID: tenantID,
			ClientID: "c", Resource: "https://management.azure.com", Credential: "federated", Result: "failure", ErrorCode: 700213,
			Reason: "subject", Issuer: "https://i", Subject: "s", Verified: i%2 == 0}))
	}
	got, err := s.ListSignIns(ctx, now.Add(2*time.Minute), 10)
	must(t, err)
	if len(got) != 3 || got[0].ID != "si-4" || got[2].ID != "si-2" || got[0].ErrorCode != 700213 || got[0].Issuer != "https://i" {
		t.Fatalf("sign-ins = %+v", got)
	}
	// Whether the assertion was verified round-trips: the console's fix
	// depends on it.
	if !got[0].Verified || got[1].Verified || !got[2].Verified {
		t.Fatalf("verified flags of si-4, si-3, si-2 = %v, %v, %v; want true, false, true", got[0].Verified, got[1].Verified, got[2].Verified)
	}
	got, err = s.ListSignIns(ctx, time.Time{}, 2)
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("limit 2: %d", len(got))
	}
}

func testRoleAssignments(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	scope := "/subscriptions/" + subID + "/resourceGroups/rg"
	a := storage.RoleAssignment{ID: uuid.NewString(), Scope: scope, PrincipalID: uuid.NewString(), PrincipalType: "ServicePrincipal",
		RoleDefinitionID: "4633458b-17de-408a-b874-0445c86b69e6", CreatedBy: "admin", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateRoleAssignment(ctx, a))
	dupTriple := a
	dupTriple.ID, dupTriple.Scope = uuid.NewString(), strings.ToUpper(scope)+"/"
	wantErr(t, "same scope, principal and role", s.CreateRoleAssignment(ctx, dupTriple), storage.ErrAlreadyExists)
	dupID := a
	dupID.RoleDefinitionID = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	wantErr(t, "same ID", s.CreateRoleAssignment(ctx, dupID), storage.ErrAlreadyExists)
	got, err := s.GetRoleAssignment(ctx, strings.ToUpper(a.ID))
	must(t, err)
	if got.Scope != scope || got.PrincipalType != "ServicePrincipal" || got.CreatedBy != "admin" || !got.CreatedAt.Equal(now) {
		t.Fatalf("assignment = %+v", got)
	}
	found, err := s.FindRoleAssignment(ctx, strings.ToLower(scope), strings.ToUpper(a.PrincipalID), a.RoleDefinitionID)
	must(t, err)
	if found.ID != got.ID {
		t.Fatalf("find = %+v", found)
	}
	all, err := listAll(t, func(p storage.Page) ([]storage.RoleAssignment, string, error) { return s.ListRoleAssignments(ctx, p) })
	must(t, err)
	if len(all) != 1 {
		t.Fatalf("list = %+v", all)
	}
	must(t, s.DeleteRoleAssignment(ctx, a.ID))
	wantErr(t, "delete twice", s.DeleteRoleAssignment(ctx, a.ID), storage.ErrNotFound)
	_, err = s.GetRoleAssignment(ctx, a.ID)
	wantErr(t, "get deleted", err, storage.ErrNotFound)

	id := newIdentity("rg", "app")
	must(t, s.CreateIdentity(ctx, id))
	byP, err := s.GetIdentityByPrincipalID(ctx, strings.ToUpper(id.PrincipalID))
	must(t, err)
	if byP.Name != "app" {
		t.Fatalf("identity by principal = %+v", byP)
	}
}

func testRoleDefinitions(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	d := storage.RoleDefinition{ID: uuid.NewString(), Name: "Custom", Description: "d", AssignableScopes: []string{"/subscriptions/" + subID},
		Permissions: []storage.RolePermission{{Actions: []string{"*/read"}, NotActions: []string{"Microsoft.Authorization/*/write"}},
			{DataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action"}, NotDataActions: []string{}}}, CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateRoleDefinition(ctx, d))
	wantErr(t, "create twice", s.CreateRoleDefinition(ctx, d), storage.ErrAlreadyExists)
	later := now.Add(time.Minute)
	upd, err := s.UpdateRoleDefinition(ctx, strings.ToUpper(d.ID), func(old storage.RoleDefinition) (storage.RoleDefinition, error) {
		if old.Description != "d" || !old.CreatedAt.Equal(now) {
			t.Errorf("update sees %+v", old)
		}
		old.Description, old.UpdatedAt = "changed", later
		old.ID, old.CreatedAt = "ignored", later
		return old, nil
	})
	must(t, err)
	if upd.Description != "changed" || upd.ID != d.ID || !upd.CreatedAt.Equal(now) || !upd.UpdatedAt.Equal(later) {
		t.Fatalf("updated = %+v", upd)
	}
	boom := errors.New("boom")
	_, err = s.UpdateRoleDefinition(ctx, d.ID, func(storage.RoleDefinition) (storage.RoleDefinition, error) { return storage.RoleDefinition{}, boom })
	wantErr(t, "update fn error", err, boom)
	_, err = s.UpdateRoleDefinition(ctx, uuid.NewString(), func(old storage.RoleDefinition) (storage.RoleDefinition, error) { return old, nil })
	wantErr(t, "update missing", err, storage.ErrNotFound)
	got, err := s.GetRoleDefinition(ctx, d.ID)
	must(t, err)
	if got.Description != "changed" || fmt.Sprint(got.Permissions) != fmt.Sprint(d.Permissions) || len(got.AssignableScopes) != 1 {
		t.Fatalf("definition = %+v", got)
	}
	list, err := listAll(t, func(p storage.Page) ([]storage.RoleDefinition, string, error) { return s.ListRoleDefinitions(ctx, p) })
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("list = %+v", list)
	}
	must(t, s.DeleteRoleDefinition(ctx, d.ID))
	wantErr(t, "delete twice", s.DeleteRoleDefinition(ctx, d.ID), storage.ErrNotFound)
}

func testVaults(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	seedGroup(t, s, "other")
	v := storage.Vault{SubscriptionID: subID, ResourceGroup: "rg", Name: "Team-KV", Location: "westeurope", TenantID: tenantID, SKU: "standard", CreatedAt: now, UpdatedAt: now}
	created, err := s.PutVault(ctx, v)
	must(t, err)
	if !created {
		t.Fatal("not created")
	}
	if created, err = s.PutVault(ctx, v); err != nil || created {
		t.Fatalf("update: %v %v", created, err)
	}
	later := now.Add(time.Minute)
	updated, err := s.UpdateVault(ctx, "TEAM-kv", func(old storage.Vault) (storage.Vault, error) {
		old.Tags, old.SKU, old.UpdatedAt = map[string]string{"env": "dev"}, "premium", later
		old.ResourceGroup, old.CreatedAt = "ignored", later
		old.Echo = []byte(`{"properties":{"createMode":"default"}}`)
		return old, nil
	})
	must(t, err)
	if string(updated.Echo) != `{"properties":{"createMode":"default"}}` {
		t.Fatalf("updated vault's echo = %s", updated.Echo)
	}
	if updated.Tags["env"] != "dev" || updated.SKU != "premium" || updated.ResourceGroup != "rg" || !updated.CreatedAt.Equal(now) || !updated.UpdatedAt.Equal(later) {
		t.Fatalf("updated vault = %+v", updated)
	}
	boom := errors.New("boom")
	_, err = s.UpdateVault(ctx, "team-kv", func(storage.Vault) (storage.Vault, error) { return storage.Vault{}, boom })
	wantErr(t, "update fn error", err, boom)
	_, err = s.UpdateVault(ctx, "absent-kv", func(old storage.Vault) (storage.Vault, error) { return old, nil })
	wantErr(t, "update missing vault", err, storage.ErrNotFound)
	elsewhere := v
	elsewhere.ResourceGroup = "other"
	_, err = s.PutVault(ctx, elsewhere)
	wantErr(t, "global vault name", err, storage.ErrAlreadyExists)
	got, err := s.GetVault(ctx, "team-kv")
	must(t, err)
	if got.Name != "Team-KV" || got.ResourceGroup != "rg" {
		t.Fatalf("vault = %+v", got)
	}
	list, err := listAll(t, func(p storage.Page) ([]storage.Vault, string, error) { return s.ListVaults(ctx, subID, "RG", p) })
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("list = %+v", list)
	}
	v1 := testSecrets(t, s)

	// Deleting a vault deletes its secrets; its name is free again.
	must(t, s.AddSecretVersion(ctx, v1))
	must(t, s.DeleteVault(ctx, "TEAM-KV"))
	wantErr(t, "delete vault twice", s.DeleteVault(ctx, "team-kv"), storage.ErrNotFound)
	_, err = s.GetVault(ctx, "team-kv")
	wantErr(t, "deleted vault", err, storage.ErrNotFound)
	_, err = s.GetSecret(ctx, "team-kv", "db", "")
	wantErr(t, "secret of deleted vault", err, storage.ErrNotFound)
	if created, err := s.PutVault(ctx, v); err != nil || !created {
		t.Fatalf("re-create deleted vault: created=%v %v", created, err)
	}
	must(t, s.AddSecretVersion(ctx, v1))
	must(t, s.DeleteResourceGroup(ctx, subID, "rg"))
	_, err = s.GetVault(ctx, "team-kv")
	wantErr(t, "vault of deleted group", err, storage.ErrNotFound)
	_, err = s.GetSecret(ctx, "team-kv", "db", "")
	wantErr(t, "secret of deleted vault", err, storage.ErrNotFound)
}

// testSecrets runs the secret versions of vault team-kv (which must
// exist) through their life, deleting them at the end; it returns the first
// version, for the vault test to add again.
func testSecrets(t *testing.T, s storage.Storage) storage.Secret {
	ctx := context.Background()
	v1 := storage.Secret{Vault: "team-kv", Name: "DB", Version: "00000000000000000000000000000001", EncryptedValue: []byte{1, 2}, Enabled: true, CreatedAt: now, UpdatedAt: now}
	v2 := v1
	v2.Version, v2.EncryptedValue, v2.CreatedAt = "00000000000000000000000000000002", []byte{3}, now.Add(time.Second)
	must(t, s.AddSecretVersion(ctx, v1))
	must(t, s.AddSecretVersion(ctx, v2))
	wantErr(t, "duplicate version", s.AddSecretVersion(ctx, v2), storage.ErrAlreadyExists)
	latest, err := s.GetSecret(ctx, "TEAM-KV", "db", "")
	must(t, err)
	if latest.Version != v2.Version || string(latest.EncryptedValue) != string(v2.EncryptedValue) || latest.Name != "DB" {
		t.Fatalf("latest = %+v", latest)
	}
	upd, err := s.UpdateSecretVersion(ctx, "TEAM-KV", "db", v1.Version, func(old storage.Secret) (storage.Secret, error) {
		old.Enabled, old.ContentType, old.UpdatedAt = false, "text/plain", now.Add(time.Minute)
		old.EncryptedValue, old.Version = []byte{9}, "ignored"
		return old, nil
	})
	must(t, err)
	old, _ := s.GetSecret(ctx, "team-kv", "db", v1.Version)
	if old.Enabled || old.ContentType != "text/plain" || string(old.EncryptedValue) != string(v1.EncryptedValue) || upd.Version != v1.Version || upd.Name != "DB" {
		t.Fatalf("updated = %+v, stored %+v", upd, old)
	}
	// Without a version the newest is updated.
	upd, err = s.UpdateSecretVersion(ctx, "team-kv", "DB", "", func(old storage.Secret) (storage.Secret, error) {
		old.Tags = map[string]string{"k": "v"}
		return old, nil
	})
	must(t, err)
	if latest, _ := s.GetSecret(ctx, "team-kv", "db", ""); upd.Version != v2.Version || latest.Tags["k"] != "v" {
		t.Fatalf("update of the newest = %+v, stored %+v", upd, latest)
	}
	_, err = s.UpdateSecretVersion(ctx, "team-kv", "db", "00000000000000000000000000000009", func(old storage.Secret) (storage.Secret, error) { return old, nil })
	wantErr(t, "update missing version", err, storage.ErrNotFound)
	secrets, err := listAll(t, func(p storage.Page) ([]storage.Secret, string, error) { return s.ListSecrets(ctx, "team-kv", p) })
	must(t, err)
	versions, err := listAll(t, func(p storage.Page) ([]storage.Secret, string, error) {
		return s.ListSecretVersions(ctx, "team-kv", "DB", p)
	})
	must(t, err)
	if len(secrets) != 1 || secrets[0].Version != v2.Version || len(versions) != 2 {
		t.Fatalf("secrets %+v versions %d", secrets, len(versions))
	}
	must(t, s.DeleteSecret(ctx, "team-kv", "db"))
	_, err = s.GetSecret(ctx, "team-kv", "db", "")
	wantErr(t, "deleted secret", err, storage.ErrNotFound)
	wantErr(t, "delete secret twice", s.DeleteSecret(ctx, "team-kv", "db"), storage.ErrNotFound)

	testSecretSoftDelete(t, s, v1, v2)
	return v1
}

// testSecretSoftDelete: a soft-deleted secret keeps its versions out of
// every live read, holds its name, and is recovered or purged whole. v1 and
// v2 are two versions of one secret in a live vault that holds no secret.
func testSecretSoftDelete(t *testing.T, s storage.Storage, v1, v2 storage.Secret) {
	ctx := context.Background()
	must(t, s.AddSecretVersion(ctx, v1))
	must(t, s.AddSecretVersion(ctx, v2))
	other := v1
	other.Name, other.Version = "api-key", "00000000000000000000000000000003"
	must(t, s.AddSecretVersion(ctx, other))
	at, purge := now.Add(time.Hour), now.Add(91*24*time.Hour)
	_, err := s.SoftDeleteSecret(ctx, "team-kv", "absent", at, purge)
	wantErr(t, "soft-delete a missing secret", err, storage.ErrNotFound)
	gone, err := s.SoftDeleteSecret(ctx, "TEAM-KV", "db", at, purge)
	must(t, err)
	if gone.Version != v2.Version || !gone.DeletedAt.Equal(at) || !gone.PurgeAt.Equal(purge) {
		t.Fatalf("soft-deleted = %+v, want version %s deleted at %v, purged at %v", gone, v2.Version, at, purge)
	}
	_, err = s.SoftDeleteSecret(ctx, "team-kv", "db", at, purge)
	wantErr(t, "soft-delete twice", err, storage.ErrNotFound)
	_, err = s.GetSecret(ctx, "team-kv", "db", "")
	wantErr(t, "live read of a deleted secret", err, storage.ErrNotFound)
	_, err = s.GetSecret(ctx, "team-kv", "db", v1.Version)
	wantErr(t, "live read of a deleted secret's version", err, storage.ErrNotFound)
	_, err = s.UpdateSecretVersion(ctx, "team-kv", "db", "", func(old storage.Secret) (storage.Secret, error) { return old, nil })
	wantErr(t, "update of a deleted secret", err, storage.ErrNotFound)
	wantErr(t, "outright delete of a deleted secret", s.DeleteSecret(ctx, "team-kv", "db"), storage.ErrNotFound)
	v3 := v1
	v3.Version = "00000000000000000000000000000004"
	wantErr(t, "a new version under a deleted name", s.AddSecretVersion(ctx, v3), storage.ErrAlreadyExists)
	live, err := listAll(t, func(p storage.Page) ([]storage.Secret, string, error) { return s.ListSecrets(ctx, "team-kv", p) })
	must(t, err)
	if len(live) != 1 || live[0].Name != "api-key" {
		t.Fatalf("live secrets after a soft delete = %+v", live)
	}
	versions, err := listAll(t, func(p storage.Page) ([]storage.Secret, string, error) {
		return s.ListSecretVersions(ctx, "team-kv", "db", p)
	})
	must(t, err)
	if len(versions) != 0 {
		t.Fatalf("versions of a deleted secret listed as live: %+v", versions)
	}
	got, err := s.GetDeletedSecret(ctx, "team-kv", "DB")
	must(t, err)
	if got.Version != v2.Version || !got.DeletedAt.Equal(at) || !got.PurgeAt.Equal(purge) {
		t.Fatalf("deleted secret = %+v", got)
	}
	_, err = s.GetDeletedSecret(ctx, "team-kv", "api-key")
	wantErr(t, "a live secret read as deleted", err, storage.ErrNotFound)
	dels, err := listAll(t, func(p storage.Page) ([]storage.Secret, string, error) { return s.ListDeletedSecrets(ctx, "TEAM-KV", p) })
	must(t, err)
	if len(dels) != 1 || dels[0].Name != "DB" || dels[0].Version != v2.Version {
		t.Fatalf("deleted secrets = %+v", dels)
	}

	// Recovered: every version is live again, as it was.
	back, err := s.RecoverDeletedSecret(ctx, "team-kv", "db")
	must(t, err)
	if back.Version != v2.Version || !back.DeletedAt.IsZero() || !back.PurgeAt.IsZero() {
		t.Fatalf("recovered = %+v", back)
	}
	_, err = s.RecoverDeletedSecret(ctx, "team-kv", "db")
	wantErr(t, "recover a live secret", err, storage.ErrNotFound)
	if x, err := s.GetSecret(ctx, "team-kv", "db", v1.Version); err != nil || string(x.EncryptedValue) != string(v1.EncryptedValue) {
		t.Fatalf("first version after recovery = %+v, %v", x, err)
	}
	wantErr(t, "purge a live secret", s.PurgeDeletedSecret(ctx, "team-kv", "db"), storage.ErrNotFound)

	// Purged: gone from both views, and the name is free.
	_, err = s.SoftDeleteSecret(ctx, "team-kv", "db", at, purge)
	must(t, err)
	must(t, s.PurgeDeletedSecret(ctx, "team-kv", "DB"))
	wantErr(t, "purge twice", s.PurgeDeletedSecret(ctx, "team-kv", "db"), storage.ErrNotFound)
	_, err = s.GetDeletedSecret(ctx, "team-kv", "db")
	wantErr(t, "a purged secret read as deleted", err, storage.ErrNotFound)
	must(t, s.AddSecretVersion(ctx, v3))
	must(t, s.DeleteSecret(ctx, "team-kv", "db"))
	must(t, s.DeleteSecret(ctx, "team-kv", "api-key"))
}

func testActivity(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		must(t, s.RecordActivity(ctx, storage.ActivityEvent{ID: fmt.Sprint("e", i), Time: now.Add(time.Duration(i) * time.Minute), SubscriptionID: strings.ToUpper(subID),
			CallerAppID: "app", Method: "PUT", Action: "Microsoft.ManagedIdentity/userAssignedIdentities/write", Scope: "/subscriptions/" + subID, StatusCode: 201, Result: "Succeeded", CorrelationID: "c"}))
	}
	must(t, s.RecordActivity(ctx, storage.ActivityEvent{ID: "other", Time: now, SubscriptionID: "other-sub"}))
	got, err := s.ListActivity(ctx, subID, now.Add(time.Minute), 10)
	must(t, err)
	if len(got) != 3 || got[0].ID != "e3" || got[0].StatusCode != 201 || got[0].Action == "" {
		t.Fatalf("activity = %+v", got)
	}
}

func testClusters(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	c := storage.Cluster{ID: uuid.NewString(), SubscriptionID: subID, ResourceGroup: "rg", Name: "aks1", Location: "westeurope", Spec: storage.ClusterSpec{DNSPrefix: "a1"}, CreatedAt: now, UpdatedAt: now}
	created, err := s.PutCluster(ctx, c)
	must(t, err)
	if !created {
		t.Fatal("not created")
	}
	c2 := c
	// The principals recorded at attach time survive the round trip.
	b1, b2, b3 := storage.Binding{PrincipalID: "p1", ClientID: "c1"}, storage.Binding{PrincipalID: "p2", ClientID: "c2"}, storage.Binding{PrincipalID: "p3", ClientID: "c3"}
	c2.ID, c2.Spec, c2.Name = uuid.NewString(), storage.ClusterSpec{DNSPrefix: "a2", KubeletIdentity: "/k", KubeletBinding: &b1, ControlPlaneIdentity: "/cp", ControlPlaneBinding: &b2,
		NodePools: map[string]storage.NodePool{"gpu": {UserAssigned: []string{"/x"}, Bindings: map[string]storage.Binding{"/x": b3}}}}, "AKS1"
	if created, err = s.PutCluster(ctx, c2); err != nil || created {
		t.Fatalf("update: %v %v", created, err)
	}
	got, err := s.GetClusterByID(ctx, strings.ToUpper(c.ID))
	must(t, err)
	if got.Spec.DNSPrefix != "a2" || len(got.Spec.NodePools["gpu"].UserAssigned) != 1 || got.Name != "aks1" || !strings.EqualFold(got.ID, c.ID) {
		t.Fatalf("cluster = %+v (the ID must not change on update)", got)
	}
	if got.Spec.KubeletBinding == nil || *got.Spec.KubeletBinding != b1 || got.Spec.ControlPlaneBinding == nil || *got.Spec.ControlPlaneBinding != b2 ||
		got.Spec.NodePools["gpu"].Bindings["/x"] != b3 {
		t.Fatalf("cluster bindings = %+v %+v %+v, want %+v %+v %+v", got.Spec.KubeletBinding, got.Spec.ControlPlaneBinding, got.Spec.NodePools["gpu"].Bindings, b1, b2, b3)
	}
	list, err := listAll(t, func(p storage.Page) ([]storage.Cluster, string, error) { return s.ListClusters(ctx, subID, "RG", p) })
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("list = %+v", list)
	}
	ref := storage.ClusterRef{SubscriptionID: subID, ResourceGroup: "RG", Name: "Aks1"}
	byRef, err := s.GetCluster(ctx, ref)
	must(t, err)
	if byRef.Name != "aks1" || !strings.EqualFold(byRef.ID, c.ID) || !byRef.CreatedAt.Equal(now) {
		t.Fatalf("cluster by reference = %+v", byRef)
	}
	must(t, s.DeleteCluster(ctx, ref))
	wantErr(t, "delete twice", s.DeleteCluster(ctx, ref), storage.ErrNotFound)
	_, err = s.GetCluster(ctx, ref)
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	_, err = s.GetClusterByID(ctx, c.ID)
	wantErr(t, "get deleted by ID", err, storage.ErrNotFound)

	// The group's delete takes its clusters: the cluster GET reads the
	// cluster first and its group only on a miss, so a cluster must never
	// outlive its group.
	seedGroup(t, s, "rg2")
	c3 := storage.Cluster{ID: uuid.NewString(), SubscriptionID: subID, ResourceGroup: "rg2", Name: "aks3", Location: "westeurope", CreatedAt: now, UpdatedAt: now}
	_, err = s.PutCluster(ctx, c3)
	must(t, err)
	must(t, s.DeleteResourceGroup(ctx, subID, "RG2"))
	_, err = s.GetCluster(ctx, storage.ClusterRef{SubscriptionID: subID, ResourceGroup: "rg2", Name: "aks3"})
	wantErr(t, "cluster of a deleted group", err, storage.ErrNotFound)
	_, err = s.GetClusterByID(ctx, c3.ID)
	wantErr(t, "cluster of a deleted group by ID", err, storage.ErrNotFound)
}

func testUpdateCluster(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	ref := storage.ClusterRef{SubscriptionID: subID, ResourceGroup: "rg", Name: "aks1"}
	id := uuid.NewString()

	// Absent: fn sees nil; returning nil stores nothing.
	_, err := s.UpdateCluster(ctx, ref, func(old *storage.Cluster) (*storage.Cluster, error) {
		if old != nil {
			t.Errorf("old = %+v, want nil for a cluster that does not exist", old)
		}
		return nil, nil
	})
	wantErr(t, "update missing, no write", err, storage.ErrNotFound)
	_, err = s.GetCluster(ctx, ref)
	wantErr(t, "get after no write", err, storage.ErrNotFound)

	// Create through the closure.
	got, err := s.UpdateCluster(ctx, ref, func(old *storage.Cluster) (*storage.Cluster, error) {
		return &storage.Cluster{ID: id, Location: "westeurope", Tags: map[string]string{"t": "1"}, CreatedAt: now, UpdatedAt: now,
			Spec: storage.ClusterSpec{IdentityType: "SystemAssigned", OIDCIssuer: true}}, nil
	})
	must(t, err)
	if got.ID != id || got.Name != "aks1" || got.SubscriptionID != subID || !got.Spec.OIDCIssuer {
		t.Fatalf("created = %+v", got)
	}
	stored, err := s.GetCluster(ctx, ref)
	must(t, err)
	if stored.ID != id || stored.Spec.IdentityType != "SystemAssigned" || stored.Tags["t"] != "1" || !stored.CreatedAt.Equal(now) {
		t.Fatalf("stored = %+v", stored)
	}

	// Update: fn sees the stored cluster; database-owned fields stay.
	later := now.Add(time.Hour)
	got, err = s.UpdateCluster(ctx, storage.ClusterRef{SubscriptionID: subID, ResourceGroup: "RG", Name: "AKS1"}, func(old *storage.Cluster) (*storage.Cluster, error) {
		if old == nil || old.Spec.IdentityType != "SystemAssigned" {
			return nil, fmt.Errorf("old = %+v, want the stored cluster", old)
		}
		nu := *old
		nu.ID, nu.Name, nu.CreatedAt, nu.UpdatedAt = "must-not-change", "must-not-change", later, later
		nu.Spec.WorkloadIdentity = true
		return &nu, nil
	})
	must(t, err)
	if got.ID != id || got.Name != "aks1" || !got.CreatedAt.Equal(now) || !got.Spec.WorkloadIdentity {
		t.Fatalf("updated = %+v", got)
	}
	stored, err = s.GetClusterByID(ctx, id)
	must(t, err)
	if stored.Name != "aks1" || !stored.CreatedAt.Equal(now) || !stored.UpdatedAt.Equal(later) || !stored.Spec.WorkloadIdentity || !stored.Spec.OIDCIssuer {
		t.Fatalf("stored after update = %+v", stored)
	}

	// An error from fn writes nothing.
	boom := errors.New("boom")
	_, err = s.UpdateCluster(ctx, ref, func(old *storage.Cluster) (*storage.Cluster, error) {
		nu := *old
		nu.Spec.WorkloadIdentity = false
		return &nu, boom
	})
	wantErr(t, "update fn error", err, boom)
	stored, err = s.GetCluster(ctx, ref)
	must(t, err)
	if !stored.Spec.WorkloadIdentity {
		t.Fatal("a failed update was written")
	}

	// Concurrent increments through the closure lose none.
	const writers = 8
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		go func() {
			_, err := s.UpdateCluster(ctx, ref, func(old *storage.Cluster) (*storage.Cluster, error) {
				nu := *old
				nu.Tags = map[string]string{"n": old.Tags["n"] + "x"}
				return &nu, nil
			})
			errs <- err
		}()
	}
	ok := 0
	for i := 0; i < writers; i++ {
		switch err := <-errs; {
		case err == nil:
			ok++
		case !errors.Is(err, storage.ErrConflict):
			t.Fatal(err)
		}
	}
	stored, err = s.GetCluster(ctx, ref)
	must(t, err)
	if n := len(stored.Tags["n"]); n != ok || ok == 0 {
		t.Fatalf("%d of %d concurrent updates succeeded but the counter is %d: an update was lost", ok, writers, n)
	}
}

// long returns a value of n bytes with a multi-byte rune straddling every
// likely cap, so a cut that ignores rune boundaries shows.
func long(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString("aé\x00")
	}
	return b.String()[:n]
}

func checkCapped(t *testing.T, field, got string, limit int) {
	t.Helper()
	if len(got) > limit || !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 || !strings.HasSuffix(got, storage.TruncatedMarker) {
		t.Errorf("%s: %d bytes (cap %d), valid UTF-8 %v, ends %q", field, len(got), limit, utf8.ValidString(got), got[max(0, len(got)-20):])
	}
}

func testLogFieldCaps(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	huge := long(60_000)
	must(t, s.RecordSignIn(ctx, storage.SignIn{ID: "capped", Time: now, Source: huge, TenantID: huge, ClientID: huge, PrincipalID: huge,
		IdentityID: huge, Resource: huge, Credential: huge, Result: huge, ErrorCode: 700016, Reason: huge, Issuer: huge, Subject: huge}))
	got, err := s.ListSignIns(ctx, time.Time{}, 10)
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("sign-ins = %d, want 1", len(got))
	}
	si := got[0]
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"Source", si.Source, storage.MaxLogIDBytes}, {"TenantID", si.TenantID, storage.MaxLogIDBytes},
		{"ClientID", si.ClientID, storage.MaxLogIDBytes}, {"PrincipalID", si.PrincipalID, storage.MaxLogIDBytes},
		{"Credential", si.Credential, storage.MaxLogIDBytes}, {"Result", si.Result, storage.MaxLogIDBytes},
		{"IdentityID", si.IdentityID, storage.MaxLogTextBytes}, {"Resource", si.Resource, storage.MaxLogTextBytes},
		{"Issuer", si.Issuer, storage.MaxLogTextBytes}, {"Subject", si.Subject, storage.MaxLogTextBytes},
		{"Reason", si.Reason, storage.MaxLogReasonBytes},
	} {
		checkCapped(t, "sign-in "+f.name, f.v, f.max)
	}
	if si.Count != 1 || !si.LastSeen.Equal(now) {
		t.Errorf("count %d last seen %v, want 1 and %v", si.Count, si.LastSeen, now)
	}

	sub := strings.ToUpper(subID)
	must(t, s.RecordActivity(ctx, storage.ActivityEvent{ID: "capped", Time: now, SubscriptionID: sub, CallerAppID: huge, CallerObjectID: huge,
		Method: huge, Action: huge, Scope: huge, StatusCode: 403, Result: huge, CorrelationID: huge}))
	evs, err := s.ListActivity(ctx, subID, time.Time{}, 10)
	must(t, err)
	if len(evs) != 1 {
		t.Fatalf("activity = %d events, want 1", len(evs))
	}
	e := evs[0]
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"CallerAppID", e.CallerAppID, storage.MaxLogIDBytes}, {"CallerObjectID", e.CallerObjectID, storage.MaxLogIDBytes},
		{"Method", e.Method, storage.MaxLogIDBytes}, {"Result", e.Result, storage.MaxLogIDBytes},
		{"CorrelationID", e.CorrelationID, storage.MaxLogIDBytes},
		{"Action", e.Action, storage.MaxLogTextBytes}, {"Scope", e.Scope, storage.MaxLogTextBytes},
	} {
		checkCapped(t, "activity "+f.name, f.v, f.max)
	}
	// Values within their caps are stored as given.
	short := storage.SignIn{ID: "short", Time: now, ClientID: "33333333-3333-3333-3333-333333333333", Reason: strings.Repeat("é", storage.MaxLogReasonBytes/2)}
	must(t, s.RecordSignIn(ctx, short))
	got, err = s.ListSignIns(ctx, time.Time{}, 10)
	must(t, err)
	for _, si := range got {
		if si.ID == "short" && (si.ClientID != short.ClientID || si.Reason != short.Reason) {
			t.Errorf("value within its cap changed: client %q, reason of %d bytes", si.ClientID, len(si.Reason))
		}
	}
}

func testSignInAggregation(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	first := storage.SignIn{ID: "agg", Time: now, Count: 3, Source: "192.0.2.1", TenantID: tenantID, ClientID: "nope",
		Result: "failure", ErrorCode: 700016, Reason: "first"}
	later := first
	later.Time, later.LastSeen, later.Count, later.Reason = now.Add(30*time.Second), now.Add(40*time.Second), 2, "second"
	earlier := first
	earlier.Time, earlier.Count = now.Add(-time.Minute), 1
	other := storage.SignIn{ID: "ok", Time: now.Add(time.Second), Result: "success", ClientID: "c"}
	must(t, s.RecordSignIns(ctx, []storage.SignIn{first, other}))
	must(t, s.RecordSignIns(ctx, []storage.SignIn{later, earlier}))
	must(t, s.RecordSignIns(ctx, nil))
	got, err := s.ListSignIns(ctx, time.Time{}, 10)
	must(t, err)
	if len(got) != 2 || got[0].ID != "ok" || got[1].ID != "agg" {
		t.Fatalf("sign-ins = %+v, want ok then agg", got)
	}
	agg := got[1]
	if agg.Count != 6 || !agg.Time.Equal(now) || !agg.LastSeen.Equal(now.Add(40*time.Second)) || agg.Reason != "first" || agg.Source != "192.0.2.1" {
		t.Errorf("aggregated = count %d, time %v, last seen %v, reason %q, source %q; want 6, %v, %v, first, 192.0.2.1",
			agg.Count, agg.Time, agg.LastSeen, agg.Reason, agg.Source, now, now.Add(40*time.Second))
	}
	if got[0].Count != 1 || !got[0].LastSeen.Equal(other.Time) {
		t.Errorf("single record: count %d last seen %v", got[0].Count, got[0].LastSeen)
	}
}

func testLogRetention(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	var batch []storage.SignIn
	for i := 0; i < 10; i++ {
		batch = append(batch, storage.SignIn{ID: fmt.Sprint("r", i), Time: now.Add(time.Duration(i) * time.Hour), Result: "success"})
	}
	// An aggregated record first seen long ago but seen again lately stays.
	batch = append(batch, storage.SignIn{ID: "live", Time: now.Add(-time.Hour), LastSeen: now.Add(8 * time.Hour), Count: 7, Result: "failure"})
	must(t, s.RecordSignIns(ctx, batch))
	n, err := s.DeleteSignInsBefore(ctx, now.Add(5*time.Hour))
	must(t, err)
	if n != 5 {
		t.Errorf("deleted %d sign-ins, want 5", n)
	}
	got, err := s.ListSignIns(ctx, time.Time{}, 100)
	must(t, err)
	ids := map[string]bool{}
	for _, si := range got {
		ids[si.ID] = true
	}
	if len(got) != 6 || !ids["live"] || !ids["r5"] || ids["r4"] {
		t.Errorf("kept %v, want r5..r9 and live", ids)
	}
	if n, err := s.DeleteSignInsBefore(ctx, now.Add(5*time.Hour)); err != nil || n != 0 {
		t.Errorf("second delete: %d %v, want 0", n, err)
	}

	for i := 0; i < 6; i++ {
		must(t, s.RecordActivity(ctx, storage.ActivityEvent{ID: fmt.Sprint("a", i), Time: now.Add(time.Duration(i) * time.Hour), SubscriptionID: subID}))
	}
	n, err = s.DeleteActivityBefore(ctx, now.Add(2*time.Hour))
	must(t, err)
	if n != 2 {
		t.Errorf("deleted %d events, want 2", n)
	}
	evs, err := s.ListActivity(ctx, subID, time.Time{}, 100)
	must(t, err)
	if len(evs) != 4 || evs[len(evs)-1].ID != "a2" {
		t.Errorf("kept %+v, want a2..a5", evs)
	}

	// More rows than one retention batch are all deleted.
	batch = batch[:0]
	for i := 0; i < 12_000; i++ {
		batch = append(batch, storage.SignIn{ID: fmt.Sprint("bulk", i), Time: now.Add(-48 * time.Hour), Result: "success"})
	}
	must(t, s.RecordSignIns(ctx, batch))
	n, err = s.DeleteSignInsBefore(ctx, now.Add(-24*time.Hour))
	must(t, err)
	if n != 12_000 {
		t.Errorf("bulk delete: %d, want 12000", n)
	}
}

// testChangeFeed: every write to a followed table appears in the feed, in
// order, with the row's key, from the writing transaction; unfollowed
// tables (the logs) write nothing there.
func testChangeFeed(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	head, err := s.ChangeHead(ctx)
	must(t, err)
	// A backend with notifications signals a commit; one without returns nil.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	watch, err := s.WatchChanges(wctx)
	must(t, err)
	a := storage.RoleAssignment{ID: uuid.NewString(), Scope: "/subscriptions/" + subID + "/resourceGroups/rg", PrincipalID: uuid.NewString(),
		PrincipalType: "ServicePrincipal", RoleDefinitionID: "acdd72a7-3385-48ef-bd42-f606fba81ae7", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateRoleAssignment(ctx, a))
	id := newIdentity("rg", "feed")
	must(t, s.CreateIdentity(ctx, id))
	must(t, s.RecordSignIn(ctx, storage.SignIn{ID: uuid.NewString(), Time: now, TenantID: tenantID, Result: "success"}))
	must(t, s.DeleteRoleAssignment(ctx, a.ID))
	n, err := s.CountRoleAssignments(ctx)
	must(t, err)
	if n != 0 {
		t.Fatalf("count = %d", n)
	}
	got, err := s.Changes(ctx, head, 100)
	must(t, err)
	var seen []string
	last := head
	for _, c := range got {
		if c.Seq <= last {
			t.Fatalf("feed out of order: %+v", got)
		}
		last = c.Seq
		seen = append(seen, c.Table+":"+strings.ToLower(c.Key))
		if c.At.IsZero() || c.At.Before(time.Now().Add(-time.Hour)) {
			t.Fatalf("change time = %v", c.At)
		}
	}
	want := []string{"role_assignments:" + a.ID, "identities:", "role_assignments:" + a.ID}
	if len(seen) != 3 || seen[0] != want[0] || !strings.HasPrefix(seen[1], "identities:") || seen[2] != want[2] {
		t.Fatalf("feed = %v, want %v", seen, want)
	}
	newHead, err := s.ChangeHead(ctx)
	must(t, err)
	if newHead != last {
		t.Fatalf("head = %d, want %d", newHead, last)
	}
	if more, err := s.Changes(ctx, last, 10); err != nil || len(more) != 0 {
		t.Fatalf("after the head: %v %v", more, err)
	}
	if watch != nil {
		// The first signal may be the one sent on connecting; a commit
		// after it must signal again.
		deadline := time.After(10 * time.Second)
		select {
		case <-watch:
		case <-deadline:
			t.Fatal("no signal from WatchChanges")
		}
		must(t, s.CreateIdentity(ctx, newIdentity("rg", "feed-2")))
		select {
		case <-watch:
		case <-deadline:
			t.Fatal("no signal from WatchChanges after a commit")
		}
	}
	pruned, err := s.PruneChanges(ctx, time.Now().Add(time.Hour))
	must(t, err)
	if pruned < 3 {
		t.Fatalf("pruned %d", pruned)
	}
	if rest, _ := s.Changes(ctx, 0, 10); len(rest) != 0 {
		t.Fatalf("after pruning: %v", rest)
	}
}

// testChangeFeedCascade: a row deleted by a cascade (a resource group's
// identities, their federated credentials, its vaults) is a change of its
// own table. The server's views learn of a group's deletion only so: no
// service tells them what the group took with it.
func testChangeFeedCascade(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "doomed")
	id := newIdentity("doomed", "app")
	must(t, s.CreateIdentity(ctx, id))
	fic := storage.FederatedCredential{Identity: id.Ref(), Name: "fic", Issuer: "https://issuer.example/a/", Subject: "system:serviceaccount:default:app", Audiences: []string{"api://AzureADTokenExchange"}, CreatedAt: now, UpdatedAt: now}
	_, err := s.PutFederatedCredential(ctx, fic, func([]storage.FederatedCredential) error { return nil })
	must(t, err)
	_, err = s.PutVault(ctx, storage.Vault{SubscriptionID: subID, ResourceGroup: "doomed", Name: "kv-doomed", Location: "westeurope", TenantID: tenantID, SKU: "standard", CreatedAt: now, UpdatedAt: now})
	must(t, err)
	head, err := s.ChangeHead(ctx)
	must(t, err)
	must(t, s.DeleteResourceGroup(ctx, subID, "doomed"))
	got, err := s.Changes(ctx, head, 100)
	must(t, err)
	tables := map[string]int{}
	for _, c := range got {
		tables[c.Table]++
	}
	for _, table := range []string{"identities", "federated_credentials", "vaults"} {
		if tables[table] != 1 {
			t.Errorf("deleting the group recorded %d %s changes, want 1; feed: %+v", tables[table], table, got)
		}
	}
}

// testLock: WithLock excludes concurrent holders of the same key.
func testLock(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	var inside, maxInside int32
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			must(t, s.WithLock(ctx, "test", func(context.Context) error {
				mu.Lock()
				inside++
				if inside > maxInside {
					maxInside = inside
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				inside--
				mu.Unlock()
				return nil
			}))
		}()
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d holders at once", maxInside)
	}
}

func testSettings(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	_, err := s.GetSetting(ctx, "admin")
	wantErr(t, "unset", err, storage.ErrNotFound)
	must(t, s.CreateSetting(ctx, "admin", "v1"))
	wantErr(t, "create twice", s.CreateSetting(ctx, "admin", "v2"), storage.ErrAlreadyExists)
	if v, err := s.GetSetting(ctx, "admin"); err != nil || v != "v1" {
		t.Fatalf("get = %q, %v", v, err)
	}
	must(t, s.PutSetting(ctx, "admin", "v3"))
	must(t, s.PutSetting(ctx, "new", "n1"))
	for name, want := range map[string]string{"admin": "v3", "new": "n1"} {
		if v, err := s.GetSetting(ctx, name); err != nil || v != want {
			t.Fatalf("after put, get %s = %q, %v; want %q", name, v, err, want)
		}
	}
	wantErr(t, "create over a put", s.CreateSetting(ctx, "new", "n2"), storage.ErrAlreadyExists)
}

// testConcurrentRowWriters: many writers of one row in one process all
// succeed, none lost and none refused with ErrConflict (a burst of PUTs of
// one identity must not answer 409 because the database serializes them).
func testConcurrentRowWriters(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	id := newIdentity("rg", "busy")
	must(t, s.CreateIdentity(ctx, id))
	ref := storage.IdentityRef{SubscriptionID: subID, ResourceGroup: "rg", Name: "busy"}
	const writers = 64
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		go func() {
			_, err := s.UpdateIdentity(ctx, ref, func(old storage.Identity) (storage.Identity, error) {
				old.Tags = map[string]string{"n": old.Tags["n"] + "x"}
				return old, nil
			})
			errs <- err
		}()
	}
	for i := 0; i < writers; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent update %d: %v", i, err)
		}
	}
	got, err := s.GetIdentity(ctx, ref)
	must(t, err)
	if n := len(got.Tags["n"]); n != writers {
		t.Fatalf("%d concurrent updates, counter %d: an update was lost", writers, n)
	}
}
