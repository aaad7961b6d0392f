package sql

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

type scanner = interface{ Scan(...any) error }

const spCols = `object_id, app_id, tenant_id, display_name, created_at, managed_resource_id`

func scanSP(sc scanner) (storage.ServicePrincipal, error) {
	var sp storage.ServicePrincipal
	var created int64
	err := sc.Scan(&sp.ObjectID, &sp.AppID, &sp.TenantID, &sp.DisplayName, &created, &sp.ManagedResourceID)
	sp.CreatedAt = fromMicros(created)
	return sp, err
}

// GetServicePrincipal reads a service principal by object ID.
func (s *DB) GetServicePrincipal(ctx context.Context, objectID string) (storage.ServicePrincipal, error) {
	sp, err := scanSP(s.db.QueryRowContext(ctx, s.fl.rebind(`SELECT `+spCols+` FROM service_principals WHERE object_id = ?`), resourceid.Key(objectID)))
	return sp, s.classify(err)
}

// ListServicePrincipals lists one page of service principals, by display
// name then object ID.
func (s *DB) ListServicePrincipals(ctx context.Context, p storage.Page) ([]storage.ServicePrincipal, string, error) {
	return listPage(ctx, s, by("display_name", "object_id"), spCols, `FROM service_principals WHERE 1 = 1`, nil, p, scanSP)
}

// DeleteServicePrincipal deletes a service principal; its secrets and
// certificates go by cascade.
func (s *DB) DeleteServicePrincipal(ctx context.Context, objectID string) error {
	res, err := s.exec(ctx, `DELETE FROM service_principals WHERE object_id = ?`, resourceid.Key(objectID))
	return notFoundIfNone(res, err)
}

// DeleteClientSecret deletes one secret of a service principal.
func (s *DB) DeleteClientSecret(ctx context.Context, appID, keyID string) error {
	res, err := s.exec(ctx, `DELETE FROM client_secrets WHERE app_id = ? AND key_id = ?`, resourceid.Key(appID), resourceid.Key(keyID))
	return notFoundIfNone(res, err)
}

// AddCertificate stores a certificate credential.
func (s *DB) AddCertificate(ctx context.Context, c storage.Certificate) error {
	_, err := s.exec(ctx, `INSERT INTO sp_certificates (key_id, app_id, thumbprint, cert, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		resourceid.Key(c.KeyID), resourceid.Key(c.AppID), c.Thumbprint, hex.EncodeToString(c.CertDER), micros(c.ExpiresAt), micros(c.CreatedAt))
	return err
}

// ListCertificates lists one page of a service principal's certificates,
// oldest first.
func (s *DB) ListCertificates(ctx context.Context, appID string, p storage.Page) ([]storage.Certificate, string, error) {
	return listPage(ctx, s, by("created_at", "key_id"), `key_id, app_id, thumbprint, cert, expires_at, created_at`,
		`FROM sp_certificates WHERE app_id = ?`, []any{resourceid.Key(appID)}, p, scanCertificate)
}

// DeleteCertificate deletes one certificate of a service principal.
func (s *DB) DeleteCertificate(ctx context.Context, appID, keyID string) error {
	res, err := s.exec(ctx, `DELETE FROM sp_certificates WHERE app_id = ? AND key_id = ?`, resourceid.Key(appID), resourceid.Key(keyID))
	return notFoundIfNone(res, err)
}

// CreateSigningKey stores a signing key (its private part already encrypted).
func (s *DB) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	_, err := s.exec(ctx, `INSERT INTO signing_keys (owner, kid, alg, key_enc, cert, created_at, active_from, retire_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		strings.ToLower(k.Owner), k.KID, k.Alg, hex.EncodeToString(k.EncryptedKey), hex.EncodeToString(k.CertDER), micros(k.CreatedAt), micros(k.ActiveFrom), micros(k.RetireAt))
	return err
}

// ListSigningKeys lists one page of an owner's signing keys, oldest
// activation first.
func (s *DB) ListSigningKeys(ctx context.Context, owner string, p storage.Page) ([]storage.SigningKey, string, error) {
	return listPage(ctx, s, by("active_from", "kid"), `owner, kid, alg, key_enc, cert, created_at, active_from, retire_at`,
		`FROM signing_keys WHERE owner = ?`, []any{strings.ToLower(owner)}, p, scanSigningKey)
}

// DeleteSigningKey deletes a signing key.
func (s *DB) DeleteSigningKey(ctx context.Context, kid string) error {
	res, err := s.exec(ctx, `DELETE FROM signing_keys WHERE kid = ?`, kid)
	return notFoundIfNone(res, err)
}

func scanCertificate(sc scanner) (storage.Certificate, error) {
	var c storage.Certificate
	var der string
	var exp, created int64
	if err := sc.Scan(&c.KeyID, &c.AppID, &c.Thumbprint, &der, &exp, &created); err != nil {
		return c, err
	}
	var err error
	if c.CertDER, err = hex.DecodeString(der); err != nil {
		return c, fmt.Errorf("certificate %s: %w", c.KeyID, err)
	}
	c.ExpiresAt, c.CreatedAt = fromMicros(exp), fromMicros(created)
	return c, nil
}

func scanSigningKey(sc scanner) (storage.SigningKey, error) {
	var k storage.SigningKey
	var enc, cert string
	var created, active, retire int64
	if err := sc.Scan(&k.Owner, &k.KID, &k.Alg, &enc, &cert, &created, &active, &retire); err != nil {
		return k, err
	}
	var err error
	if k.EncryptedKey, err = hex.DecodeString(enc); err != nil {
		return k, fmt.Errorf("signing key %s: %w", k.KID, err)
	}
	if k.CertDER, err = hex.DecodeString(cert); err != nil {
		return k, fmt.Errorf("signing key %s: %w", k.KID, err)
	}
	k.CreatedAt, k.ActiveFrom, k.RetireAt = fromMicros(created), fromMicros(active), fromMicros(retire)
	return k, nil
}
