package msi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

const (
	tenant = wardtest.TenantID
	sub    = wardtest.SubscriptionID
)

func newService(t *testing.T) (*Service, storage.Storage) {
	t.Helper()
	st := wardtest.NewStore(t)
	return New(Config{Store: st}), st
}

func code(err error) string {
	var e *armerr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// blockingStore holds the write of the credential named block open until
// released; other writes pass straight through.
type blockingStore struct {
	storage.Storage
	block            string
	entered, release chan struct{}
}

func (b *blockingStore) PutFederatedCredential(ctx context.Context, c storage.FederatedCredential, check func([]storage.FederatedCredential) error) (bool, error) {
	if c.Name == b.block && c.Identity.Name == "app" {
		b.entered <- struct{}{}
		<-b.release
	}
	return b.Storage.PutFederatedCredential(ctx, c, check)
}

func TestConcurrentFederatedCredentialWritesConflict(t *testing.T) {
	_, st := newService(t)
	bs := &blockingStore{Storage: st, block: "fic-1", entered: make(chan struct{}), release: make(chan struct{})}
	groups := resources.New(resources.Config{Store: bs})
	svc := New(Config{Store: bs, Resources: groups})
	ctx := context.Background()
	if _, _, err := groups.PutGroup(ctx, sub, "rg", resources.GroupSpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	ref := storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "app"}
	if _, _, err := svc.PutIdentity(ctx, ref, IdentitySpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	spec := FederatedCredentialSpec{Issuer: "https://i.example.com", Subject: "s1", Audiences: []string{"api://AzureADTokenExchange"}}
	first := make(chan error, 1)
	go func() {
		_, _, err := svc.PutFederatedCredential(ctx, ref, "fic-1", spec)
		first <- err
	}()
	<-bs.entered // the first write is in flight
	spec.Subject = "s2"
	_, _, err := svc.PutFederatedCredential(ctx, ref, "fic-2", spec)
	if code(err) != armerr.CodeConcurrentFICWrites || !strings.Contains(err.Error(), "/subscriptions/"+sub+"/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/app") {
		t.Fatalf("concurrent write: %v, want %s naming the lower-cased identity", err, armerr.CodeConcurrentFICWrites)
	}
	// Another identity is not blocked.
	other := storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "other"}
	if _, _, err := svc.PutIdentity(ctx, other, IdentitySpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutFederatedCredential(ctx, other, "fic-1", spec); err != nil {
		t.Fatalf("write under another identity: %v", err)
	}
	bs.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}
	// Once the first write is done, the next one goes through.
	if _, _, err := svc.PutFederatedCredential(ctx, ref, "fic-2", spec); err != nil {
		t.Fatalf("write after the first finished: %v", err)
	}
}

func TestValidateIdentityName(t *testing.T) {
	for _, ok := range []string{"abc", "a_b-c", strings.Repeat("x", 128), "9lives"} {
		if err := ValidateIdentityName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"ab", "_abc", "a.bc", strings.Repeat("x", 129), "a b c"} {
		if err := ValidateIdentityName(bad); code(err) != armerr.CodeInvalidResourceName {
			t.Errorf("%q: %v, want %s", bad, err, armerr.CodeInvalidResourceName)
		}
	}
}

func TestInjectedClockAndIDs(t *testing.T) {
	_, st := newService(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	n := 0
	svc := New(Config{Store: st, Now: func() time.Time { return now }, NewID: func() string {
		n++
		return []string{"aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"}[n-1]
	}})
	ctx := context.Background()
	if _, _, err := resources.New(resources.Config{Store: st}).PutGroup(ctx, sub, "rg", resources.GroupSpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	id, _, err := svc.PutIdentity(ctx, storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "app"}, IdentitySpec{Location: "westeurope"})
	if err != nil {
		t.Fatal(err)
	}
	if id.ClientID != "aaaaaaaa-0000-0000-0000-000000000001" || id.PrincipalID != "aaaaaaaa-0000-0000-0000-000000000002" || !id.CreatedAt.Equal(now) {
		t.Fatalf("identity = %+v", id)
	}
}

// TestIdentityLookup reads an identity with one query when it exists, and
// names what is missing when it does not: the subscription, the group or
// the identity, as ARM does.
func TestIdentityLookup(t *testing.T) {
	st := wardtest.NewStore(t)
	groups := resources.New(resources.Config{Store: st})
	svc := New(Config{Store: st, Resources: groups})
	ctx := context.Background()
	if _, _, err := groups.PutGroup(ctx, sub, "rg", resources.GroupSpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutIdentity(ctx, storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "app"}, IdentitySpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	get := func(sub, group, name string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			id, err := svc.Identity(ctx, storage.IdentityRef{SubscriptionID: sub, ResourceGroup: group, Name: name})
			return id.Name, err
		}
	}
	wardtest.CheckLookups(t, st, []string{"GetIdentity", "GetResourceGroup", "GetSubscription"}, wardtest.InGroup("identity", sub, "app", get))
}

// TestFederatedCredentialLookup reads a credential with one query when it
// exists, and names what is missing when it does not: the subscription, the
// group, the identity (ParentResourceNotFound) or the credential, as ARM
// does.
func TestFederatedCredentialLookup(t *testing.T) {
	st := wardtest.NewStore(t)
	groups := resources.New(resources.Config{Store: st})
	svc := New(Config{Store: st, Resources: groups})
	ctx := context.Background()
	if _, _, err := groups.PutGroup(ctx, sub, "rg", resources.GroupSpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	app := storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "app"}
	if _, _, err := svc.PutIdentity(ctx, app, IdentitySpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	spec := FederatedCredentialSpec{Issuer: "https://issuer.example/", Subject: "system:serviceaccount:default:app", Audiences: []string{"api://AzureADTokenExchange"}}
	if _, _, err := svc.PutFederatedCredential(ctx, app, "fic", spec); err != nil {
		t.Fatal(err)
	}
	get := func(ref storage.IdentityRef, name string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			c, err := svc.FederatedCredential(ctx, ref, name)
			if err == nil && c.Subject != spec.Subject {
				return "", fmt.Errorf("credential %q has subject %q, want %q", c.Name, c.Subject, spec.Subject)
			}
			return c.Name, err
		}
	}
	wardtest.CheckLookups(t, st, []string{"GetFederatedCredential", "GetIdentity", "GetResourceGroup", "GetSubscription"}, []wardtest.Lookup{
		{Name: "found", Read: get(app, "fic"), WantName: "fic", Reads: 1},
		{Name: "found, other casing", Read: get(storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "RG", Name: "APP"}, "FIC"), WantName: "fic", Reads: 1},
		{Name: "no credential", Read: get(app, "other"), WantCode: armerr.CodeResourceNotFound, Reads: 2},
		{Name: "no identity", Read: get(storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "other"}, "fic"), WantCode: armerr.CodeParentResourceNotFound, Reads: 4},
		{Name: "no group", Read: get(storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "nope", Name: "app"}, "fic"), WantCode: armerr.CodeResourceGroupNotFound, Reads: 4},
		{Name: "no subscription", Read: get(storage.IdentityRef{SubscriptionID: "00000000-0000-0000-0000-0000000000ff", ResourceGroup: "rg", Name: "app"}, "fic"), WantCode: armerr.CodeSubscriptionNotFound, Reads: 3},
	})
}
