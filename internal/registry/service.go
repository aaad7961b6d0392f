package registry

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
)

// Type is the ARM resource type of a registry.
const Type = resourceid.TypeRegistry

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9]{5,50}$`)

// skus are ACR's tiers, by lower-case name; Ward serves them alike.
var skus = map[string]string{"basic": "Basic", "standard": "Standard", "premium": "Premium"}

// Service holds registries (the ARM resource). Images are the registry's
// own storage's; the token service reads registries from here.
type Service struct {
	store storage.Storage
	Hosts Hosts
	now   func() time.Time
	// deleted, when set, is called with a deleted registry's name.
	deleted func(name string)
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Store storage.Storage
	Hosts Hosts
	Now   func() time.Time // default time.Now
	// Deleted, when set, is called with a deleted registry's name (the
	// in-process registry drops its storage).
	Deleted func(name string)
}

// NewService returns a Service.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: cfg.Store, Hosts: cfg.Hosts, now: cfg.Now, deleted: cfg.Deleted}
}

// ResourceID is the ARM ID of a registry.
func ResourceID(r storage.Registry) string {
	return resourceid.RegistryID(r.SubscriptionID, r.ResourceGroup, r.Name)
}

// Spec is what a PUT or PATCH sets; nil fields are left as they are.
type Spec struct {
	Location string
	SKU      *string
	Tags     map[string]string
	// AdminUserEnabled is refused when true: Ward's registries have no
	// shared secret, only identities with roles.
	AdminUserEnabled bool
	// Echo, when set, is what to store as the registry's echo (the JSON
	// the user declared, storage.Registry.Echo) given the stored one (nil
	// on create); it runs inside the update's transaction, so a PATCH
	// merges into what is stored. Nil keeps the stored echo.
	Echo func(old json.RawMessage) json.RawMessage
}

// echo is what spec stores as the echo of a registry that has old.
func (spec Spec) echo(old json.RawMessage) json.RawMessage {
	if spec.Echo == nil {
		return old
	}
	return spec.Echo(old)
}

func invalidName(name string) error {
	return armerr.BadRequest(armerr.CodeInvalidResourceName, "Resource name '%s' is invalid. A registry name may contain only alphanumeric characters and must be between 5 and 50 characters.", name)
}

func skuOf(s *string) (string, error) {
	if s == nil || *s == "" {
		return "Basic", nil
	}
	if v, ok := skus[strings.ToLower(*s)]; ok {
		return v, nil
	}
	return "", armerr.BadRequest(armerr.CodeInvalidParameter, "The SKU '%s' is not valid. Valid SKUs are Basic, Standard and Premium.", *s)
}

// Put creates or updates a registry; created says which.
func (s *Service) Put(ctx context.Context, sub, rg, name string, spec Spec) (storage.Registry, bool, error) {
	if !nameRE.MatchString(name) {
		return storage.Registry{}, false, invalidName(name)
	}
	if spec.AdminUserEnabled {
		return storage.Registry{}, false, armerr.BadRequest(armerr.CodeInvalidParameter, "Ward's registries have no admin user: grant identities AcrPull or AcrPush at the registry instead.")
	}
	sku, err := skuOf(spec.SKU)
	if err != nil {
		return storage.Registry{}, false, err
	}
	now := s.now().UTC()
	got, err := s.store.UpdateRegistry(ctx, name, func(old storage.Registry) (storage.Registry, error) {
		if !strings.EqualFold(old.SubscriptionID, sub) || !strings.EqualFold(old.ResourceGroup, rg) {
			return old, storage.ErrAlreadyExists
		}
		old.Tags, old.SKU, old.Echo, old.UpdatedAt = spec.Tags, sku, spec.echo(old.Echo), now
		return old, nil
	})
	if err == nil {
		return got, false, nil
	}
	if errors.Is(err, storage.ErrNotFound) {
		loc := resources.NormalizeLocation(spec.Location)
		if loc == "" {
			return storage.Registry{}, false, armerr.BadRequest(armerr.CodeLocationRequired, "The location property is required for this definition.")
		}
		r := storage.Registry{SubscriptionID: sub, ResourceGroup: rg, Name: name, Location: loc, Tags: spec.Tags, SKU: sku, Echo: spec.echo(nil), CreatedAt: now, UpdatedAt: now}
		if err = s.store.CreateRegistry(ctx, r); err == nil {
			got, err = s.store.GetRegistry(ctx, name)
			return got, true, s.wire(name, rg, err)
		}
	}
	return got, false, s.wire(name, rg, err)
}

// wire turns a storage error into ARM's.
func (s *Service) wire(name, rg string, err error) error {
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return armerr.Conflict("AlreadyInUse", "The registry %s is already in use.", name)
	case errors.Is(err, storage.ErrParentNotFound):
		return armerr.NotFound(armerr.CodeResourceGroupNotFound, "Resource group '%s' could not be found.", rg)
	}
	return err
}

// Patch updates a registry's SKU, tags and echo.
func (s *Service) Patch(ctx context.Context, sub, rg, name string, spec Spec) (storage.Registry, error) {
	if _, err := s.Get(ctx, sub, rg, name); err != nil {
		return storage.Registry{}, err
	}
	if spec.AdminUserEnabled {
		return storage.Registry{}, armerr.BadRequest(armerr.CodeInvalidParameter, "Ward's registries have no admin user: grant identities AcrPull or AcrPush at the registry instead.")
	}
	var sku string
	if spec.SKU != nil {
		var err error
		if sku, err = skuOf(spec.SKU); err != nil {
			return storage.Registry{}, err
		}
	}
	got, err := s.store.UpdateRegistry(ctx, name, func(old storage.Registry) (storage.Registry, error) {
		if spec.Tags != nil {
			old.Tags = spec.Tags
		}
		if sku != "" {
			old.SKU = sku
		}
		old.Echo = spec.echo(old.Echo)
		old.UpdatedAt = s.now().UTC()
		return old, nil
	})
	return got, s.wire(name, rg, err)
}

// Get reads a registry in a group.
func (s *Service) Get(ctx context.Context, sub, rg, name string) (storage.Registry, error) {
	r, err := s.store.GetRegistry(ctx, name)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (!strings.EqualFold(r.ResourceGroup, rg) || !strings.EqualFold(r.SubscriptionID, sub))) {
		return r, armerr.NotFound(armerr.CodeResourceNotFound, "The Resource '%s/%s' under resource group '%s' was not found. %s", Type, name, rg, armerr.NotFoundHelp)
	}
	return r, err
}

// ByName reads a registry by its global name (the data plane's lookup).
func (s *Service) ByName(ctx context.Context, name string) (storage.Registry, error) {
	return s.store.GetRegistry(ctx, name)
}

// List lists a group's registries, or a subscription's when rg is "".
func (s *Service) List(ctx context.Context, sub, rg string) ([]storage.Registry, error) {
	return storage.All(func(p storage.Page) ([]storage.Registry, string, error) {
		return s.store.ListRegistries(ctx, sub, rg, p)
	})
}

// Delete deletes a registry; found is false when it was not there.
func (s *Service) Delete(ctx context.Context, sub, rg, name string) (bool, error) {
	if _, err := s.Get(ctx, sub, rg, name); err != nil {
		return false, nil
	}
	err := s.store.DeleteRegistry(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err == nil && s.deleted != nil {
		s.deleted(name)
	}
	return err == nil, err
}

// NameAvailability is checkNameAvailability's answer.
type NameAvailability struct {
	NameAvailable bool   `json:"nameAvailable"`
	Reason        string `json:"reason,omitempty"`
	Message       string `json:"message,omitempty"`
}

// CheckName answers whether name may be given to a new registry.
func (s *Service) CheckName(ctx context.Context, name string) (NameAvailability, error) {
	if !nameRE.MatchString(name) {
		return NameAvailability{Reason: "Invalid", Message: "The registry name must contain only alphanumeric characters and be between 5 and 50 characters."}, nil
	}
	_, err := s.store.GetRegistry(ctx, name)
	switch {
	case err == nil:
		return NameAvailability{Reason: "AlreadyExists", Message: "The registry " + name + " is already in use."}, nil
	case errors.Is(err, storage.ErrNotFound):
		return NameAvailability{NameAvailable: true}, nil
	}
	return NameAvailability{}, err
}
