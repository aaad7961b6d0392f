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
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// Limits on what an issuer may send, and on how often Ward asks.
const (
	MaxDocumentBytes = 256 << 10
	MaxJWKSBytes     = 512 << 10
	// DefaultTimeout bounds each request to an issuer (discovery, then
	// keys) when FetcherConfig.Timeout is zero.
	DefaultTimeout = 5 * time.Second
	defaultTTL     = time.Hour
	minTTL         = time.Minute
	maxTTL         = 24 * time.Hour
	// minRefresh rate-limits refetching on an unknown kid, so a flood of
	// tokens with random kids cannot make Ward hammer an issuer.
	minRefresh = 30 * time.Second
	// A failing issuer is not asked again before a backoff that starts at
	// minBackoff and doubles with each failure up to maxBackoff; a success
	// resets it.
	minBackoff = time.Second
	maxBackoff = 5 * time.Minute
	// maxIssuers bounds the cache; past it an arbitrary entry is dropped.
	maxIssuers = 10_000
)

// ErrKeyNotFound means the issuer publishes no key with the token's kid.
var ErrKeyNotFound = errors.New("the issuer publishes no key with this kid")

// KeySource returns an issuer's current keys. Ward's own hosted issuers
// implement it in-process; Fetcher implements it over HTTPS.
type KeySource interface {
	Key(ctx context.Context, issuer, kid string) (*jose.JSONWebKey, error)
}

var _ KeySource = (*Fetcher)(nil)

// FetcherConfig configures a Fetcher. The zero value fetches with the
// system roots, refuses loopback issuers and allows 5 s per request.
type FetcherConfig struct {
	// RootCAs trusted for issuer fetches; nil means the system pool.
	RootCAs *x509.CertPool
	Now     func() time.Time
	// AllowLoopback lets issuers on loopback addresses (127.0.0.0/8, ::1,
	// localhost) be fetched: tests and local development. Link-local,
	// unspecified and multicast addresses are refused whatever it says.
	AllowLoopback bool
	// Timeout bounds each request to an issuer; zero means DefaultTimeout.
	Timeout time.Duration
	// Resolver resolves issuer host names; nil means the default resolver.
	Resolver *net.Resolver
	// Proxy chooses a proxy per request; nil means the environment's
	// (HTTPS_PROXY, NO_PROXY). A proxy is dialled without the address
	// checks (the operator chose it); the issuer's literal host is still
	// checked, but names are resolved by the proxy.
	Proxy func(*http.Request) (*url.URL, error)
}

// Fetcher fetches and caches issuers' JWKS over HTTPS. For each issuer at
// most one fetch is in flight, shared by every caller waiting for it; a
// failing issuer is not asked again before its backoff has passed.
type Fetcher struct {
	client  *http.Client
	policy  addressPolicy
	now     func() time.Time
	timeout time.Duration
	flight  singleflight.Group
	proxies sync.Map // canonical host:port of proxies in use

	mu    sync.Mutex
	cache map[string]*entry
}

type entry struct {
	keys        jose.JSONWebKeySet
	fetched     bool
	expires     time.Time
	lastAttempt time.Time
	failures    int
	retryAt     time.Time   // no fetch before this time
	lastErr     *FetchError // why the last fetch failed
}

// NewFetcher returns a Fetcher.
func NewFetcher(cfg FetcherConfig) *Fetcher {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	f := &Fetcher{policy: addressPolicy{allowLoopback: cfg.AllowLoopback}, now: cfg.Now, timeout: cfg.Timeout, cache: map[string]*entry{}}

	proxy := cfg.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	checked := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Resolver: cfg.Resolver, Control: f.policy.control}
	direct := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Resolver: cfg.Resolver}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	tr.TLSHandshakeTimeout = cfg.Timeout
	tr.ResponseHeaderTimeout = cfg.Timeout
	tr.Proxy = func(r *http.Request) (*url.URL, error) {
		u, err := proxy(r)
		if u != nil {
			f.proxies.Store(proxyAddr(u), struct{}{})
		}
		return u, err
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if _, ok := f.proxies.Load(addr); ok {
			return direct.DialContext(ctx, network, addr)
		}
		return checked.DialContext(ctx, network, addr)
	}
	f.client = &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return &redirectError{"it redirected more than twice"}
		}
		if req.URL.Scheme != "https" || req.URL.Host != via[0].URL.Host {
			return &redirectError{fmt.Sprintf("it redirected to %s; issuers may only redirect within their own https host", req.URL.Redacted())}
		}
		return nil
	}}
	return f
}

// redirectError refuses a redirect.
type redirectError struct{ why string }

func (e *redirectError) Error() string { return e.why }

// proxyAddr is the host:port the transport dials for proxy u.
func proxyAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Key returns the issuer's key with the given kid. Keys are cached for the
// JWKS response's max-age (1 min to 24 h, default 1 h). An unknown kid
// triggers a refetch at most every 30 s. When the issuer cannot be reached,
// keys fetched earlier keep working. Concurrent callers share one fetch;
// each stops waiting when its own ctx ends. Errors are *FetchError (or
// ErrKeyNotFound).
func (f *Fetcher) Key(ctx context.Context, issuer, kid string) (*jose.JSONWebKey, error) {
	if err := f.checkURL(issuer, issuer); err != nil {
		return nil, err
	}
	now := f.now()
	f.mu.Lock()
	e := f.entryLocked(issuer)
	k := find(e.keys, kid)
	switch {
	case k != nil && now.Before(e.expires):
		f.mu.Unlock()
		return k, nil
	case now.Before(e.retryAt): // backing off after a failure
		var err error = ErrKeyNotFound
		if e.lastErr != nil {
			err = e.lastErr.retrying(e.retryAt.Sub(now))
		}
		f.mu.Unlock()
		if k != nil {
			return k, nil // issuer down: keep serving keys we had
		}
		return nil, err
	case e.fetched && now.Sub(e.lastAttempt) < minRefresh:
		f.mu.Unlock()
		if k != nil {
			return k, nil
		}
		return nil, ErrKeyNotFound
	}
	f.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return nil, classify(issuer, err)
	}
	var err error
	select {
	case r := <-f.flight.DoChan(issuer, func() (any, error) { return nil, f.refresh(issuer) }):
		err = r.Err
	case <-ctx.Done():
		if k != nil {
			return k, nil
		}
		return nil, classify(issuer, ctx.Err())
	}
	f.mu.Lock()
	k = find(f.entryLocked(issuer).keys, kid)
	f.mu.Unlock()
	switch {
	case k != nil:
		return k, nil // fresh, or kept while the issuer is down
	case err != nil:
		return nil, err
	}
	return nil, ErrKeyNotFound
}

// entryLocked returns the issuer's cache entry, creating it; f.mu is held.
func (f *Fetcher) entryLocked(issuer string) *entry {
	e := f.cache[issuer]
	if e == nil {
		if len(f.cache) >= maxIssuers {
			for k := range f.cache {
				delete(f.cache, k)
				break
			}
		}
		e = &entry{}
		f.cache[issuer] = e
	}
	return e
}

// refresh fetches the issuer's keys once, on a context of its own so that
// no single caller's cancellation fails the fetch for the others, and
// records the result: new keys, or a failure and the next retry time.
func (f *Fetcher) refresh(issuer string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*f.timeout)
	defer cancel()
	keys, ttl, err := f.fetch(ctx, issuer)
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.entryLocked(issuer)
	e.lastAttempt = now
	if err != nil {
		fe := classify(issuer, err)
		e.failures++
		backoff := min(minBackoff<<min(e.failures-1, 16), maxBackoff)
		e.retryAt, e.lastErr = now.Add(backoff), fe
		return fe.retrying(backoff)
	}
	e.keys, e.fetched, e.expires = keys, true, now.Add(ttl)
	e.failures, e.retryAt, e.lastErr = 0, time.Time{}, nil
	return nil
}

// checkURL checks that u (the issuer or its jwks_uri) is an https URL on a
// host Ward may fetch from.
func (f *Fetcher) checkURL(issuer, u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || p.Host == "" {
		if u == issuer {
			return invalid(issuer, "it is not an https URL")
		}
		return invalid(issuer, "its jwks_uri '%s' is not an https URL", u)
	}
	if err := f.policy.checkHost(p.Hostname()); err != nil {
		return classify(issuer, err)
	}
	return nil
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
	discovery := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if _, err := f.getJSON(ctx, issuer, discovery, "discovery document", MaxDocumentBytes, &doc); err != nil {
		return jose.JSONWebKeySet{}, 0, err
	}
	if strings.TrimSuffix(doc.Issuer, "/") != strings.TrimSuffix(issuer, "/") {
		return jose.JSONWebKeySet{}, 0, invalid(issuer, "its discovery document %s names issuer '%s'", discovery, doc.Issuer)
	}
	if err := f.checkURL(issuer, doc.JWKSURI); err != nil {
		return jose.JSONWebKeySet{}, 0, err
	}
	var set jose.JSONWebKeySet
	hdr, err := f.getJSON(ctx, issuer, doc.JWKSURI, "JSON Web Key Set", MaxJWKSBytes, &set)
	if err != nil {
		return jose.JSONWebKeySet{}, 0, err
	}
	return set, cacheTTL(hdr.Get("Cache-Control")), nil
}

func (f *Fetcher) getJSON(ctx context.Context, issuer, u, what string, limit int64, out any) (http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, invalid(issuer, "%s is not a valid URL", u)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, classify(issuer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &FetchError{Issuer: issuer, Kind: FetchStatus, Status: resp.StatusCode,
			message: fmt.Sprintf("issuer '%s' answered HTTP %d for %s", issuer, resp.StatusCode, u)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, classify(issuer, err)
	}
	if int64(len(body)) > limit {
		return nil, invalid(issuer, "the response from %s is larger than %d bytes", u, limit)
	}
	if err := json.Unmarshal(body, out); err != nil {
		if ctx.Err() != nil {
			// A body cut short by the deadline (a transport may end it
			// without an error) is a timeout, not a malformed document.
			return nil, classify(issuer, ctx.Err())
		}
		return nil, invalid(issuer, "the response from %s is not a valid %s", u, what)
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
