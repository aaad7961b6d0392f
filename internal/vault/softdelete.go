package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ward-id/ward/internal/storage"
)

// Soft-delete of secrets, as Key Vault does it. In a vault with soft-delete
// (enableSoftDelete, on unless the vault's PUT said false, as in Azure
// since 2020) a deleted secret is kept, every version, for the vault's
// softDeleteRetentionInDays (7–90, default 90): it no longer reads and its
// name cannot be reused, until it is recovered (POST
// /deletedsecrets/{name}/recover) or purged (DELETE /deletedsecrets/{name},
// refused when the vault has enablePurgeProtection). Past its scheduled
// purge date it is purged when next read. A vault without soft-delete
// deletes a secret outright.

// Data actions of the deleted-secrets routes (Key Vault's RBAC names).
const (
	ActionPurge   = "Microsoft.KeyVault/vaults/secrets/purge/action"
	ActionRecover = "Microsoft.KeyVault/vaults/secrets/recover/action"
	// ActionReadContacts reads a vault's certificate contacts.
	ActionReadContacts = "Microsoft.KeyVault/vaults/certificatecontacts/read"
)

const (
	defaultRetentionDays = 90
	minRetentionDays     = 7
	maxRetentionDays     = 90
)

var (
	// ErrDeletedSecretNotFound means no deleted secret of that name.
	ErrDeletedSecretNotFound = errors.New("deleted secret not found")
	// ErrSecretDeleted means a deleted secret holds the name a write used.
	ErrSecretDeleted = errors.New("secret is deleted but recoverable")
	// ErrPurgeProtected means the vault forbids purging.
	ErrPurgeProtected = errors.New("purge protection is enabled for this vault")
)

// SoftDelete is a vault's soft-delete settings, from what its PUT declared.
type SoftDelete struct {
	Enabled         bool
	RetentionDays   int
	PurgeProtection bool
}

// SoftDeleteOf reads a vault's settings from its stored request (echo):
// enableSoftDelete (default true), softDeleteRetentionInDays (default 90,
// held to 7–90) and enablePurgeProtection (default false).
func SoftDeleteOf(v storage.Vault) SoftDelete {
	var sent struct {
		Properties struct {
			EnableSoftDelete          *bool `json:"enableSoftDelete"`
			SoftDeleteRetentionInDays *int  `json:"softDeleteRetentionInDays"`
			EnablePurgeProtection     *bool `json:"enablePurgeProtection"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(v.Echo, &sent) // an echo that does not decode declared nothing
	p := sent.Properties
	sd := SoftDelete{Enabled: true, RetentionDays: defaultRetentionDays}
	if p.EnableSoftDelete != nil {
		sd.Enabled = *p.EnableSoftDelete
	}
	if d := p.SoftDeleteRetentionInDays; d != nil && *d >= minRetentionDays && *d <= maxRetentionDays {
		sd.RetentionDays = *d
	}
	sd.PurgeProtection = p.EnablePurgeProtection != nil && *p.EnablePurgeProtection && sd.Enabled
	return sd
}

// RecoveryLevel is the recoveryLevel Key Vault reports on the secrets of a
// vault with these settings.
func (sd SoftDelete) RecoveryLevel() string {
	switch {
	case !sd.Enabled:
		return "Purgeable"
	case sd.PurgeProtection:
		return "Recoverable"
	default:
		return "Recoverable+Purgeable"
	}
}

// RecoverableDays is how long a deleted secret is kept (0 without
// soft-delete).
func (sd SoftDelete) RecoverableDays() int {
	if !sd.Enabled {
		return 0
	}
	return sd.RetentionDays
}

// DeleteSecret deletes a secret: kept as deleted in a vault with
// soft-delete (the answer carries DeletedAt), outright otherwise.
func (s *Service) DeleteSecret(ctx context.Context, v storage.Vault, name string) (storage.Secret, error) {
	sd := SoftDeleteOf(v)
	if sd.Enabled {
		now := s.now().UTC()
		x, err := s.store.SoftDeleteSecret(ctx, v.Name, name, now, now.AddDate(0, 0, sd.RetentionDays))
		if errors.Is(err, storage.ErrNotFound) {
			return x, ErrSecretNotFound
		}
		return x, err
	}
	x, err := s.store.GetSecret(ctx, v.Name, name, "")
	if errors.Is(err, storage.ErrNotFound) {
		return x, ErrSecretNotFound
	}
	if err != nil {
		return x, err
	}
	if err := s.store.DeleteSecret(ctx, v.Name, name); errors.Is(err, storage.ErrNotFound) {
		return x, ErrSecretNotFound // deleted by another request meanwhile
	} else if err != nil {
		return x, err
	}
	return x, nil
}

// expired reports whether a deleted secret is past its purge date; it is
// purged then, and reads as purged.
func (s *Service) expired(ctx context.Context, x storage.Secret) (bool, error) {
	if x.PurgeAt.IsZero() || s.now().Before(x.PurgeAt) {
		return false, nil
	}
	if err := s.store.PurgeDeletedSecret(ctx, x.Vault, x.Name); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return true, fmt.Errorf("purge expired secret %s: %w", x.Name, err)
	}
	return true, nil
}

// DeletedSecret reads a deleted secret's newest version.
func (s *Service) DeletedSecret(ctx context.Context, vault, name string) (storage.Secret, error) {
	x, err := s.store.GetDeletedSecret(ctx, vault, name)
	if errors.Is(err, storage.ErrNotFound) {
		return x, ErrDeletedSecretNotFound
	}
	if err != nil {
		return x, err
	}
	if gone, err := s.expired(ctx, x); err != nil {
		return x, err
	} else if gone {
		return x, ErrDeletedSecretNotFound
	}
	return x, nil
}

// DeletedSecrets lists a vault's deleted secrets (newest version of each).
func (s *Service) DeletedSecrets(ctx context.Context, vault string) ([]storage.Secret, error) {
	all, err := storage.All(func(p storage.Page) ([]storage.Secret, string, error) {
		return s.store.ListDeletedSecrets(ctx, vault, p)
	})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, x := range all {
		gone, err := s.expired(ctx, x)
		if err != nil {
			return nil, err
		}
		if !gone {
			out = append(out, x)
		}
	}
	return out, nil
}

// RecoverSecret makes a deleted secret live again, every version as it was.
func (s *Service) RecoverSecret(ctx context.Context, vault, name string) (storage.Secret, error) {
	if _, err := s.DeletedSecret(ctx, vault, name); err != nil {
		return storage.Secret{}, err
	}
	x, err := s.store.RecoverDeletedSecret(ctx, vault, name)
	if errors.Is(err, storage.ErrNotFound) {
		return x, ErrDeletedSecretNotFound
	}
	return x, err
}

// PurgeSecret deletes a deleted secret for good, unless the vault has
// purge protection.
func (s *Service) PurgeSecret(ctx context.Context, v storage.Vault, name string) error {
	if SoftDeleteOf(v).PurgeProtection {
		return ErrPurgeProtected
	}
	err := s.store.PurgeDeletedSecret(ctx, v.Name, name)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrDeletedSecretNotFound
	}
	return err
}
