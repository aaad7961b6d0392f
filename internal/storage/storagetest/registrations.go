package storagetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// testRegistrations: a state put is listed, a second put of the same
// namespace or feature (in any case) replaces it, features are kept apart
// from their namespace, and a subscription that does not exist is refused.
func testRegistrations(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	if got, err := s.ListRegistrations(ctx, subID); err != nil || len(got) != 0 {
		t.Fatalf("registrations of a new subscription = %+v, %v; want none", got, err)
	}
	later := now.Add(time.Minute)
	for _, r := range []storage.Registration{
		{SubscriptionID: subID, Namespace: "Microsoft.ContainerService", State: "Unregistered", UpdatedAt: now},
		{SubscriptionID: subID, Namespace: "Microsoft.ContainerService", Feature: "EnableOIDCIssuerPreview", State: "Unregistered", UpdatedAt: now},
		{SubscriptionID: subID, Namespace: "Microsoft.KeyVault", State: "Unregistered", UpdatedAt: now},
		// The same namespace in another case, registered again.
		{SubscriptionID: strings.ToUpper(subID), Namespace: "microsoft.keyvault", State: "Registered", UpdatedAt: later},
	} {
		must(t, s.PutRegistration(ctx, r))
	}
	got, err := s.ListRegistrations(ctx, strings.ToUpper(subID))
	must(t, err)
	var flat []string
	for _, r := range got {
		flat = append(flat, r.Namespace+"/"+r.Feature+"="+r.State+"@"+r.UpdatedAt.Sub(now).String())
	}
	want := []string{"Microsoft.ContainerService/=Unregistered@0s", "Microsoft.ContainerService/EnableOIDCIssuerPreview=Unregistered@0s", "microsoft.keyvault/=Registered@1m0s"}
	if strings.Join(flat, " ") != strings.Join(want, " ") {
		t.Fatalf("registrations = %v, want %v", flat, want)
	}
	err = s.PutRegistration(ctx, storage.Registration{SubscriptionID: "00000000-0000-0000-0000-00000000dead", Namespace: "Microsoft.KeyVault", State: "Unregistered", UpdatedAt: now})
	wantErr(t, "registration of a missing subscription", err, storage.ErrParentNotFound)
}
