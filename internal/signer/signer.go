// Package signer holds Ward's token-signing keys: generation (RSA-2048 by
// default, ES256 as an option), encryption at rest under a key-encryption
// key, rotation with overlap, and the JWKS that publishes them.
//
// Rotation: a key signs for RotateEvery. PublishAhead before its successor
// takes over, the successor is created and published, so that verifiers
// that cache the JWKS already know it when the first token signed with it
// arrives. A key stays published until every token it can have signed has
// expired (its last signing moment plus MaxTokenLifetime).
package signer

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/ward-id/ward/internal/storage"
)

// Key is one signing key.
type Key struct {
	ID         string // kid: the RFC 7638 JWK thumbprint (base64url SHA-256)
	Alg        jose.SignatureAlgorithm
	Private    crypto.Signer // *rsa.PrivateKey or *ecdsa.PrivateKey
	Cert       *x509.Certificate
	X5T        string // base64url SHA-1 of the certificate, as Entra's x5t
	ActiveFrom time.Time
	RetireAt   time.Time
}

// Public returns the key's public JWK, as published in the JWKS.
func (k Key) Public() jose.JSONWebKey {
	return jose.JSONWebKey{
		Key: k.Private.Public(), KeyID: k.ID, Algorithm: string(k.Alg), Use: "sig",
		Certificates: []*x509.Certificate{k.Cert}, CertificateThumbprintSHA1: sha1Sum(k.Cert.Raw),
	}
}

func sha1Sum(b []byte) []byte {
	s := sha1.Sum(b)
	return s[:]
}

// Config configures a Manager; zero values are the defaults.
type Config struct {
	Store storage.Storage
	// Owner separates key sets in one store: "" is the token service, a
	// cluster GUID that cluster's issuer.
	Owner string
	// KubeKID derives kids as kube-apiserver does (base64url SHA-256 of the
	// PKIX DER public key) instead of the RFC 7638 thumbprint, so that
	// tokens a real apiserver signs with an exported key find it.
	KubeKID bool
	// KEK is the 32-byte key-encryption key (AES-256-GCM).
	KEK              []byte
	Alg              jose.SignatureAlgorithm // RS256 (default) or ES256
	RotateEvery      time.Duration           // default 30 days
	PublishAhead     time.Duration           // default 24 h
	MaxTokenLifetime time.Duration           // default 25 h (24 h tokens plus skew)
	Now              func() time.Time
	Logger           *slog.Logger
}

// Manager owns the signing keys. It is safe for concurrent use.
type Manager struct {
	cfg  Config
	aead cipher.AEAD
	mu   sync.RWMutex
	keys []Key // sorted by ActiveFrom
}

// New loads the keys from storage and makes sure one can sign now.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if len(cfg.KEK) != 32 {
		return nil, fmt.Errorf("key-encryption key must be 32 bytes, got %d", len(cfg.KEK))
	}
	if cfg.Alg == "" {
		cfg.Alg = jose.RS256
	}
	if cfg.Alg != jose.RS256 && cfg.Alg != jose.ES256 {
		return nil, fmt.Errorf("signing algorithm %q is not supported: use RS256 or ES256", cfg.Alg)
	}
	if cfg.RotateEvery <= 0 {
		cfg.RotateEvery = 30 * 24 * time.Hour
	}
	if cfg.PublishAhead <= 0 {
		cfg.PublishAhead = 24 * time.Hour
	}
	if cfg.MaxTokenLifetime <= 0 {
		cfg.MaxTokenLifetime = 25 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	block, err := aes.NewCipher(cfg.KEK)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, aead: aead}
	if err := m.Refresh(ctx); err != nil {
		return nil, err
	}
	if err := m.switchAlg(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// switchAlg rotates to a key of the configured algorithm when the store's
// current key has another one: a data directory or database made with
// RS256 and started with ES256 signs ES256 from this start on (and the
// other way round). The old key stays published until its tokens expire.
// It runs at start only, so replicas started with different algorithms
// do not rotate each other's keys on every refresh.
func (m *Manager) switchAlg(ctx context.Context) error {
	if m.Signing().Alg == m.cfg.Alg {
		return nil
	}
	return m.cfg.Store.WithLock(ctx, "signing-keys:"+m.cfg.Owner, func(ctx context.Context) error {
		// Another replica started with the same algorithm may have switched.
		if err := m.load(ctx); err != nil {
			return err
		}
		if from := m.Signing().Alg; from != m.cfg.Alg {
			k, err := m.create(ctx, m.cfg.Now())
			if err != nil {
				return err
			}
			m.cfg.Logger.Info("signing algorithm changed: rotated to a new key", "from", from, "to", m.cfg.Alg, "kid", k.ID)
			return m.load(ctx)
		}
		return nil
	})
}

// Signing returns the key to sign with now: the most recently activated one.
func (m *Manager) Signing() Key {
	now := m.cfg.Now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	var cur Key
	for _, k := range m.keys {
		if !k.ActiveFrom.After(now) && k.RetireAt.After(now) {
			cur = k
		}
	}
	return cur
}

// Lookup returns a published key by kid.
func (m *Manager) Lookup(kid string) (Key, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, k := range m.keys {
		if k.ID == kid {
			return k, k.RetireAt.After(m.cfg.Now())
		}
	}
	return Key{}, false
}

// JWKS returns every published key: the current, the next, and the
// previous ones whose tokens may still be valid.
func (m *Manager) JWKS() jose.JSONWebKeySet {
	now := m.cfg.Now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for i := len(m.keys) - 1; i >= 0; i-- {
		if k := m.keys[i]; k.RetireAt.After(now) {
			set.Keys = append(set.Keys, k.Public())
		}
	}
	return set
}

// Rotate makes a new key and signs with it from now on. Tokens signed with
// the previous keys stay verifiable: those keys remain published.
func (m *Manager) Rotate(ctx context.Context) (Key, error) {
	now := m.cfg.Now()
	k, err := m.create(ctx, now)
	if err != nil {
		return Key{}, err
	}
	m.cfg.Logger.Info("signing key rotated", "kid", k.ID, "alg", k.Alg)
	return k, m.load(ctx)
}

// Refresh reloads keys from storage (other replicas may have rotated),
// creates the current or next key when due, and forgets retired keys.
func (m *Manager) Refresh(ctx context.Context) error {
	// Under a database-wide lock, so replicas create and rotate a key once.
	return m.cfg.Store.WithLock(ctx, "signing-keys:"+m.cfg.Owner, m.refresh)
}

func (m *Manager) refresh(ctx context.Context) error {
	if err := m.load(ctx); err != nil {
		return err
	}
	now := m.cfg.Now()
	cur := m.Signing()
	// The current key must outlive the tokens it signs from now on.
	if cur.ID == "" || !cur.RetireAt.After(now.Add(m.cfg.MaxTokenLifetime)) {
		if _, err := m.create(ctx, now); err != nil {
			return err
		}
		return m.load(ctx)
	}
	due := cur.ActiveFrom.Add(m.cfg.RotateEvery)
	m.mu.RLock()
	hasNext := len(m.keys) > 0 && m.keys[len(m.keys)-1].ActiveFrom.After(now)
	m.mu.RUnlock()
	if !hasNext && !now.Before(due.Add(-m.cfg.PublishAhead)) {
		start := due
		if min := now.Add(m.cfg.PublishAhead); start.Before(min) {
			start = min
		}
		if _, err := m.create(ctx, start); err != nil {
			return err
		}
		m.cfg.Logger.Info("next signing key published", "activates", start)
		return m.load(ctx)
	}
	return nil
}

// Run refreshes every interval until ctx ends.
func (m *Manager) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
				m.cfg.Logger.Error("signing key refresh failed", "err", err)
			}
		}
	}
}

func (m *Manager) load(ctx context.Context) error {
	stored, err := storage.All(func(p storage.Page) ([]storage.SigningKey, string, error) {
		return m.cfg.Store.ListSigningKeys(ctx, m.cfg.Owner, p)
	})
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	now := m.cfg.Now()
	var keys []Key
	for _, sk := range stored {
		if !sk.RetireAt.After(now) {
			// Retired: no token it signed is still valid.
			if err := m.cfg.Store.DeleteSigningKey(ctx, sk.KID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			continue
		}
		k, err := m.decrypt(sk)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ActiveFrom.Before(keys[j].ActiveFrom) })
	m.mu.Lock()
	m.keys = keys
	m.mu.Unlock()
	return nil
}

func (m *Manager) create(ctx context.Context, activeFrom time.Time) (Key, error) {
	var priv crypto.Signer
	var err error
	if m.cfg.Alg == jose.ES256 {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return Key{}, err
	}
	now := m.cfg.Now()
	retire := activeFrom.Add(m.cfg.RotateEvery + m.cfg.MaxTokenLifetime)
	jwk := jose.JSONWebKey{Key: priv.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return Key{}, err
	}
	if m.cfg.KubeKID {
		der, err := x509.MarshalPKIXPublicKey(priv.Public())
		if err != nil {
			return Key{}, err
		}
		sum := sha256.Sum256(der)
		tp = sum[:]
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "Ward token signing " + kid},
		NotBefore: now.Add(-time.Hour), NotAfter: retire, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return Key{}, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Key{}, err
	}
	nonce := make([]byte, m.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return Key{}, err
	}
	enc := m.aead.Seal(nonce, nonce, pkcs8, []byte(kid))
	sk := storage.SigningKey{Owner: m.cfg.Owner, KID: kid, Alg: string(m.cfg.Alg), EncryptedKey: enc, CertDER: der, CreatedAt: now, ActiveFrom: activeFrom, RetireAt: retire}
	if err := m.cfg.Store.CreateSigningKey(ctx, sk); err != nil {
		return Key{}, fmt.Errorf("store signing key: %w", err)
	}
	return m.decrypt(sk)
}

func (m *Manager) decrypt(sk storage.SigningKey) (Key, error) {
	ns := m.aead.NonceSize()
	if len(sk.EncryptedKey) < ns {
		return Key{}, fmt.Errorf("signing key %s: ciphertext too short", sk.KID)
	}
	pkcs8, err := m.aead.Open(nil, sk.EncryptedKey[:ns], sk.EncryptedKey[ns:], []byte(sk.KID))
	if err != nil {
		return Key{}, fmt.Errorf("signing key %s cannot be decrypted: the key-encryption key is not the one it was stored with (%w)", sk.KID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return Key{}, fmt.Errorf("signing key %s: %w", sk.KID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return Key{}, fmt.Errorf("signing key %s is not a signing key", sk.KID)
	}
	cert, err := x509.ParseCertificate(sk.CertDER)
	if err != nil {
		return Key{}, fmt.Errorf("signing key %s certificate: %w", sk.KID, err)
	}
	return Key{ID: sk.KID, Alg: jose.SignatureAlgorithm(sk.Alg), Private: priv, Cert: cert,
		X5T: base64.RawURLEncoding.EncodeToString(sha1Sum(cert.Raw)), ActiveFrom: sk.ActiveFrom, RetireAt: sk.RetireAt}, nil
}
