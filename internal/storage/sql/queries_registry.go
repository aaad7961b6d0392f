package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

const registryCols = `subscription_id, resource_group, name, location, tags, sku, echo, created_at, updated_at`

func scanRegistry(sc scanner) (storage.Registry, error) {
	var r storage.Registry
	var tags, echo string
	var created, updated int64
	if err := sc.Scan(&r.SubscriptionID, &r.ResourceGroup, &r.Name, &r.Location, &tags, &r.SKU, &echo, &created, &updated); err != nil {
		return r, err
	}
	if echo != "" {
		r.Echo = json.RawMessage(echo)
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, json.Unmarshal([]byte(tags), &r.Tags)
}

// CreateRegistry stores a new registry: the primary key makes the name
// global, the group's foreign key its parent.
func (s *DB) CreateRegistry(ctx context.Context, r storage.Registry) error {
	tags, err := marshalTags(r.Tags)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO registries (name_key, rg_key, `+registryCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		strings.ToLower(r.Name), resourceid.Key(resourceid.ResourceGroupID(r.SubscriptionID, r.ResourceGroup)),
		r.SubscriptionID, r.ResourceGroup, r.Name, r.Location, tags, r.SKU, string(r.Echo), micros(r.CreatedAt), micros(r.UpdatedAt))
	return err
}

// UpdateRegistry applies fn to a stored registry in one transaction; its
// name, group, location and creation time stay.
func (s *DB) UpdateRegistry(ctx context.Context, name string, fn func(storage.Registry) (storage.Registry, error)) (storage.Registry, error) {
	key := strings.ToLower(name)
	read := func(tx *sql.Tx) (storage.Registry, error) {
		return scanRegistry(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+registryCols+` FROM registries WHERE name_key = ?`+s.fl.forUpdate()), key))
	}
	r, err := updateRow(ctx, s, "registries/"+key, read, fn, func(tx *sql.Tx, _, nu storage.Registry) (storage.Registry, error) {
		tags, err := marshalTags(nu.Tags)
		if err != nil {
			return nu, err
		}
		if _, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE registries SET tags = ?, sku = ?, echo = ?, updated_at = ? WHERE name_key = ?`), tags, nu.SKU, string(nu.Echo), micros(nu.UpdatedAt), key); err != nil {
			return nu, err
		}
		return scanRegistry(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+registryCols+` FROM registries WHERE name_key = ?`), key))
	})
	return r, s.classify(err)
}

// GetRegistry reads a registry by name.
func (s *DB) GetRegistry(ctx context.Context, name string) (storage.Registry, error) {
	r, err := scanRegistry(s.queryRow(ctx, `SELECT `+registryCols+` FROM registries WHERE name_key = ?`, strings.ToLower(name)))
	return r, s.classify(err)
}

// ListRegistries lists one page of a group's registries, or a subscription's.
func (s *DB) ListRegistries(ctx context.Context, sub, rg string, p storage.Page) ([]storage.Registry, string, error) {
	clause, arg := `FROM registries WHERE lower(subscription_id) = ?`, strings.ToLower(sub)
	if rg != "" {
		clause, arg = `FROM registries WHERE rg_key = ?`, resourceid.Key(resourceid.ResourceGroupID(sub, rg))
	}
	return listPage(ctx, s, by("name_key"), registryCols, clause, []any{arg}, p, scanRegistry)
}

// DeleteRegistry deletes a registry.
func (s *DB) DeleteRegistry(ctx context.Context, name string) error {
	res, err := s.exec(ctx, `DELETE FROM registries WHERE name_key = ?`, strings.ToLower(name))
	return notFoundIfNone(res, err)
}
