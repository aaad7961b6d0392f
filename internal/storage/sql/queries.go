package sql

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// ---- tenants, subscriptions, service principals ----

// CreateTenant stores a tenant.
func (s *DB) CreateTenant(ctx context.Context, t storage.Tenant) error {
	_, err := s.exec(ctx, `INSERT INTO tenants (id, display_name, created_at) VALUES (?, ?, ?)`,
		resourceid.Key(t.ID), t.DisplayName, micros(t.CreatedAt))
	return err
}

// GetTenant reads a tenant by ID.
func (s *DB) GetTenant(ctx context.Context, id string) (storage.Tenant, error) {
	var t storage.Tenant
	var created int64
	err := s.db.QueryRowContext(ctx, s.fl.rebind(`SELECT id, display_name, created_at FROM tenants WHERE id = ?`),
		resourceid.Key(id)).Scan(&t.ID, &t.DisplayName, &created)
	t.CreatedAt = fromMicros(created)
	return t, s.classify(err)
}

// CreateSubscription stores a subscription.
func (s *DB) CreateSubscription(ctx context.Context, sub storage.Subscription) error {
	_, err := s.exec(ctx, `INSERT INTO subscriptions (id, tenant_id, display_name, state, created_at) VALUES (?, ?, ?, ?, ?)`,
		resourceid.Key(sub.ID), resourceid.Key(sub.TenantID), sub.DisplayName, sub.State, micros(sub.CreatedAt))
	return err
}

const subscriptionCols = `id, tenant_id, display_name, state, created_at`

func scanSubscription(sc interface{ Scan(...any) error }) (storage.Subscription, error) {
	var sub storage.Subscription
	var created int64
	err := sc.Scan(&sub.ID, &sub.TenantID, &sub.DisplayName, &sub.State, &created)
	sub.CreatedAt = fromMicros(created)
	return sub, err
}

// GetSubscription reads a subscription by ID.
func (s *DB) GetSubscription(ctx context.Context, id string) (storage.Subscription, error) {
	sub, err := scanSubscription(s.db.QueryRowContext(ctx, s.fl.rebind(`SELECT `+subscriptionCols+` FROM subscriptions WHERE id = ?`), resourceid.Key(id)))
	return sub, s.classify(err)
}

// ListSubscriptions lists one page of subscriptions, by ID.
func (s *DB) ListSubscriptions(ctx context.Context, p storage.Page) ([]storage.Subscription, string, error) {
	return listPage(ctx, s, by("id"), subscriptionCols, `FROM subscriptions WHERE 1 = 1`, nil, p, scanSubscription)
}

// CreateServicePrincipal stores a service principal.
func (s *DB) CreateServicePrincipal(ctx context.Context, sp storage.ServicePrincipal) error {
	_, err := s.exec(ctx, `INSERT INTO service_principals (object_id, app_id, tenant_id, display_name, created_at, managed_resource_id) VALUES (?, ?, ?, ?, ?, ?)`,
		resourceid.Key(sp.ObjectID), resourceid.Key(sp.AppID), resourceid.Key(sp.TenantID), sp.DisplayName, micros(sp.CreatedAt), sp.ManagedResourceID)
	return err
}

// GetServicePrincipalByAppID reads a service principal by client ID.
func (s *DB) GetServicePrincipalByAppID(ctx context.Context, appID string) (storage.ServicePrincipal, error) {
	sp, err := scanSP(s.queryRow(ctx, `SELECT `+spCols+` FROM service_principals WHERE app_id = ?`, resourceid.Key(appID)))
	return sp, s.classify(err)
}

// AddClientSecret stores a client secret's salted hash.
func (s *DB) AddClientSecret(ctx context.Context, c storage.ClientSecret) error {
	_, err := s.exec(ctx, `INSERT INTO client_secrets (key_id, app_id, hint, display_name, salt, hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		resourceid.Key(c.KeyID), resourceid.Key(c.AppID), c.Hint, c.DisplayName, hex.EncodeToString(c.Salt), hex.EncodeToString(c.Hash), micros(c.ExpiresAt), micros(c.CreatedAt))
	return err
}

// ListClientSecrets lists one page of a service principal's secrets
// (hashes, never the secret), oldest first.
func (s *DB) ListClientSecrets(ctx context.Context, appID string, p storage.Page) ([]storage.ClientSecret, string, error) {
	return listPage(ctx, s, by("created_at", "key_id"), `key_id, app_id, hint, display_name, salt, hash, expires_at, created_at`,
		`FROM client_secrets WHERE app_id = ?`, []any{resourceid.Key(appID)}, p, scanClientSecret)
}

// ---- resource groups ----

const rgCols = `subscription_id, name, location, tags, managed_by, created_at, updated_at`

func scanRG(sc interface{ Scan(...any) error }) (storage.ResourceGroup, error) {
	var rg storage.ResourceGroup
	var tags string
	var created, updated int64
	if err := sc.Scan(&rg.SubscriptionID, &rg.Name, &rg.Location, &tags, &rg.ManagedBy, &created, &updated); err != nil {
		return rg, err
	}
	rg.CreatedAt, rg.UpdatedAt = fromMicros(created), fromMicros(updated)
	return rg, json.Unmarshal([]byte(tags), &rg.Tags)
}

// PutResourceGroup creates or updates a group; an update keeps the original
// name spelling and creation time, as ARM does.
func (s *DB) PutResourceGroup(ctx context.Context, rg storage.ResourceGroup) (bool, error) {
	key := resourceid.Key(resourceid.ResourceGroupID(rg.SubscriptionID, rg.Name))
	tags, err := marshalTags(rg.Tags)
	if err != nil {
		return false, err
	}
	var created bool
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.fl.rebind(`UPDATE resource_groups SET location = ?, tags = ?, managed_by = ?, updated_at = ? WHERE key = ?`),
			rg.Location, tags, rg.ManagedBy, micros(rg.UpdatedAt), key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			created = false
			return err
		}
		created = true
		_, err = tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO resource_groups (key, sub_key, `+rgCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			key, resourceid.Key(rg.SubscriptionID), rg.SubscriptionID, rg.Name, rg.Location, tags, rg.ManagedBy, micros(rg.CreatedAt), micros(rg.UpdatedAt))
		return err
	})
	return created, err
}

// GetResourceGroup reads a group by name, case-insensitively.
func (s *DB) GetResourceGroup(ctx context.Context, sub, name string) (storage.ResourceGroup, error) {
	rg, err := scanRG(s.db.QueryRowContext(ctx, s.fl.rebind(`SELECT `+rgCols+` FROM resource_groups WHERE key = ?`),
		resourceid.Key(resourceid.ResourceGroupID(sub, name))))
	return rg, s.classify(err)
}

// ListResourceGroups lists one page of a subscription's groups.
func (s *DB) ListResourceGroups(ctx context.Context, sub string, p storage.Page) ([]storage.ResourceGroup, string, error) {
	return listPage(ctx, s, armOrder, rgCols, `FROM resource_groups WHERE sub_key = ?`, []any{resourceid.Key(sub)}, p, scanRG)
}

// DeleteResourceGroup deletes a group; identities and their credentials go
// with it through ON DELETE CASCADE, in one transaction.
func (s *DB) DeleteResourceGroup(ctx context.Context, sub, name string) error {
	res, err := s.exec(ctx, `DELETE FROM resource_groups WHERE key = ?`, resourceid.Key(resourceid.ResourceGroupID(sub, name)))
	return notFoundIfNone(res, err)
}

// ---- identities ----

const identityCols = `subscription_id, resource_group, name, location, tags, tenant_id, client_id, principal_id, isolation_scope, created_at, updated_at`

func scanIdentity(sc interface{ Scan(...any) error }) (storage.Identity, error) {
	var id storage.Identity
	var tags string
	var created, updated int64
	if err := sc.Scan(&id.SubscriptionID, &id.ResourceGroup, &id.Name, &id.Location, &tags, &id.TenantID,
		&id.ClientID, &id.PrincipalID, &id.IsolationScope, &created, &updated); err != nil {
		return id, err
	}
	id.CreatedAt, id.UpdatedAt = fromMicros(created), fromMicros(updated)
	return id, json.Unmarshal([]byte(tags), &id.Tags)
}

func identityKey(ref storage.IdentityRef) string {
	return resourceid.Key(resourceid.IdentityID(ref.SubscriptionID, ref.ResourceGroup, ref.Name))
}

// CreateIdentity stores a new identity.
func (s *DB) CreateIdentity(ctx context.Context, id storage.Identity) error {
	tags, err := marshalTags(id.Tags)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO identities (key, rg_key, sub_key, `+identityCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		identityKey(id.Ref()), resourceid.Key(resourceid.ResourceGroupID(id.SubscriptionID, id.ResourceGroup)), resourceid.Key(id.SubscriptionID),
		id.SubscriptionID, id.ResourceGroup, id.Name, id.Location, tags, id.TenantID,
		resourceid.Key(id.ClientID), resourceid.Key(id.PrincipalID), id.IsolationScope, micros(id.CreatedAt), micros(id.UpdatedAt))
	return err
}

// UpdateIdentity applies fn to the stored identity in one transaction. Only
// mutable fields (location, tags, isolation scope, updated time) are written.
func (s *DB) UpdateIdentity(ctx context.Context, ref storage.IdentityRef, fn func(storage.Identity) (storage.Identity, error)) (storage.Identity, error) {
	key := identityKey(ref)
	read := func(tx *sql.Tx) (storage.Identity, error) {
		return scanIdentity(tx.QueryRowContext(ctx, s.fl.rebind(`SELECT `+identityCols+` FROM identities WHERE key = ?`), key))
	}
	return updateRow(ctx, s, "identities/"+key, read, fn, func(tx *sql.Tx, old, nu storage.Identity) (storage.Identity, error) {
		tags, err := marshalTags(nu.Tags)
		if err != nil {
			return nu, err
		}
		_, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE identities SET location = ?, tags = ?, isolation_scope = ?, updated_at = ? WHERE key = ?`),
			nu.Location, tags, nu.IsolationScope, micros(nu.UpdatedAt), key)
		// Identity fields the database owns stay as they were.
		nu.SubscriptionID, nu.ResourceGroup, nu.Name = old.SubscriptionID, old.ResourceGroup, old.Name
		nu.TenantID, nu.ClientID, nu.PrincipalID, nu.CreatedAt = old.TenantID, old.ClientID, old.PrincipalID, old.CreatedAt
		return nu, err
	})
}

// GetIdentity reads an identity, case-insensitively.
func (s *DB) GetIdentity(ctx context.Context, ref storage.IdentityRef) (storage.Identity, error) {
	id, err := scanIdentity(s.queryRow(ctx, `SELECT `+identityCols+` FROM identities WHERE key = ?`, identityKey(ref)))
	return id, s.classify(err)
}

// GetIdentityByClientID reads an identity by its client ID.
func (s *DB) GetIdentityByClientID(ctx context.Context, clientID string) (storage.Identity, error) {
	id, err := scanIdentity(s.queryRow(ctx, `SELECT `+identityCols+` FROM identities WHERE client_id = ?`, resourceid.Key(clientID)))
	return id, s.classify(err)
}

// ListIdentities lists one page of identities in a subscription or group.
func (s *DB) ListIdentities(ctx context.Context, f storage.IdentityFilter, p storage.Page) ([]storage.Identity, string, error) {
	col, val := "sub_key", resourceid.Key(f.SubscriptionID)
	if f.ResourceGroup != "" {
		col, val = "rg_key", resourceid.Key(resourceid.ResourceGroupID(f.SubscriptionID, f.ResourceGroup))
	}
	return listPage(ctx, s, armOrder, identityCols, `FROM identities WHERE `+col+` = ?`, []any{val}, p, scanIdentity)
}

// DeleteIdentity deletes an identity and, by cascade, its credentials.
func (s *DB) DeleteIdentity(ctx context.Context, ref storage.IdentityRef) error {
	res, err := s.exec(ctx, `DELETE FROM identities WHERE key = ?`, identityKey(ref))
	return notFoundIfNone(res, err)
}

// ---- federated identity credentials ----

const ficCols = `name, issuer, subject, audiences, expression, expression_version, created_at, updated_at`

func scanFIC(ref storage.IdentityRef) func(sc interface{ Scan(...any) error }) (storage.FederatedCredential, error) {
	return func(sc interface{ Scan(...any) error }) (storage.FederatedCredential, error) {
		c := storage.FederatedCredential{Identity: ref}
		var aud string
		var created, updated int64
		if err := sc.Scan(&c.Name, &c.Issuer, &c.Subject, &aud, &c.Expression, &c.ExpressionVersion, &created, &updated); err != nil {
			return c, err
		}
		c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
		return c, json.Unmarshal([]byte(aud), &c.Audiences)
	}
}

func ficKey(ref storage.IdentityRef, name string) string {
	return resourceid.Key(resourceid.FederatedCredentialID(ref.SubscriptionID, ref.ResourceGroup, ref.Name, name))
}

// PutFederatedCredential creates or replaces a credential after check has
// approved it against its siblings, all in one transaction.
func (s *DB) PutFederatedCredential(ctx context.Context, c storage.FederatedCredential, check func([]storage.FederatedCredential) error) (bool, error) {
	aud, err := json.Marshal(c.Audiences)
	if err != nil {
		return false, err
	}
	idKey, key := identityKey(c.Identity), ficKey(c.Identity, c.Name)
	var created bool
	err = s.txRow(ctx, "identities/"+idKey, func(tx *sql.Tx) error {
		// The parent row is read (and on PostgreSQL locked) first so that two
		// writers under one identity serialize on it.
		var parent string
		if err := tx.QueryRowContext(ctx, s.fl.rebind(`SELECT key FROM identities WHERE key = ?`+s.fl.forUpdate()), idKey).Scan(&parent); err != nil {
			if err == sql.ErrNoRows {
				return storage.ErrParentNotFound
			}
			return err
		}
		rows, err := tx.QueryContext(ctx, s.fl.rebind(`SELECT key, `+ficCols+` FROM federated_credentials WHERE identity_key = ? ORDER BY key`), idKey)
		if err != nil {
			return err
		}
		var siblings []storage.FederatedCredential
		created = true
		scan := scanFIC(c.Identity)
		for rows.Next() {
			var k string
			f, err := scan(prefixScanner{rows, &k})
			if err != nil {
				rows.Close()
				return err
			}
			if k == key {
				created = false
				c.CreatedAt = f.CreatedAt
				c.Name = f.Name // the name keeps its original spelling
				continue
			}
			siblings = append(siblings, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if check != nil {
			if err := check(siblings); err != nil {
				return err
			}
		}
		if created {
			_, err = tx.ExecContext(ctx, s.fl.rebind(`INSERT INTO federated_credentials (key, identity_key, `+ficCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				key, idKey, c.Name, c.Issuer, c.Subject, string(aud), c.Expression, c.ExpressionVersion, micros(c.CreatedAt), micros(c.UpdatedAt))
			return err
		}
		_, err = tx.ExecContext(ctx, s.fl.rebind(`UPDATE federated_credentials SET issuer = ?, subject = ?, audiences = ?, expression = ?, expression_version = ?, updated_at = ? WHERE key = ?`),
			c.Issuer, c.Subject, string(aud), c.Expression, c.ExpressionVersion, micros(c.UpdatedAt), key)
		return err
	})
	return created, err
}

// GetFederatedCredential reads one credential of an identity.
func (s *DB) GetFederatedCredential(ctx context.Context, ref storage.IdentityRef, name string) (storage.FederatedCredential, error) {
	c, err := scanFIC(ref)(s.db.QueryRowContext(ctx, s.fl.rebind(`SELECT `+ficCols+` FROM federated_credentials WHERE key = ?`), ficKey(ref, name)))
	return c, s.classify(err)
}

// ListFederatedCredentials lists one page of an identity's credentials. An
// identity that does not exist is ErrParentNotFound, not an empty list. It
// runs on every federated token request, so it reads without a transaction:
// one cached statement, and a second only when the page is empty.
func (s *DB) ListFederatedCredentials(ctx context.Context, ref storage.IdentityRef, p storage.Page) ([]storage.FederatedCredential, string, error) {
	items, next, err := listPage(ctx, s, armOrder, ficCols, `FROM federated_credentials WHERE identity_key = ?`, []any{identityKey(ref)}, p, scanFIC(ref))
	if err != nil || len(items) > 0 {
		return items, next, err
	}
	var parent string
	if err := s.queryRow(ctx, `SELECT key FROM identities WHERE key = ?`, identityKey(ref)).Scan(&parent); err != nil {
		if err == sql.ErrNoRows {
			return nil, "", storage.ErrParentNotFound
		}
		return nil, "", s.classify(err)
	}
	return items, next, nil
}

// DeleteFederatedCredential deletes one credential.
func (s *DB) DeleteFederatedCredential(ctx context.Context, ref storage.IdentityRef, name string) error {
	res, err := s.exec(ctx, `DELETE FROM federated_credentials WHERE key = ?`, ficKey(ref, name))
	return notFoundIfNone(res, err)
}

// ---- helpers ----

func marshalTags(tags map[string]string) (string, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	b, err := json.Marshal(tags)
	return string(b), err
}

func notFoundIfNone(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// prefixScanner scans a leading key column into k, then the rest into dest.
type prefixScanner struct {
	rows *sql.Rows
	k    *string
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.rows.Scan(append([]any{p.k}, dest...)...)
}

func scanClientSecret(sc scanner) (storage.ClientSecret, error) {
	var c storage.ClientSecret
	var salt, hash string
	var exp, created int64
	if err := sc.Scan(&c.KeyID, &c.AppID, &c.Hint, &c.DisplayName, &salt, &hash, &exp, &created); err != nil {
		return c, err
	}
	var err error
	if c.Salt, err = hex.DecodeString(salt); err != nil {
		return c, fmt.Errorf("secret %s: corrupt salt: %w", c.KeyID, err)
	}
	if c.Hash, err = hex.DecodeString(hash); err != nil {
		return c, fmt.Errorf("secret %s: corrupt hash: %w", c.KeyID, err)
	}
	c.ExpiresAt, c.CreatedAt = fromMicros(exp), fromMicros(created)
	return c, nil
}
