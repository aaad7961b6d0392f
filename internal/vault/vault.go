// Package vault is Ward's reference resource server: Key Vault–compatible
// vaults (an ARM resource) and their secrets (a data plane on its own host
// names, {vault}.vault.localhost:{port}), protected by Ward's tokens and
// RBAC data actions exactly as Azure Key Vault in RBAC mode. Secret values
// are encrypted at rest.
package vault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/datahost"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
)

// Data actions of the secrets data plane.
const (
	ActionGetSecret    = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	ActionSetSecret    = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
	ActionReadMetadata = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
	ActionUpdate       = "Microsoft.KeyVault/vaults/secrets/update/action"
	ActionDelete       = "Microsoft.KeyVault/vaults/secrets/delete"
)

var (
	vaultNameRE  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)
	secretNameRE = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)
)

// Hosts derives the vault host names from Ward's public URL: loopback
// deployments use vault.localhost, others vault.<host>; the port is kept.
type Hosts struct {
	Suffix string // e.g. vault.localhost:8443
}

// NewHosts builds Hosts for a public URL.
func NewHosts(publicURL string) Hosts {
	return Hosts{Suffix: datahost.Suffix(publicURL, "vault")}
}

// Resource is the challenge resource and token audience of the data plane.
func (h Hosts) Resource() string { return "https://" + h.Suffix }

// URI is a vault's vaultUri.
func (h Hosts) URI(name string) string {
	return "https://" + strings.ToLower(name) + "." + h.Suffix + "/"
}

// VaultFromHost returns the vault name a request host addresses.
func (h Hosts) VaultFromHost(host string) (string, bool) {
	return datahost.Name(host, h.Suffix)
}

// Service holds vaults and secrets.
type Service struct {
	store storage.Storage
	aead  cipher.AEAD
	now   func() time.Time
	Hosts Hosts
	cache vaultCache // the data plane's view of vaults
}

// Config configures a Service.
type Config struct {
	Store storage.Storage
	// KEK derives the key secrets are sealed with.
	KEK   []byte
	Hosts Hosts
	Now   func() time.Time // default time.Now
}

// New returns a Service whose secret key is derived from the KEK.
func New(cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	mac := hmac.New(sha256.New, cfg.KEK)
	mac.Write([]byte("ward vault secrets v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Service{store: cfg.Store, aead: aead, now: cfg.Now, Hosts: cfg.Hosts}, nil
}

// ResourceID is the ARM ID of a vault.
func ResourceID(v storage.Vault) string {
	return resourceid.VaultID(v.SubscriptionID, v.ResourceGroup, v.Name)
}

func invalid(code, format string, args ...any) *armerr.Error {
	return armerr.BadRequest(code, format, args...)
}

// PutVault creates or updates a vault (ARM).
// echo is the rest of the request's JSON, stored and answered back as
// sent (arm/echo.go); an update replaces it.
func (s *Service) PutVault(ctx context.Context, sub, rg, name, location, tenantID, sku string, tags map[string]string, echo json.RawMessage) (storage.Vault, bool, error) {
	if !vaultNameRE.MatchString(name) || strings.Contains(name, "--") {
		return storage.Vault{}, false, invalid("VaultNameNotValid", "The vault name '%s' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.", name)
	}
	loc := resources.NormalizeLocation(location)
	if loc == "" {
		return storage.Vault{}, false, invalid(armerr.CodeLocationRequired, "The location property is required for this definition.")
	}
	if sku == "" {
		sku = "standard"
	}
	now := s.now().UTC()
	v := storage.Vault{SubscriptionID: sub, ResourceGroup: rg, Name: name, Location: loc, Tags: tags, TenantID: tenantID, SKU: strings.ToLower(sku), Echo: echo, CreatedAt: now, UpdatedAt: now}
	// An existing vault is updated in one transaction (its name, group and
	// creation time stay); only an absent one is created.
	got, err := s.store.UpdateVault(ctx, name, func(old storage.Vault) (storage.Vault, error) {
		if !strings.EqualFold(old.SubscriptionID, sub) || !strings.EqualFold(old.ResourceGroup, rg) {
			return old, storage.ErrAlreadyExists
		}
		old.Tags, old.SKU, old.Echo, old.UpdatedAt = v.Tags, v.SKU, v.Echo, now
		return old, nil
	})
	created := false
	if errors.Is(err, storage.ErrNotFound) {
		created, err = s.store.PutVault(ctx, v)
		if err == nil {
			got, err = s.store.GetVault(ctx, name)
		}
	}
	s.Forget(name)
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return v, false, armerr.Conflict("VaultAlreadyExists", "The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken.", name)
	case errors.Is(err, storage.ErrParentNotFound):
		return v, false, armerr.NotFound(armerr.CodeResourceGroupNotFound, "Resource group '%s' could not be found.", rg)
	case err != nil:
		return v, false, err
	}
	return got, created, nil
}

// Vault reads a vault in a group (ARM).
func (s *Service) Vault(ctx context.Context, sub, rg, name string) (storage.Vault, error) {
	v, err := s.store.GetVault(ctx, name)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (!strings.EqualFold(v.ResourceGroup, rg) || !strings.EqualFold(v.SubscriptionID, sub))) {
		return v, armerr.NotFound(armerr.CodeResourceNotFound, "The Resource 'Microsoft.KeyVault/vaults/%s' under resource group '%s' was not found.", name, rg)
	}
	return v, err
}

// VaultExists reports whether a live vault is named name, in any
// subscription (vault names are global).
func (s *Service) VaultExists(ctx context.Context, name string) (bool, error) {
	_, err := s.store.GetVault(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Vaults lists vaults (ARM).
func (s *Service) Vaults(ctx context.Context, sub, rg string) ([]storage.Vault, error) {
	return storage.All(func(p storage.Page) ([]storage.Vault, string, error) {
		return s.store.ListVaults(ctx, sub, rg, p)
	})
}

// DeleteVault deletes a vault and its secrets (ARM).
func (s *Service) DeleteVault(ctx context.Context, sub, rg, name string) (bool, error) {
	if _, err := s.Vault(ctx, sub, rg, name); err != nil {
		return false, nil
	}
	err := s.store.DeleteVault(ctx, name)
	s.Forget(name)
	return true, err
}

// SecretAttributes are a version's attributes.
type SecretAttributes struct {
	Enabled   *bool
	NotBefore *time.Time
	Expires   *time.Time
}

// SetSecret stores a new version with a fresh 32-hex version ID.
func (s *Service) SetSecret(ctx context.Context, v storage.Vault, name, value, contentType string, attrs SecretAttributes, tags map[string]string) (storage.Secret, error) {
	if !secretNameRE.MatchString(name) {
		return storage.Secret{}, invalid("BadParameter", "The request URI contains an invalid name: %s. Secret names are 1-127 characters of letters, digits and dashes.", name)
	}
	if len(value) > 25*1024 {
		return storage.Secret{}, invalid("BadParameter", "The secret value is larger than 25 KiB.")
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return storage.Secret{}, err
	}
	version := hex.EncodeToString(b)
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return storage.Secret{}, err
	}
	aad := []byte(strings.ToLower(v.Name + "/" + name + "/" + version))
	now := s.now().UTC()
	x := storage.Secret{Vault: v.Name, Name: name, Version: version, EncryptedValue: s.aead.Seal(nonce, nonce, []byte(value), aad),
		ContentType: contentType, Enabled: true, Tags: tags, CreatedAt: now, UpdatedAt: now}
	applyAttrs(&x, attrs)
	err := s.store.AddSecretVersion(ctx, x)
	if errors.Is(err, storage.ErrAlreadyExists) {
		// The version is fresh, so a deleted secret holds the name; one past
		// its purge date is purged, and the write tried once more.
		d, derr := s.store.GetDeletedSecret(ctx, v.Name, name)
		if derr != nil {
			return x, err
		}
		if gone, perr := s.expired(ctx, d); perr != nil {
			return x, perr
		} else if !gone {
			return x, ErrSecretDeleted
		}
		err = s.store.AddSecretVersion(ctx, x)
	}
	return x, err
}

func applyAttrs(x *storage.Secret, a SecretAttributes) {
	if a.Enabled != nil {
		x.Enabled = *a.Enabled
	}
	if a.NotBefore != nil {
		x.NotBefore = *a.NotBefore
	}
	if a.Expires != nil {
		x.Expires = *a.Expires
	}
}

// ErrSecretNotFound means no such secret or version.
var ErrSecretNotFound = errors.New("secret not found")

// Secret reads a version (or the newest) and decrypts its value.
func (s *Service) Secret(ctx context.Context, vault, name, version string) (storage.Secret, string, error) {
	x, err := s.store.GetSecret(ctx, vault, name, version)
	if errors.Is(err, storage.ErrNotFound) {
		return x, "", ErrSecretNotFound
	}
	if err != nil {
		return x, "", err
	}
	ns := s.aead.NonceSize()
	if len(x.EncryptedValue) < ns {
		return x, "", errors.New("corrupt secret value")
	}
	aad := []byte(strings.ToLower(x.Vault + "/" + x.Name + "/" + x.Version))
	plain, err := s.aead.Open(nil, x.EncryptedValue[:ns], x.EncryptedValue[ns:], aad)
	if err != nil {
		return x, "", fmt.Errorf("secret %s cannot be decrypted with this key-encryption key: %w", x.Name, err)
	}
	return x, string(plain), nil
}

// UpdateSecret changes a version's attributes, tags or content type.
func (s *Service) UpdateSecret(ctx context.Context, vault, name, version string, contentType *string, attrs SecretAttributes, tags map[string]string) (storage.Secret, error) {
	x, err := s.store.UpdateSecretVersion(ctx, vault, name, version, func(x storage.Secret) (storage.Secret, error) {
		applyAttrs(&x, attrs)
		if contentType != nil {
			x.ContentType = *contentType
		}
		if tags != nil {
			x.Tags = tags
		}
		x.UpdatedAt = s.now().UTC()
		return x, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return x, ErrSecretNotFound
	}
	return x, err
}

// Secrets lists the newest version of each secret.
func (s *Service) Secrets(ctx context.Context, vault string) ([]storage.Secret, error) {
	return storage.All(func(p storage.Page) ([]storage.Secret, string, error) {
		return s.store.ListSecrets(ctx, vault, p)
	})
}

// Versions lists a secret's versions.
func (s *Service) Versions(ctx context.Context, vault, name string) ([]storage.Secret, error) {
	return storage.All(func(p storage.Page) ([]storage.Secret, string, error) {
		return s.store.ListSecretVersions(ctx, vault, name, p)
	})
}
