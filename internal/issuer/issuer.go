// Package issuer owns the OIDC issuers Ward hosts, one per cluster with the
// issuer enabled, named by the cluster's GUID: their signing keys (created
// on demand, encrypted at rest, rotated with overlap by the signer),
// Kubernetes-style service-account tokens for local development, and the
// discovery document and JWKS served at <public-url>/oidc/<tenant>/<id>/.
//
// Service implements federation.KeySource for the token exchange: a hosted
// issuer is resolved in-process, with no HTTP; any other issuer goes to the
// remote fetcher. The clusters package creates and deletes issuers and
// calls this package, never the reverse; the issuer reads only two
// settings of the stored cluster (issuer enabled, bring-your-own keys).
package issuer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/federation"
	"github.com/ward-id/ward/internal/signer"
	"github.com/ward-id/ward/internal/storage"
)

// Config configures a Service.
type Config struct {
	Store storage.Storage
	// KEK is the 32-byte key-encryption key for the issuers' keys at rest.
	KEK       []byte
	PublicURL string // no trailing slash needed
	TenantID  string
	Now       func() time.Time // default time.Now
	// Remote resolves every issuer Ward does not host (over HTTPS); nil
	// refuses them.
	Remote federation.KeySource
}

// Service manages the hosted issuers.
type Service struct {
	store     storage.Storage
	kek       []byte
	publicURL string
	tenantID  string
	prefix    string // <public-url>/oidc/<tenant>/
	now       func() time.Time
	remote    federation.KeySource

	mu      sync.Mutex
	signers map[string]*issuerKeys // issuer ID -> its key manager
	// published caches each hosted issuer's public keys for the token
	// exchange, which would otherwise read the cluster on every request;
	// Forget (the change feed) and refreshEvery bound its staleness.
	published map[string]publishedKeys
}

var _ federation.KeySource = (*Service)(nil)

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{store: cfg.Store, kek: cfg.KEK, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"),
		tenantID: strings.ToLower(cfg.TenantID), now: cfg.Now, remote: cfg.Remote,
		signers: map[string]*issuerKeys{}, published: map[string]publishedKeys{}}
	s.prefix = s.publicURL + "/oidc/" + s.tenantID + "/"
	return s
}

// URL is an issuer's URL: <public-url>/oidc/<tenant>/<id>/.
func (s *Service) URL(id string) string { return s.prefix + strings.ToLower(id) + "/" }

// IDFromURL recognizes Ward's own issuer URLs (exactly, with the trailing
// slash, as a federated credential must name them) and returns the ID.
func (s *Service) IDFromURL(iss string) (string, bool) {
	rest, ok := strings.CutPrefix(iss, s.prefix)
	if !ok || !strings.HasSuffix(rest, "/") {
		return "", false
	}
	id := strings.TrimSuffix(rest, "/")
	_, err := uuid.Parse(id)
	return id, err == nil && !strings.Contains(id, "/")
}

// Forget drops the cached keys of the given issuers (all of them when none
// is named), so the next use reloads them from the database: another
// replica created, rotated or deleted keys, or a cluster changed.
func (s *Service) Forget(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ids) == 0 {
		clear(s.signers)
		clear(s.published)
		return
	}
	for _, id := range ids {
		delete(s.signers, strings.ToLower(id))
		delete(s.published, strings.ToLower(id))
	}
}

// issuerKeys is an issuer's key manager and when it last reloaded.
type issuerKeys struct {
	m         *signer.Manager
	refreshed time.Time
}

// refreshEvery is how often an issuer's keys are reloaded from storage
// (rotation due, or another replica rotated), as the token service's own
// keys are: not on every token exchange.
const refreshEvery = time.Minute

// Ensure creates an issuer's signing keys if it has none yet.
func (s *Service) Ensure(ctx context.Context, id string) error {
	_, err := s.signer(ctx, id)
	return err
}

// signer returns the key manager of an issuer.
func (s *Service) signer(ctx context.Context, issuerID string) (*signer.Manager, error) {
	id := strings.ToLower(issuerID)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if k, ok := s.signers[id]; ok {
		if now.Sub(k.refreshed) < refreshEvery {
			return k.m, nil
		}
		k.refreshed = now
		return k.m, k.m.Refresh(ctx)
	}
	m, err := signer.New(ctx, signer.Config{Store: s.store, Owner: id, KEK: s.kek, Now: s.now, KubeKID: true})
	if err != nil {
		return nil, err
	}
	s.signers[id] = &issuerKeys{m: m, refreshed: now}
	return m, nil
}

// Keys returns the JWKS an issuer publishes: the cluster's own keys when it
// brings them, else Ward's. An unknown issuer, or a cluster whose issuer is
// off, is storage.ErrNotFound; a storage failure is returned as it is.
func (s *Service) Keys(ctx context.Context, id string) (jose.JSONWebKeySet, error) {
	c, err := s.store.GetClusterByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !c.Spec.OIDCIssuer) {
		return jose.JSONWebKeySet{}, storage.ErrNotFound
	}
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("read the cluster of issuer %s: %w", id, err)
	}
	if c.Spec.ServiceAccountKeys != nil {
		return *c.Spec.ServiceAccountKeys, nil
	}
	m, err := s.signer(ctx, id)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	set := m.JWKS()
	for i := range set.Keys {
		// kube-apiserver publishes bare keys; certificates add nothing here.
		set.Keys[i].Certificates, set.Keys[i].CertificateThumbprintSHA1 = nil, nil
	}
	return set, nil
}

// Key implements federation.KeySource: an issuer Ward hosts is resolved
// in-process, any other through the remote fetcher.
func (s *Service) Key(ctx context.Context, iss, kid string) (*jose.JSONWebKey, error) {
	if id, ok := s.IDFromURL(iss); ok {
		return s.hostedKey(ctx, iss, id, kid)
	}
	if s.remote == nil {
		return nil, fmt.Errorf("issuer %s is not hosted by this Ward server", iss)
	}
	return s.remote.Key(ctx, iss, kid)
}

// HostedKey is Key for Ward's own issuers only: any other issuer is
// refused, never fetched (node agents attest with hosted issuers only).
func (s *Service) HostedKey(ctx context.Context, iss, kid string) (*jose.JSONWebKey, error) {
	id, ok := s.IDFromURL(iss)
	if !ok {
		return nil, fmt.Errorf("issuer %s is not hosted by this Ward server", iss)
	}
	return s.hostedKey(ctx, iss, id, kid)
}

func (s *Service) hostedKey(ctx context.Context, iss, id, kid string) (*jose.JSONWebKey, error) {
	set, err := s.publishedKeys(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("hosted issuer %s: no cluster with an enabled OIDC issuer", iss)
	}
	if k := keyByID(set, kid); k != nil {
		return k, nil
	}
	// An unknown kid may be a key rotated or uploaded a moment ago: read
	// the database once (as every request did before the cache).
	s.Forget(id)
	if set, err = s.publishedKeys(ctx, id); err != nil {
		return nil, fmt.Errorf("hosted issuer %s: no cluster with an enabled OIDC issuer", iss)
	}
	if k := keyByID(set, kid); k != nil {
		return k, nil
	}
	return nil, federation.ErrKeyNotFound
}

// keyByID returns the key of set named kid, or nil. It points into set,
// the cached set's array (which is replaced, never written), where
// JSONWebKeySet.Key copies every match into a fresh slice per lookup: one
// allocation on every exchange.
func keyByID(set jose.JSONWebKeySet, kid string) *jose.JSONWebKey {
	for i := range set.Keys {
		if set.Keys[i].KeyID == kid {
			return &set.Keys[i]
		}
	}
	return nil
}

type publishedKeys struct {
	set jose.JSONWebKeySet
	at  time.Time
}

// publishedKeys returns an issuer's keys from the cache when fresh.
func (s *Service) publishedKeys(ctx context.Context, issuerID string) (jose.JSONWebKeySet, error) {
	id := strings.ToLower(issuerID)
	now := s.now()
	s.mu.Lock()
	p, ok := s.published[id]
	s.mu.Unlock()
	if ok && now.Sub(p.at) < refreshEvery && !now.Before(p.at) {
		return p.set, nil
	}
	set, err := s.Keys(ctx, id)
	if err != nil {
		return set, err
	}
	s.mu.Lock()
	if len(s.published) > 10_000 {
		clear(s.published)
	}
	s.published[id] = publishedKeys{set: set, at: now}
	s.mu.Unlock()
	return set, nil
}
