// Package msi holds the rules of the managed identity resource provider
// (Microsoft.ManagedIdentity): user-assigned identities and their federated
// identity credentials. It validates, generates IDs and talks to storage; it
// knows nothing of HTTP (package arm puts it on the wire). The subscriptions
// and resource groups identities live in are package resources'.
package msi

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
)

// Service applies the provider's rules on top of storage.
type Service struct {
	groups  *resources.Service // the groups identities live in
	store   storage.Storage
	now     func() time.Time
	newID   func() string
	maxFICs int
	// writing holds the identities that have a federated credential write in
	// flight, so that a concurrent one is refused with 409 as Entra does.
	writing sync.Map
}

// Config configures a Service; zero values are usable defaults.
type Config struct {
	Store storage.Storage
	Now   func() time.Time
	NewID func() string // GUID generator for client and principal IDs
	// Resources serves the subscriptions and groups identities live in;
	// nil builds one on the same store and clock.
	Resources *resources.Service
	// MaxFederatedCredentials caps the credentials of one identity; 0 is
	// Entra's 20. Ward may go beyond it (ward serve
	// --max-federated-credentials): the token service indexes credentials
	// by issuer and subject, so only flexible ones cost per exchange.
	MaxFederatedCredentials int
}

// New returns a Service on cfg.Store.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = uuid.NewString
	}
	if cfg.Resources == nil {
		cfg.Resources = resources.New(resources.Config{Store: cfg.Store, Now: cfg.Now})
	}
	if cfg.MaxFederatedCredentials <= 0 {
		cfg.MaxFederatedCredentials = MaxFederatedCredentials
	}
	return &Service{groups: cfg.Resources, store: cfg.Store, now: cfg.Now, newID: cfg.NewID, maxFICs: cfg.MaxFederatedCredentials}
}

// IdentitySpec is the writable part of a user-assigned identity.
type IdentitySpec struct {
	Location       string
	Tags           map[string]string
	IsolationScope string // "", "None" or "Regional"
}

func validIsolationScope(v string) (string, error) {
	switch {
	case v == "" || strings.EqualFold(v, "None"):
		return "None", nil
	case strings.EqualFold(v, "Regional"):
		return "Regional", nil
	}
	return "", invalid(armerr.CodeBadRequest, "The isolationScope '%s' is invalid. Allowed values are 'None' and 'Regional'.", v)
}

// PutIdentity creates an identity with new client and principal IDs, or
// updates the location-independent fields of an existing one.
func (s *Service) PutIdentity(ctx context.Context, ref storage.IdentityRef, spec IdentitySpec) (storage.Identity, bool, error) {
	if err := ValidateIdentityName(ref.Name); err != nil {
		return storage.Identity{}, false, err
	}
	loc := resources.NormalizeLocation(spec.Location)
	if loc == "" {
		return storage.Identity{}, false, invalid(armerr.CodeLocationRequired, "The location property is required for this definition.")
	}
	scope, err := validIsolationScope(spec.IsolationScope)
	if err != nil {
		return storage.Identity{}, false, err
	}
	if err := resources.ValidateTags(spec.Tags); err != nil {
		return storage.Identity{}, false, err
	}
	sub, err := s.groups.Subscription(ctx, ref.SubscriptionID)
	if err != nil {
		return storage.Identity{}, false, err
	}
	rg, err := s.groups.Group(ctx, ref.SubscriptionID, ref.ResourceGroup)
	if err != nil {
		return storage.Identity{}, false, err
	}
	now := s.now().UTC()
	for attempt := 0; attempt < 3; attempt++ {
		updated, err := s.store.UpdateIdentity(ctx, ref, func(old storage.Identity) (storage.Identity, error) {
			if old.Location != loc {
				return old, armerr.Conflict("InvalidResourceLocation",
					"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.", old.Name, old.Location, old.ResourceGroup, loc)
			}
			old.Tags, old.IsolationScope, old.UpdatedAt = spec.Tags, scope, now
			return old, nil
		})
		if !errors.Is(err, storage.ErrNotFound) {
			return updated, false, resources.MapErr(err, ref.SubscriptionID, ref.ResourceGroup)
		}
		id := storage.Identity{
			SubscriptionID: ref.SubscriptionID, ResourceGroup: rg.Name, Name: ref.Name, Location: loc,
			Tags: spec.Tags, TenantID: sub.TenantID, ClientID: s.newID(), PrincipalID: s.newID(),
			IsolationScope: scope, CreatedAt: now, UpdatedAt: now,
		}
		err = s.store.CreateIdentity(ctx, id)
		if errors.Is(err, storage.ErrAlreadyExists) {
			continue // created concurrently: apply as an update
		}
		if err != nil {
			return id, false, resources.MapErr(err, ref.SubscriptionID, ref.ResourceGroup)
		}
		return id, true, nil
	}
	return storage.Identity{}, false, armerr.Conflict(armerr.CodeConflict, "The identity was modified concurrently; retry the request.")
}

// PatchIdentity updates tags and/or the isolation scope; nil leaves a field.
func (s *Service) PatchIdentity(ctx context.Context, ref storage.IdentityRef, tags map[string]string, isolationScope *string) (storage.Identity, error) {
	if err := resources.ValidateTags(tags); err != nil {
		return storage.Identity{}, err
	}
	var scope string
	if isolationScope != nil {
		var err error
		if scope, err = validIsolationScope(*isolationScope); err != nil {
			return storage.Identity{}, err
		}
	}
	if _, err := s.groups.Group(ctx, ref.SubscriptionID, ref.ResourceGroup); err != nil {
		return storage.Identity{}, err
	}
	now := s.now().UTC()
	id, err := s.store.UpdateIdentity(ctx, ref, func(old storage.Identity) (storage.Identity, error) {
		if tags != nil {
			old.Tags = tags
		}
		if isolationScope != nil {
			old.IsolationScope = scope
		}
		old.UpdatedAt = now
		return old, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return id, errIdentityNotFound(ref.ResourceGroup, ref.Name)
	}
	return id, err
}

// Identity reads an identity.
func (s *Service) Identity(ctx context.Context, ref storage.IdentityRef) (storage.Identity, error) {
	// The identity first: the store keeps an identity only inside its
	// group (a group's delete cascades to it), and a group only inside its
	// subscription, so a hit needs no other read. Only a miss reads the
	// group and subscription, to say which of the three is missing. One
	// query instead of three on the path every GET takes, which on
	// PostgreSQL is three pool connections and round trips.
	id, err := s.store.GetIdentity(ctx, ref)
	if !errors.Is(err, storage.ErrNotFound) {
		return id, err
	}
	if _, err := s.groups.Group(ctx, ref.SubscriptionID, ref.ResourceGroup); err != nil {
		return storage.Identity{}, err
	}
	return id, errIdentityNotFound(ref.ResourceGroup, ref.Name)
}

// Identities lists one page of identities in a subscription or a group.
func (s *Service) Identities(ctx context.Context, f storage.IdentityFilter, p storage.Page) ([]storage.Identity, string, error) {
	if f.ResourceGroup != "" {
		if _, err := s.groups.Group(ctx, f.SubscriptionID, f.ResourceGroup); err != nil {
			return nil, "", err
		}
	} else if _, err := s.groups.Subscription(ctx, f.SubscriptionID); err != nil {
		return nil, "", err
	}
	return s.store.ListIdentities(ctx, f, p)
}

// DeleteIdentity deletes an identity and its federated credentials.
func (s *Service) DeleteIdentity(ctx context.Context, ref storage.IdentityRef) (found bool, err error) {
	if _, err := s.groups.Group(ctx, ref.SubscriptionID, ref.ResourceGroup); err != nil {
		return false, err
	}
	err = s.store.DeleteIdentity(ctx, ref)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// PutFederatedCredential creates or replaces a credential under an identity.
func (s *Service) PutFederatedCredential(ctx context.Context, ref storage.IdentityRef, name string, spec FederatedCredentialSpec) (storage.FederatedCredential, bool, error) {
	if err := ValidateFederatedCredential(name, spec); err != nil {
		return storage.FederatedCredential{}, false, err
	}
	if _, err := s.groups.Group(ctx, ref.SubscriptionID, ref.ResourceGroup); err != nil {
		return storage.FederatedCredential{}, false, err
	}
	idKey := resourceid.Key(resourceid.IdentityID(ref.SubscriptionID, ref.ResourceGroup, ref.Name))
	if _, busy := s.writing.LoadOrStore(idKey, struct{}{}); busy {
		return storage.FederatedCredential{}, false, errConcurrentWrites(idKey)
	}
	defer s.writing.Delete(idKey)

	now := s.now().UTC()
	c := storage.FederatedCredential{Identity: ref, Name: name, Issuer: spec.Issuer, Subject: spec.Subject,
		Audiences: spec.Audiences, CreatedAt: now, UpdatedAt: now}
	if spec.Expression != nil {
		c.Expression, c.ExpressionVersion = spec.Expression.Value, spec.Expression.LanguageVersion
	}
	created, err := s.store.PutFederatedCredential(ctx, c, func(siblings []storage.FederatedCredential) error {
		for _, o := range siblings {
			if o.Issuer != c.Issuer {
				continue
			}
			if c.Expression == "" && o.Expression == "" && o.Subject == c.Subject {
				return invalid(armerr.CodeBadRequest, "Issuer and subject combination already exists for this Managed Identity. Federated identity credential '%s' already trusts issuer '%s' with subject '%s'.", o.Name, o.Issuer, o.Subject)
			}
			if c.Expression != "" && o.Expression == c.Expression {
				return invalid(armerr.CodeBadRequest, "Issuer and claimsMatchingExpression combination already exists for this Managed Identity. Federated identity credential '%s' already trusts issuer '%s' with claimsMatchingExpression '%s'.", o.Name, o.Issuer, o.Expression)
			}
		}
		if len(siblings) >= s.maxFICs {
			return invalid(armerr.CodeBadRequest, "The managed identity '%s' already has %d federated identity credentials, the maximum allowed. Delete one before adding another.", ref.Name, s.maxFICs)
		}
		return nil
	})
	switch {
	case errors.Is(err, storage.ErrParentNotFound):
		return c, false, errParentIdentityNotFound()
	case errors.Is(err, storage.ErrConflict):
		return c, false, errConcurrentWrites(idKey)
	case err != nil:
		return c, false, err
	}
	got, err := s.store.GetFederatedCredential(ctx, ref, name)
	return got, created, err
}

func errConcurrentWrites(idKey string) *armerr.Error {
	return armerr.Conflict(armerr.CodeConcurrentFICWrites,
		"Too many Federated Identity Credentials are written concurrently for the managed identity '%s'. Concurrent Federated Identity Credentials writes under the same managed identity are not supported.", idKey)
}

// FederatedCredential reads one credential.
func (s *Service) FederatedCredential(ctx context.Context, ref storage.IdentityRef, name string) (storage.FederatedCredential, error) {
	// The credential first, as Identity reads the identity first: the store
	// keeps a credential only under its identity (an identity's delete, and
	// so its group's, cascades to it), so a hit needs no other read. Only a
	// miss reads the identity (and through Identity its group and
	// subscription) to say which piece is missing.
	c, err := s.store.GetFederatedCredential(ctx, ref, name)
	if !errors.Is(err, storage.ErrNotFound) {
		return c, err
	}
	if _, err := s.Identity(ctx, ref); err != nil {
		if e := (*armerr.Error)(nil); errors.As(err, &e) && e.Code == armerr.CodeResourceNotFound {
			return storage.FederatedCredential{}, errParentIdentityNotFound()
		}
		return storage.FederatedCredential{}, err
	}
	return c, errFICNotFound(ref.ResourceGroup, ref.Name, name)
}

// FederatedCredentials lists one page of an identity's credentials.
func (s *Service) FederatedCredentials(ctx context.Context, ref storage.IdentityRef, p storage.Page) ([]storage.FederatedCredential, string, error) {
	if _, err := s.groups.Group(ctx, ref.SubscriptionID, ref.ResourceGroup); err != nil {
		return nil, "", err
	}
	items, next, err := s.store.ListFederatedCredentials(ctx, ref, p)
	if errors.Is(err, storage.ErrParentNotFound) {
		return nil, "", errParentIdentityNotFound()
	}
	return items, next, err
}

// CredentialsOf lists one page of the credentials of an identity the
// caller has just listed (Identities): unlike FederatedCredentials it does
// not look the identity's group up again, which a view of every identity
// would pay once per identity. An identity deleted since is
// storage.ErrParentNotFound.
func (s *Service) CredentialsOf(ctx context.Context, id storage.Identity, p storage.Page) ([]storage.FederatedCredential, string, error) {
	return s.store.ListFederatedCredentials(ctx, id.Ref(), p)
}

// DeleteFederatedCredential deletes one credential; found is false when it
// did not exist.
func (s *Service) DeleteFederatedCredential(ctx context.Context, ref storage.IdentityRef, name string) (bool, error) {
	if _, err := s.Identity(ctx, ref); err != nil {
		if e := (*armerr.Error)(nil); errors.As(err, &e) && e.Code == armerr.CodeResourceNotFound {
			return false, errParentIdentityNotFound()
		}
		return false, err
	}
	err := s.store.DeleteFederatedCredential(ctx, ref, name)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
