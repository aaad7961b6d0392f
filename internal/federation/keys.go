// Package federation verifies JWTs issued by external OpenID Connect
// issuers (Kubernetes service-account tokens, GitHub Actions, ...): it finds
// an issuer's keys through its discovery document, caches them, and parses
// assertions with an explicit algorithm allow-list.
package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Limits on what an issuer may send.
const (
	MaxDocumentBytes = 256 << 10
	MaxJWKSBytes     = 512 << 10
	fetchTimeout     = 5 * time.Second
	defaultTTL       = time.Hour
	minTTL           = time.Minute
	maxTTL           = 24 * time.Hour
	// minRefresh rate-limits refetching on an unknown kid, so a flood of
	// tokens with random kids cannot make Ward hammer an issuer.
	minRefresh = 30 * time.Second
)

// ErrKeyNotFound means the issuer publishes no key with the token's kid.
var ErrKeyNotFound = errors.New("the issuer publishes no key with this kid")

// KeySource returns an issuer's current keys. Ward's own hosted issuers
// implement it in-process; Fetcher implements it over HTTPS.
type KeySource interface {
	Key(ctx context.Context, issuer, kid string) (*jose.JSONWebKey, error)
}

// FetcherConfig configures a Fetcher.
type FetcherConfig struct {
	// RootCAs trusted for issuer fetches; nil means the system pool.
	RootCAs *x509.CertPool
	Now     func() time.Time
	// Client replaces the HTTP client (tests); its redirect policy is kept.
	Client *http.Client
}

// Fetcher fetches and caches issuers' JWKS over HTTPS.
type Fetcher struct {
	client *http.Client
	now    func() time.Time
	mu     sync.Mutex
	cache  map[string]*entry
}

type entry struct {
	mu          sync.Mutex // one fetch per issuer at a time
	keys        jose.JSONWebKeySet
	fetched     bool
	expires     time.Time
	lastAttempt time.Time
}

// NewFetcher returns a Fetcher.
func NewFetcher(cfg FetcherConfig) *Fetcher {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := cfg.Client
	if c == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		tr.ResponseHeaderTimeout = fetchTimeout
		c = &http.Client{Transport: tr, Timeout: fetchTimeout}
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		if req.URL.Scheme != "https" || req.URL.Host != via[0].URL.Host {
			return fmt.Errorf("redirect to %s refused: issuers may only redirect within their own https host", req.URL.Redacted())
		}
		return nil
	}
	return &Fetcher{client: c, now: cfg.Now, cache: map[string]*entry{}}
}

// Key returns the issuer's key with the given kid. Keys are cached for the
// JWKS response's max-age (1 min to 24 h, default 1 h). An unknown kid
// triggers a refetch at most every 30 s. When the issuer cannot be reached,
// keys fetched earlier keep working.
func (f *Fetcher) Key(ctx context.Context, issuer, kid string) (*jose.JSONWebKey, error) {
	f.mu.Lock()
	e := f.cache[issuer]
	if e == nil {
		e = &entry{}
		f.cache[issuer] = e
	}
	f.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := f.now()
	k := find(e.keys, kid)
	if k != nil && now.Before(e.expires) {
		return k, nil
	}
	if e.fetched && now.Sub(e.lastAttempt) < minRefresh {
		if k != nil {
			return k, nil
		}
		return nil, ErrKeyNotFound
	}
	e.lastAttempt = now
	keys, ttl, err := f.fetch(ctx, issuer)
	if err != nil {
		if k != nil {
			return k, nil // issuer down: keep serving keys we had
		}
		return nil, err
	}
	e.keys, e.fetched, e.expires = keys, true, now.Add(ttl)
	if k = find(keys, kid); k == nil {
		return nil, ErrKeyNotFound
	}
	return k, nil
}

func find(set jose.JSONWebKeySet, kid string) *jose.JSONWebKey {
	for i := range set.Keys {
		if set.Keys[i].KeyID == kid && set.Keys[i].Valid() {
			return &set.Keys[i]
		}
	}
	return nil
}

func (f *Fetcher) fetch(ctx context.Context, issuer string) (jose.JSONWebKeySet, time.Duration, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return jose.JSONWebKeySet{}, 0, fmt.Errorf("issuer %q is not an https URL", issuer)
	}
	discovery := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if _, err := f.getJSON(ctx, discovery, MaxDocumentBytes, &doc); err != nil {
		return jose.JSONWebKeySet{}, 0, fmt.Errorf("issuer discovery %s: %w", discovery, err)
	}
	if strings.TrimSuffix(doc.Issuer, "/") != strings.TrimSuffix(issuer, "/") {
		return jose.JSONWebKeySet{}, 0, fmt.Errorf("issuer discovery %s names issuer %q, not %q", discovery, doc.Issuer, issuer)
	}
	ju, err := url.Parse(doc.JWKSURI)
	if err != nil || ju.Scheme != "https" || ju.Host == "" {
		return jose.JSONWebKeySet{}, 0, fmt.Errorf("issuer %s: jwks_uri %q is not an https URL", issuer, doc.JWKSURI)
	}
	var set jose.JSONWebKeySet
	hdr, err := f.getJSON(ctx, doc.JWKSURI, MaxJWKSBytes, &set)
	if err != nil {
		return jose.JSONWebKeySet{}, 0, fmt.Errorf("issuer %s keys %s: %w", issuer, doc.JWKSURI, err)
	}
	return set, cacheTTL(hdr.Get("Cache-Control")), nil
}

func (f *Fetcher) getJSON(ctx context.Context, u string, limit int64, out any) (http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("response larger than %d bytes", limit)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return resp.Header, nil
}

// cacheTTL reads max-age from Cache-Control, clamped to [1 min, 24 h].
func cacheTTL(cc string) time.Duration {
	for _, part := range strings.Split(cc, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(k, "max-age") {
			if n, err := strconv.Atoi(v); err == nil {
				return min(max(time.Duration(n)*time.Second, minTTL), maxTTL)
			}
		}
	}
	return defaultTTL
}
