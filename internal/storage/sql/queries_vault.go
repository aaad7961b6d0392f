package sql

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

const vaultCols = `subscription_id, resource_group, name, location, tags, tenant_id, sku, echo, created_at, updated_at`

func scanVault(sc scanner) (storage.Vault, error) {
	var v storage.Vault
	var tags, echo string
	var created, updated int64
	if err := sc.Scan(&v.SubscriptionID, &v.ResourceGroup, &v.Name, &v.Location, &tags, &v.TenantID, &v.SKU, &echo, &created, &updated); err != nil {
		return v, err
	}
	if echo != "" {
		v.Echo = json.RawMessage(echo)
	}
	v.CreatedAt, v.UpdatedAt = fromMicros(created), fromMicros(updated)
	return v, json.Unmarshal([]byte(tags), &v.Tags)
}

// PutVault creates or updates a vault.
func (s *DB) PutVault(ctx context.Context, v storage.Vault) (bool, error) {
	tags, err := marshalTags(v.Tags)
	if err != nil {
		return false, err
	}
	rgKey := resourceid.Key(resourceid.ResourceGroupID(v.SubscriptionID, v.ResourceGroup))
	var created bool
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var existingRG string
		err := tx.QueryRowContext(ctx, s.fl.rebind(`SELECT rg_key FROM vaults WHERE name_key = ?`), strings.ToLower(v.Name)).Scan(&existingRG)
		switch {
		case err == sql.ErrNoRows:
			created = true
			_, err = tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO vaults (name_key, rg_key, `+vaultCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				strings.ToLower(v.Name), rgKey, v.SubscriptionID, v.ResourceGroup, v.Name, v.Location, tags, v.TenantID, v.SKU, string(v.Echo), micros(v.CreatedAt), micros(v.UpdatedAt))
			return err
		case err != nil:
			return err
		case existingRG != rgKey:
			return fmt.Errorf("%w: vault name %s is in use", storage.ErrAlreadyExists, v.Name)
		}
		_, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE vaults SET tags = ?, sku = ?, echo = ?, updated_at = ? WHERE name_key = ?`), tags, v.SKU, string(v.Echo), micros(v.UpdatedAt), strings.ToLower(v.Name))
		return err
	})
	return created, err
}

// UpdateVault applies fn to a stored vault in one transaction; its name,
// group, location, tenant and creation time stay.
func (s *DB) UpdateVault(ctx context.Context, name string, fn func(storage.Vault) (storage.Vault, error)) (storage.Vault, error) {
	key := strings.ToLower(name)
	read := func(tx *sql.Tx) (storage.Vault, error) {
		return scanVault(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+vaultCols+` FROM vaults WHERE name_key = ?`+s.fl.forUpdate()), key))
	}
	return updateRow(ctx, s, "vaults/"+key, read, fn, func(tx *sql.Tx, _, nu storage.Vault) (storage.Vault, error) {
		tags, err := marshalTags(nu.Tags)
		if err != nil {
			return nu, err
		}
		if _, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE vaults SET tags = ?, sku = ?, echo = ?, updated_at = ? WHERE name_key = ?`), tags, nu.SKU, string(nu.Echo), micros(nu.UpdatedAt), key); err != nil {
			return nu, err
		}
		// Answer what is stored, as a read after the write would.
		return scanVault(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+vaultCols+` FROM vaults WHERE name_key = ?`), key))
	})
}

// GetVault reads a vault by name.
func (s *DB) GetVault(ctx context.Context, name string) (storage.Vault, error) {
	v, err := scanVault(s.queryRow(ctx, `SELECT `+vaultCols+` FROM vaults WHERE name_key = ?`, strings.ToLower(name)))
	return v, s.classify(err)
}

// ListVaults lists one page of a group's vaults, or a subscription's.
func (s *DB) ListVaults(ctx context.Context, sub, rg string, p storage.Page) ([]storage.Vault, string, error) {
	clause, arg := `FROM vaults WHERE lower(subscription_id) = ?`, strings.ToLower(sub)
	if rg != "" {
		clause, arg = `FROM vaults WHERE rg_key = ?`, resourceid.Key(resourceid.ResourceGroupID(sub, rg))
	}
	return listPage(ctx, s, by("name_key"), vaultCols, clause, []any{arg}, p, scanVault)
}

// DeleteVault deletes a vault and its secrets.
func (s *DB) DeleteVault(ctx context.Context, name string) error {
	res, err := s.exec(ctx, `DELETE FROM vaults WHERE name_key = ?`, strings.ToLower(name))
	return notFoundIfNone(res, err)
}

const secretCols = `vault_key, name, version, value_enc, content_type, enabled, not_before, expires, tags, created_at, updated_at, deleted_at, purge_at`

// Every version of a secret is live (deleted_at = 0) or deleted together;
// the live queries read only live rows, the deleted ones only deleted rows.
const (
	live    = ` AND deleted_at = 0`
	deleted = ` AND deleted_at <> 0`
)

func scanSecret(sc scanner) (storage.Secret, error) {
	var x storage.Secret
	var enc, tags string
	var enabled, nbf, exp, created, updated, deletedAt, purgeAt int64
	if err := sc.Scan(&x.Vault, &x.Name, &x.Version, &enc, &x.ContentType, &enabled, &nbf, &exp, &tags, &created, &updated, &deletedAt, &purgeAt); err != nil {
		return x, err
	}
	var err error
	if x.EncryptedValue, err = hex.DecodeString(enc); err != nil {
		return x, err
	}
	x.Enabled = enabled != 0
	x.NotBefore, x.Expires, x.CreatedAt, x.UpdatedAt = fromMicros(nbf), fromMicros(exp), fromMicros(created), fromMicros(updated)
	x.DeletedAt, x.PurgeAt = fromMicros(deletedAt), fromMicros(purgeAt)
	return x, json.Unmarshal([]byte(tags), &x.Tags)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// AddSecretVersion stores a new live secret version; a deleted secret of
// the same name holds the name until it is recovered or purged.
func (s *DB) AddSecretVersion(ctx context.Context, x storage.Secret) error {
	tags, err := marshalTags(x.Tags)
	if err != nil {
		return err
	}
	vault, name := strings.ToLower(x.Vault), strings.ToLower(x.Name)
	return s.txRow(ctx, "secrets/"+vault+"/"+name, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.fl.rebind(`SELECT COUNT(*) FROM secrets WHERE vault_key = ? AND name_key = ?`+deleted), vault, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: secret %s is deleted and holds its name", storage.ErrAlreadyExists, x.Name)
		}
		_, err := tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO secrets (name_key, `+secretCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`),
			name, vault, x.Name, x.Version, hex.EncodeToString(x.EncryptedValue), x.ContentType, boolInt(x.Enabled),
			micros(x.NotBefore), micros(x.Expires), tags, micros(x.CreatedAt), micros(x.UpdatedAt))
		return err
	})
}

// UpdateSecretVersion applies fn to a stored version of a live secret (the
// newest when version is "") in one transaction; the value and identity
// stay.
func (s *DB) UpdateSecretVersion(ctx context.Context, vault, name, version string, fn func(storage.Secret) (storage.Secret, error)) (storage.Secret, error) {
	read := func(tx *sql.Tx) (storage.Secret, error) {
		q, args := `SELECT `+secretCols+` FROM secrets WHERE vault_key = ? AND name_key = ? AND version = ?`+live, []any{strings.ToLower(vault), strings.ToLower(name), strings.ToLower(version)}
		if version == "" {
			q, args = `SELECT `+secretCols+` FROM secrets WHERE vault_key = ? AND name_key = ?`+live+` ORDER BY created_at DESC, version DESC LIMIT 1`, args[:2]
		}
		return scanSecret(tx.QueryRowContext(ctx, s.fl.rebind(q+s.fl.forUpdate()), args...))
	}
	return updateRow(ctx, s, "secrets/"+strings.ToLower(vault)+"/"+strings.ToLower(name), read, fn, func(tx *sql.Tx, old, nu storage.Secret) (storage.Secret, error) {
		tags, err := marshalTags(nu.Tags)
		if err != nil {
			return nu, err
		}
		key := []any{old.Vault, strings.ToLower(old.Name), old.Version}
		if _, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE secrets SET content_type = ?, enabled = ?, not_before = ?, expires = ?, tags = ?, updated_at = ? WHERE vault_key = ? AND name_key = ? AND version = ?`),
			append([]any{nu.ContentType, boolInt(nu.Enabled), micros(nu.NotBefore), micros(nu.Expires), tags, micros(nu.UpdatedAt)}, key...)...); err != nil {
			return nu, err
		}
		return scanSecret(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+secretCols+` FROM secrets WHERE vault_key = ? AND name_key = ? AND version = ?`), key...))
	})
}

// newestSecret is the query of a secret's newest version in a state.
func newestSecret(state string) string {
	return `SELECT ` + secretCols + ` FROM secrets WHERE vault_key = ? AND name_key = ?` + state + ` ORDER BY created_at DESC, version DESC LIMIT 1`
}

// GetSecret reads a version of a live secret, or its newest.
func (s *DB) GetSecret(ctx context.Context, vault, name, version string) (storage.Secret, error) {
	if version == "" {
		x, err := scanSecret(s.queryRow(ctx, newestSecret(live), strings.ToLower(vault), strings.ToLower(name)))
		return x, s.classify(err)
	}
	x, err := scanSecret(s.queryRow(ctx, `SELECT `+secretCols+` FROM secrets WHERE vault_key = ? AND name_key = ? AND version = ?`+live,
		strings.ToLower(vault), strings.ToLower(name), strings.ToLower(version)))
	return x, s.classify(err)
}

// newestOfEach is the clause of a list of each secret's newest version in
// a state: a row is the newest of its secret when no row of the same
// secret is newer (created later, or at the same time with a greater
// version).
func newestOfEach(state string) string {
	return `FROM secrets s WHERE vault_key = ?` + state + ` AND NOT EXISTS (SELECT 1 FROM secrets n WHERE n.vault_key = s.vault_key AND n.name_key = s.name_key
		AND (n.created_at > s.created_at OR (n.created_at = s.created_at AND n.version > s.version)))`
}

// ListSecrets returns one page of the newest version of each live secret
// in a vault, by name.
func (s *DB) ListSecrets(ctx context.Context, vault string, p storage.Page) ([]storage.Secret, string, error) {
	return listPage(ctx, s, by("name_key"), secretCols, newestOfEach(live), []any{strings.ToLower(vault)}, p, scanSecret)
}

// ListSecretVersions lists one page of a live secret's versions, newest
// first.
func (s *DB) ListSecretVersions(ctx context.Context, vault, name string, p storage.Page) ([]storage.Secret, string, error) {
	return listPage(ctx, s, order{keys: []string{"created_at", "version"}, desc: true}, secretCols,
		`FROM secrets WHERE vault_key = ? AND name_key = ?`+live, []any{strings.ToLower(vault), strings.ToLower(name)}, p, scanSecret)
}

// DeleteSecret deletes every version of a live secret.
func (s *DB) DeleteSecret(ctx context.Context, vault, name string) error {
	res, err := s.exec(ctx, `DELETE FROM secrets WHERE vault_key = ? AND name_key = ?`+live, strings.ToLower(vault), strings.ToLower(name))
	return notFoundIfNone(res, err)
}

// setSecretDeleted moves every version of a secret from one state to the
// other (deletedAt zero: live again) and returns its newest version.
func (s *DB) setSecretDeleted(ctx context.Context, vault, name, from string, deletedAt, purgeAt time.Time) (storage.Secret, error) {
	vault, name = strings.ToLower(vault), strings.ToLower(name)
	var out storage.Secret
	err := s.txRow(ctx, "secrets/"+vault+"/"+name, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.fl.rebind(`UPDATE secrets SET deleted_at = ?, purge_at = ? WHERE vault_key = ? AND name_key = ?`+from),
			micros(deletedAt), micros(purgeAt), vault, name)
		if err := notFoundIfNone(res, err); err != nil {
			return err
		}
		out, err = scanSecret(tx.QueryRowContext(ctx, s.fl.rebind(newestSecret("")), vault, name))
		return err
	})
	return out, err
}

// SoftDeleteSecret marks every version of a live secret deleted.
func (s *DB) SoftDeleteSecret(ctx context.Context, vault, name string, deletedAt, purgeAt time.Time) (storage.Secret, error) {
	if deletedAt.IsZero() {
		return storage.Secret{}, fmt.Errorf("soft-delete secret %s: no deletion time", name)
	}
	return s.setSecretDeleted(ctx, vault, name, live, deletedAt, purgeAt)
}

// RecoverDeletedSecret makes a deleted secret live again.
func (s *DB) RecoverDeletedSecret(ctx context.Context, vault, name string) (storage.Secret, error) {
	return s.setSecretDeleted(ctx, vault, name, deleted, time.Time{}, time.Time{})
}

// GetDeletedSecret reads the newest version of a deleted secret.
func (s *DB) GetDeletedSecret(ctx context.Context, vault, name string) (storage.Secret, error) {
	x, err := scanSecret(s.queryRow(ctx, newestSecret(deleted), strings.ToLower(vault), strings.ToLower(name)))
	return x, s.classify(err)
}

// ListDeletedSecrets returns one page of the newest version of each
// deleted secret in a vault, by name.
func (s *DB) ListDeletedSecrets(ctx context.Context, vault string, p storage.Page) ([]storage.Secret, string, error) {
	return listPage(ctx, s, by("name_key"), secretCols, newestOfEach(deleted), []any{strings.ToLower(vault)}, p, scanSecret)
}

// PurgeDeletedSecret deletes every version of a deleted secret.
func (s *DB) PurgeDeletedSecret(ctx context.Context, vault, name string) error {
	res, err := s.exec(ctx, `DELETE FROM secrets WHERE vault_key = ? AND name_key = ?`+deleted, strings.ToLower(vault), strings.ToLower(name))
	return notFoundIfNone(res, err)
}
