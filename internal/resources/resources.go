// Package resources holds the rules of Microsoft.Resources: subscriptions
// and resource groups, the containers every other resource lives in, and
// ARM's naming, location and tag rules shared by every resource type. It
// knows nothing of the resource providers that put resources in groups
// (msi, vault, clusters and machines call it, never the reverse) nor of HTTP.
package resources

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/storage"
)

// ARM's limits on groups and tags.
const (
	maxTags            = 50
	maxTagNameLength   = 512
	maxTagValueLength  = 256
	maxGroupNameLength = 90
)

// Service applies Microsoft.Resources' rules on top of storage.
type Service struct {
	store storage.Storage
	now   func() time.Time
}

// Config configures a Service; zero values are usable defaults.
type Config struct {
	Store storage.Storage
	Now   func() time.Time
}

// New returns a Service on cfg.Store.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: cfg.Store, now: cfg.Now}
}

// Subscription returns a subscription or SubscriptionNotFound.
func (s *Service) Subscription(ctx context.Context, sub string) (storage.Subscription, error) {
	got, err := s.store.GetSubscription(ctx, sub)
	if errors.Is(err, storage.ErrNotFound) {
		return got, armerr.SubscriptionNotFound(sub)
	}
	return got, err
}

// Subscriptions lists every subscription.
func (s *Service) Subscriptions(ctx context.Context) ([]storage.Subscription, error) {
	return storage.All(func(p storage.Page) ([]storage.Subscription, string, error) {
		return s.store.ListSubscriptions(ctx, p)
	})
}

// GroupSpec is the writable part of a resource group.
type GroupSpec struct {
	Location string
	Tags     map[string]string
	// ManagedBy is the ID of the resource that manages the group (ARM's
	// managedBy): stored and answered, not acted on.
	ManagedBy string
}

// PutGroup creates or updates a resource group. ARM refuses to move a group
// to another location, and so does Ward.
func (s *Service) PutGroup(ctx context.Context, sub, name string, spec GroupSpec) (storage.ResourceGroup, bool, error) {
	if err := ValidateGroupName(name); err != nil {
		return storage.ResourceGroup{}, false, err
	}
	loc := NormalizeLocation(spec.Location)
	if loc == "" {
		return storage.ResourceGroup{}, false, invalid(armerr.CodeLocationRequired, "The location property is required for this definition.")
	}
	if err := ValidateTags(spec.Tags); err != nil {
		return storage.ResourceGroup{}, false, err
	}
	if _, err := s.Subscription(ctx, sub); err != nil {
		return storage.ResourceGroup{}, false, err
	}
	if old, err := s.store.GetResourceGroup(ctx, sub, name); err == nil && old.Location != loc {
		return storage.ResourceGroup{}, false, armerr.Conflict("InvalidResourceGroupLocation", "Invalid resource group location '%s'. The Resource group already exists in location '%s' in resource group '%s'. A resource group cannot be moved to another location: delete it first or create it in '%s'.", loc, old.Location, old.Name, old.Location)
	}
	now := s.now().UTC()
	rg := storage.ResourceGroup{SubscriptionID: sub, Name: name, Location: loc, Tags: spec.Tags, ManagedBy: spec.ManagedBy, CreatedAt: now, UpdatedAt: now}
	created, err := s.store.PutResourceGroup(ctx, rg)
	if err != nil {
		return rg, false, MapErr(err, sub, "")
	}
	got, err := s.store.GetResourceGroup(ctx, sub, name)
	return got, created, err
}

// Group reads a resource group.
func (s *Service) Group(ctx context.Context, sub, name string) (storage.ResourceGroup, error) {
	if _, err := s.Subscription(ctx, sub); err != nil {
		return storage.ResourceGroup{}, err
	}
	rg, err := s.store.GetResourceGroup(ctx, sub, name)
	if errors.Is(err, storage.ErrNotFound) {
		return rg, armerr.ResourceGroupNotFound(name)
	}
	return rg, err
}

// Groups lists one page of a subscription's groups.
func (s *Service) Groups(ctx context.Context, sub string, p storage.Page) ([]storage.ResourceGroup, string, error) {
	if _, err := s.Subscription(ctx, sub); err != nil {
		return nil, "", err
	}
	return s.store.ListResourceGroups(ctx, sub, p)
}

// DeleteGroup deletes a group and everything in it; found is false when
// there was nothing to delete.
func (s *Service) DeleteGroup(ctx context.Context, sub, name string) (found bool, err error) {
	if _, err := s.Subscription(ctx, sub); err != nil {
		return false, err
	}
	err = s.store.DeleteResourceGroup(ctx, sub, name)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ValidateGroupName applies ARM's resource group naming rules: 1-90
// characters of letters, digits, '-', '.', '(', ')' or '_', not ending in '.'.
func ValidateGroupName(name string) error {
	var bad []rune
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-._()", r)) {
			bad = append(bad, r)
		}
	}
	switch {
	case len(bad) > 0:
		return invalid(armerr.CodeInvalidResourceGroup, "The provided resource group name '%s' has these invalid characters: '%s'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'.", name, string(bad))
	case name == "" || len([]rune(name)) > maxGroupNameLength:
		return invalid(armerr.CodeInvalidResourceGroup, "The provided resource group name '%s' is invalid: it must be 1 to %d characters long.", name, maxGroupNameLength)
	case strings.HasSuffix(name, "."):
		return invalid(armerr.CodeInvalidResourceGroup, "The provided resource group name '%s' is invalid: it cannot end with a period.", name)
	}
	return nil
}

// NormalizeLocation folds a location as ARM does ("West Europe" -> "westeurope").
func NormalizeLocation(loc string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(loc), " ", ""))
}

// ValidateTags applies ARM's tag limits.
func ValidateTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return invalid(armerr.CodeInvalidTag, "The resource has %d tags; at most %d are allowed.", len(tags), maxTags)
	}
	for k, v := range tags {
		switch {
		case k == "" || len(k) > maxTagNameLength:
			return invalid(armerr.CodeInvalidTag, "The tag name '%s' is invalid: it must be 1 to %d characters long.", k, maxTagNameLength)
		case strings.ContainsAny(k, `<>%&\?/`) || strings.IndexFunc(k, unicode.IsControl) >= 0:
			return invalid(armerr.CodeInvalidTag, "The tag name '%s' has reserved characters '<,>,%%,&,\\,?,/' or control characters.", k)
		case len(v) > maxTagValueLength:
			return invalid(armerr.CodeInvalidTag, "The value of tag '%s' is longer than %d characters.", k, maxTagValueLength)
		}
	}
	return nil
}

// MapErr turns the storage sentinels of a write under subscription sub
// (and group rg, if any) into ARM errors.
func MapErr(err error, sub, rg string) error {
	var e *armerr.Error
	switch {
	case err == nil, errors.As(err, &e):
		return err
	case errors.Is(err, storage.ErrParentNotFound):
		if rg == "" {
			return armerr.SubscriptionNotFound(sub)
		}
		return armerr.ResourceGroupNotFound(rg)
	case errors.Is(err, storage.ErrConflict):
		return armerr.Conflict(armerr.CodeConflict, "The resource was modified concurrently; retry the request.")
	}
	return err
}

var invalid = armerr.BadRequest

// Registration states, as `az provider` and `az feature` set them.
const (
	Registered   = "Registered"
	Unregistered = "Unregistered"
)

// Registrations are a subscription's stored registration states, keyed
// by lower-case "namespace" or "namespace/feature"; absent is Registered.
func (s *Service) Registrations(ctx context.Context, sub string) (map[string]string, error) {
	items, err := s.store.ListRegistrations(ctx, sub)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(items))
	for _, r := range items {
		out[RegistrationKey(r.Namespace, r.Feature)] = r.State
	}
	return out, nil
}

// RegistrationKey is the key of Registrations for a namespace (feature "")
// or one of its features.
func RegistrationKey(namespace, feature string) string {
	if feature == "" {
		return strings.ToLower(namespace)
	}
	return strings.ToLower(namespace + "/" + feature)
}

// SetRegistration stores a namespace's (feature "") or feature's state in
// a subscription, which must exist.
func (s *Service) SetRegistration(ctx context.Context, sub, namespace, feature, state string) error {
	if _, err := s.Subscription(ctx, sub); err != nil {
		return err
	}
	err := s.store.PutRegistration(ctx, storage.Registration{SubscriptionID: sub, Namespace: namespace, Feature: feature, State: state, UpdatedAt: s.now().UTC()})
	if errors.Is(err, storage.ErrParentNotFound) {
		return armerr.SubscriptionNotFound(sub)
	}
	return err
}
