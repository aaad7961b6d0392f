package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// testRegistries: registry names are global and case-insensitive, updates
// keep identity fields, lists are by group or subscription, and a group's
// deletion takes its registries.
func testRegistries(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	seedGroup(t, s, "other")
	r := storage.Registry{SubscriptionID: subID, ResourceGroup: "rg", Name: "TeamAcr", Location: "westeurope", Tags: map[string]string{"env": "lab"}, SKU: "Basic",
		Echo: json.RawMessage(`{"properties":{"publicNetworkAccess":"Disabled"}}`), CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateRegistry(ctx, r))
	elsewhere := r
	elsewhere.ResourceGroup, elsewhere.Name = "other", "teamacr"
	wantErr(t, "global name", s.CreateRegistry(ctx, elsewhere), storage.ErrAlreadyExists)
	orphan := r
	orphan.ResourceGroup, orphan.Name = "nogroup", "orphanacr"
	wantErr(t, "missing group", s.CreateRegistry(ctx, orphan), storage.ErrParentNotFound)

	got, err := s.GetRegistry(ctx, "TEAMACR")
	must(t, err)
	if got.Name != "TeamAcr" || got.ResourceGroup != "rg" || got.SKU != "Basic" || got.Tags["env"] != "lab" || !got.CreatedAt.Equal(now) ||
		string(got.Echo) != string(r.Echo) {
		t.Fatalf("registry = %+v, want %+v", got, r)
	}
	later := now.Add(time.Minute)
	updated, err := s.UpdateRegistry(ctx, "teamacr", func(old storage.Registry) (storage.Registry, error) {
		old.Tags, old.SKU, old.UpdatedAt = map[string]string{"env": "prod"}, "Premium", later
		old.ResourceGroup, old.CreatedAt = "ignored", later
		old.Echo = json.RawMessage(`{"properties":{"zoneRedundancy":"Enabled"}}`)
		return old, nil
	})
	must(t, err)
	if updated.Tags["env"] != "prod" || updated.SKU != "Premium" || updated.ResourceGroup != "rg" || !updated.CreatedAt.Equal(now) || !updated.UpdatedAt.Equal(later) ||
		string(updated.Echo) != `{"properties":{"zoneRedundancy":"Enabled"}}` {
		t.Fatalf("updated registry = %+v", updated)
	}
	boom := errors.New("boom")
	_, err = s.UpdateRegistry(ctx, "teamacr", func(storage.Registry) (storage.Registry, error) { return storage.Registry{}, boom })
	wantErr(t, "update fn error", err, boom)
	_, err = s.UpdateRegistry(ctx, "absentacr", func(old storage.Registry) (storage.Registry, error) { return old, nil })
	wantErr(t, "update missing", err, storage.ErrNotFound)

	second := r
	second.ResourceGroup, second.Name = "other", "otheracr"
	must(t, s.CreateRegistry(ctx, second))
	for _, tc := range []struct {
		name, rg string
		want     []string
	}{{"group", "RG", []string{"TeamAcr"}}, {"other group", "other", []string{"otheracr"}}, {"subscription", "", []string{"otheracr", "TeamAcr"}}} {
		items, next, err := s.ListRegistries(ctx, subID, tc.rg, storage.Page{})
		must(t, err)
		var names []string
		for _, it := range items {
			names = append(names, it.Name)
		}
		if next != "" || len(names) != len(tc.want) {
			t.Fatalf("%s: list = %v (next %q), want %v", tc.name, names, next, tc.want)
		}
		for i := range names {
			if names[i] != tc.want[i] {
				t.Fatalf("%s: list = %v, want %v", tc.name, names, tc.want)
			}
		}
	}

	must(t, s.DeleteRegistry(ctx, "TEAMacr"))
	wantErr(t, "delete twice", s.DeleteRegistry(ctx, "teamacr"), storage.ErrNotFound)
	_, err = s.GetRegistry(ctx, "teamacr")
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	// The name is free again once the registry is gone.
	must(t, s.CreateRegistry(ctx, elsewhere))

	must(t, s.DeleteResourceGroup(ctx, subID, "other"))
	for _, name := range []string{"teamacr", "otheracr"} {
		_, err = s.GetRegistry(ctx, name)
		wantErr(t, "registry of a deleted group "+name, err, storage.ErrNotFound)
	}
}
