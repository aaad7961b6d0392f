// Package directory manages service principals (Entra app registrations
// folded into one object): creation, client secrets shown once and stored
// hashed, certificates. It knows nothing of HTTP; graph.go puts it on a
// Microsoft Graph–shaped API.
package directory

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/clientsecret"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// ErrNotFound means no such service principal or credential.
var ErrNotFound = errors.New("not found")

// ManagedError refuses an operation Entra refuses on a managed identity's
// principal: adding or replacing credentials, and deleting it through the
// directory (it goes with its resource). Message names the resource.
type ManagedError struct{ Message string }

func (e *ManagedError) Error() string { return e.Message }

func refuseManaged(sp ServicePrincipal, what string) error {
	if sp.ManagedResourceID == "" {
		return nil
	}
	return &ManagedError{fmt.Sprintf("Service principal '%s' is the managed identity of '%s' (servicePrincipalType ManagedIdentity): %s. A managed identity has no credentials of its own and is deleted with its resource (or by removing the identity from it).",
		sp.AppID, sp.ManagedResourceID, what)}
}

// InvalidError is a request that breaks a rule.
type InvalidError struct{ Message string }

func (e *InvalidError) Error() string { return e.Message }

// Config configures a Service.
type Config struct {
	Store    storage.Storage
	TenantID string
	Now      func() time.Time // default time.Now
}

// Service manages service principals in one tenant.
type Service struct {
	store    storage.Storage
	tenantID string
	now      func() time.Time
}

// New returns the tenant's directory service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: cfg.Store, tenantID: cfg.TenantID, now: cfg.Now}
}

// ServicePrincipal is a principal with its credentials' public parts.
type ServicePrincipal struct {
	storage.ServicePrincipal
	Secrets      []storage.ClientSecret
	Certificates []storage.Certificate
}

// NewSecret is a secret as shown once, at creation.
type NewSecret struct {
	KeyID       string
	SecretText  string
	Hint        string
	DisplayName string
	Start, End  time.Time
}

// Create makes a service principal with a new client ID.
func (s *Service) Create(ctx context.Context, displayName string) (ServicePrincipal, error) {
	return s.create(ctx, displayName, "")
}

// CreateManaged makes the principal of resourceID's system-assigned
// managed identity: a principal that refuses credentials and deletion
// through the directory (DeleteSystemPrincipal removes it).
func (s *Service) CreateManaged(ctx context.Context, displayName, resourceID string) (ServicePrincipal, error) {
	return s.create(ctx, displayName, resourceID)
}

func (s *Service) create(ctx context.Context, displayName, resourceID string) (ServicePrincipal, error) {
	if strings.TrimSpace(displayName) == "" || len(displayName) > 256 {
		return ServicePrincipal{}, &InvalidError{"displayName is required and must be at most 256 characters."}
	}
	sp := storage.ServicePrincipal{ObjectID: uuid.NewString(), AppID: uuid.NewString(), TenantID: s.tenantID, DisplayName: displayName, CreatedAt: s.now().UTC(),
		ManagedResourceID: resourceID}
	if err := s.store.CreateServicePrincipal(ctx, sp); err != nil {
		return ServicePrincipal{}, err
	}
	return ServicePrincipal{ServicePrincipal: sp}, nil
}

// Get reads a service principal by object ID or client ID, with credentials.
func (s *Service) Get(ctx context.Context, id string) (ServicePrincipal, error) {
	sp, err := s.store.GetServicePrincipal(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		sp, err = s.store.GetServicePrincipalByAppID(ctx, id)
	}
	if errors.Is(err, storage.ErrNotFound) {
		sp, err = s.userAssigned(ctx, id)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return ServicePrincipal{}, fmt.Errorf("%w: no service principal with object ID or client ID '%s'", ErrNotFound, id)
	}
	if err != nil {
		return ServicePrincipal{}, err
	}
	return s.withCredentials(ctx, sp)
}

func (s *Service) withCredentials(ctx context.Context, sp storage.ServicePrincipal) (ServicePrincipal, error) {
	secrets, err := storage.All(func(p storage.Page) ([]storage.ClientSecret, string, error) {
		return s.store.ListClientSecrets(ctx, sp.AppID, p)
	})
	if err != nil {
		return ServicePrincipal{}, err
	}
	certs, err := storage.All(func(p storage.Page) ([]storage.Certificate, string, error) {
		return s.store.ListCertificates(ctx, sp.AppID, p)
	})
	if err != nil {
		return ServicePrincipal{}, err
	}
	return ServicePrincipal{ServicePrincipal: sp, Secrets: secrets, Certificates: certs}, nil
}

// userAssigned is the principal of the user-assigned identity whose
// principal (object) ID or client ID is id, as Entra keeps one for every
// managed identity: object ID = principalId, appId = clientId, the
// identity's resource ID as ManagedResourceID. Ward stores it with the
// identity, so it is read from there.
func (s *Service) userAssigned(ctx context.Context, id string) (storage.ServicePrincipal, error) {
	if _, err := uuid.Parse(id); err != nil {
		return storage.ServicePrincipal{}, storage.ErrNotFound
	}
	ident, err := s.store.GetIdentityByPrincipalID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		ident, err = s.store.GetIdentityByClientID(ctx, id)
	}
	if err != nil {
		return storage.ServicePrincipal{}, err
	}
	return identityPrincipal(ident), nil
}

func identityPrincipal(i storage.Identity) storage.ServicePrincipal {
	return storage.ServicePrincipal{ObjectID: i.PrincipalID, AppID: i.ClientID, TenantID: i.TenantID, DisplayName: i.Name, CreatedAt: i.CreatedAt,
		ManagedResourceID: resourceid.IdentityID(i.SubscriptionID, i.ResourceGroup, i.Name)}
}

// allUserAssigned lists the principals of every user-assigned identity.
func (s *Service) allUserAssigned(ctx context.Context) ([]storage.ServicePrincipal, error) {
	subs, err := storage.All(func(p storage.Page) ([]storage.Subscription, string, error) {
		return s.store.ListSubscriptions(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	var out []storage.ServicePrincipal
	for _, sub := range subs {
		ids, err := storage.All(func(p storage.Page) ([]storage.Identity, string, error) {
			return s.store.ListIdentities(ctx, storage.IdentityFilter{SubscriptionID: sub.ID}, p)
		})
		if err != nil {
			return nil, err
		}
		for _, i := range ids {
			out = append(out, identityPrincipal(i))
		}
	}
	return out, nil
}

// ByResourceID returns the principal of the managed identity whose
// resource ID is id: a user-assigned identity's, or a resource's
// system-assigned one; none is an empty list.
func (s *Service) ByResourceID(ctx context.Context, id string) ([]ServicePrincipal, error) {
	var found []storage.ServicePrincipal
	if rid, err := resourceid.Parse(id); err == nil && rid.TypeMatches("Microsoft.ManagedIdentity/userAssignedIdentities") && rid.Collection == "" {
		ident, err := s.store.GetIdentity(ctx, storage.IdentityRef{SubscriptionID: rid.Subscription, ResourceGroup: rid.ResourceGroup, Name: rid.Types[0].Name})
		if err == nil {
			found = append(found, identityPrincipal(ident))
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	} else {
		all, err := storage.All(func(p storage.Page) ([]storage.ServicePrincipal, string, error) {
			return s.store.ListServicePrincipals(ctx, p)
		})
		if err != nil {
			return nil, err
		}
		for _, sp := range all {
			if sp.ManagedResourceID != "" && strings.EqualFold(sp.ManagedResourceID, id) {
				found = append(found, sp)
			}
		}
	}
	out := []ServicePrincipal{}
	for _, sp := range found {
		full, err := s.withCredentials(ctx, sp)
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

// Principals lists one page of the directory's own service principals
// (applications' and system-assigned identities'; user-assigned identities
// are ARM's), without their credentials.
func (s *Service) Principals(ctx context.Context, p storage.Page) ([]storage.ServicePrincipal, string, error) {
	return s.store.ListServicePrincipals(ctx, p)
}

// List lists service principals, managed identities' included, optionally
// only those whose client ID or display name equals match.
func (s *Service) List(ctx context.Context, appID, displayName string) ([]ServicePrincipal, error) {
	var all []storage.ServicePrincipal
	var err error
	if appID != "" {
		// One client ID names at most one principal: no scan.
		var sp storage.ServicePrincipal
		if sp, err = s.store.GetServicePrincipalByAppID(ctx, appID); err == nil {
			all = append(all, sp)
		} else if errors.Is(err, storage.ErrNotFound) {
			if sp, err = s.userAssigned(ctx, appID); err == nil && strings.EqualFold(sp.AppID, appID) {
				all = append(all, sp)
			}
		}
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	} else {
		if all, err = storage.All(func(p storage.Page) ([]storage.ServicePrincipal, string, error) {
			return s.store.ListServicePrincipals(ctx, p)
		}); err != nil {
			return nil, err
		}
		ua, err := s.allUserAssigned(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, ua...)
	}
	out := []ServicePrincipal{}
	for _, sp := range all {
		if (appID != "" && !strings.EqualFold(sp.AppID, appID)) || (displayName != "" && sp.DisplayName != displayName) {
			continue
		}
		full, err := s.withCredentials(ctx, sp)
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

// Delete deletes a service principal and its credentials. A managed
// identity's principal is refused: it goes with its resource.
func (s *Service) Delete(ctx context.Context, id string) error {
	sp, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := refuseManaged(sp, "it cannot be deleted through the directory"); err != nil {
		return err
	}
	return s.store.DeleteServicePrincipal(ctx, sp.ObjectID)
}

// deleteStored deletes a stored principal whatever its kind.
func (s *Service) deleteStored(ctx context.Context, id string) error {
	sp, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	return s.store.DeleteServicePrincipal(ctx, sp.ObjectID)
}

// DeleteSystemPrincipal deletes the service principal of a resource's
// system-assigned identity (a cluster's, a machine's) when the resource
// lets it go: first its role assignments through forget (nil: none to
// forget), then the principal; one already gone is not an error.
func (s *Service) DeleteSystemPrincipal(ctx context.Context, id string, forget func(context.Context, string) error) error {
	if forget != nil {
		if err := forget(ctx, id); err != nil {
			return err
		}
	}
	if err := s.deleteStored(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// AddSecret creates a client secret valid until end (zero: two years, as
// az's default of one year is often too short for labs; the caller decides).
func (s *Service) AddSecret(ctx context.Context, id, displayName string, end time.Time) (NewSecret, error) {
	sp, err := s.Get(ctx, id)
	if err != nil {
		return NewSecret{}, err
	}
	if err := refuseManaged(sp, "it takes no password credentials"); err != nil {
		return NewSecret{}, err
	}
	now := s.now().UTC()
	if end.IsZero() {
		end = now.AddDate(1, 0, 0)
	}
	if !end.After(now) {
		return NewSecret{}, &InvalidError{fmt.Sprintf("endDateTime %s is in the past.", end.Format(time.RFC3339))}
	}
	secret, hint := clientsecret.Generate()
	keyID := uuid.NewString()
	if err := s.store.AddClientSecret(ctx, clientsecret.New(keyID, sp.AppID, displayName, secret, hint, now, end)); err != nil {
		return NewSecret{}, err
	}
	return NewSecret{KeyID: keyID, SecretText: secret, Hint: hint, DisplayName: displayName, Start: now, End: end}, nil
}

// RemoveSecret deletes a client secret.
func (s *Service) RemoveSecret(ctx context.Context, id, keyID string) error {
	sp, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteClientSecret(ctx, sp.AppID, keyID); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: service principal '%s' has no secret with keyId '%s'", ErrNotFound, id, keyID)
	} else if err != nil {
		return err
	}
	return nil
}

// ReplaceCertificates sets the certificates of a service principal, as a
// Graph PATCH of keyCredentials does. Each is DER.
func (s *Service) ReplaceCertificates(ctx context.Context, id string, ders [][]byte) ([]storage.Certificate, error) {
	sp, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := refuseManaged(sp, "it takes no key credentials"); err != nil {
		return nil, err
	}
	var certs []storage.Certificate
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, &InvalidError{fmt.Sprintf("keyCredentials[%d] is not a DER X.509 certificate: %v", i, err)}
		}
		sum := sha256.Sum256(der)
		certs = append(certs, storage.Certificate{KeyID: uuid.NewString(), AppID: sp.AppID, Thumbprint: hex.EncodeToString(sum[:]),
			CertDER: der, ExpiresAt: c.NotAfter, CreatedAt: s.now().UTC()})
	}
	for _, old := range sp.Certificates {
		if err := s.store.DeleteCertificate(ctx, sp.AppID, old.KeyID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	}
	for _, c := range certs {
		if err := s.store.AddCertificate(ctx, c); err != nil {
			return nil, err
		}
	}
	return certs, nil
}
