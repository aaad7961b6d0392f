package sts

import (
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTokenReuseMaxAge is how long a minted token is handed out again
// at most, for the same principal, resource and credential. Azure's
// managed-identity back end caches tokens for about a day; Ward reuses a
// token for at most half its lifetime (so a client that refreshes at
// refresh_in always gets a fresh one) and at most this long.
const DefaultTokenReuseMaxAge = 12 * time.Hour

// reuseCache holds tokens minted recently. Reuse never skips
// authentication: the client's credential is verified on every request and
// only the signing is saved (about 86% of an exchange's CPU with RS256), so
// a deleted or changed credential, identity or service principal is
// refused at once whatever the cache holds. The cache is also cleared by
// Invalidate, which every replica calls when the change feed reports a
// write to those tables.
type reuseCache struct {
	maxAge time.Duration // 0: off
	mu     sync.Mutex
	tokens map[reuseKey]reusable
	hits   atomic.Uint64
	misses atomic.Uint64
}

type reuseKey struct {
	principal, resource string
	// kind (clientSecret, certificate, federated), the assertion's issuer
	// and subject, and the very credential verified (authn.ClaimCredential)
	kind, issuer, subject, credential string
	v1                                bool
	// kid is the signing key a new token would be signed with: after a
	// rotation no token signed with the previous key is handed out again.
	kid string
}

type reusable struct {
	token           string
	issued, expires time.Time
	// plain: the token needs no escaping in JSON (a JWS never does),
	// checked once when it is minted, not on every answer that reuses it.
	plain bool
}

const maxReusable = 100_000

func newReuseCache(maxAge time.Duration) *reuseCache {
	return &reuseCache{maxAge: maxAge, tokens: map[reuseKey]reusable{}}
}

// get returns a token still fresh enough to hand out again.
func (c *reuseCache) get(k reuseKey, now time.Time) (reusable, bool) {
	if c.maxAge <= 0 {
		return reusable{}, false
	}
	c.mu.Lock()
	t, ok := c.tokens[k]
	c.mu.Unlock()
	if ok {
		life := t.expires.Sub(t.issued)
		age := now.Sub(t.issued)
		if age >= 0 && age <= c.maxAge && age <= life/2 {
			c.hits.Add(1)
			return t, true
		}
	}
	c.misses.Add(1)
	return reusable{}, false
}

func (c *reuseCache) put(k reuseKey, t reusable) {
	if c.maxAge <= 0 {
		return
	}
	c.mu.Lock()
	if _, ok := c.tokens[k]; !ok {
		evict(c.tokens, maxReusable)
	}
	c.tokens[k] = t
	c.mu.Unlock()
}

func (c *reuseCache) clear() {
	c.mu.Lock()
	clear(c.tokens)
	c.mu.Unlock()
}

// evictBatch is how many entries evict removes from a full cache at a time.
const evictBatch = 64

// evict makes room for one more entry in m, which holds at most max: when
// full it removes a few entries (the first that map iteration, which is
// randomised, yields) rather than all of them. Emptying a full cache at
// once turned every request of the next moments into a miss (a database
// read, a new signature) exactly when the server was busiest; removing a
// bounded batch costs the same few microseconds every evictBatch inserts.
func evict[K comparable, V any](m map[K]V, max int) {
	if len(m) < max {
		return
	}
	n := 0
	for k := range m {
		delete(m, k)
		if n++; n >= evictBatch {
			return
		}
	}
}

// ReuseStats reports token reuse hits and misses since start.
func (s *Service) ReuseStats() (hits, misses uint64) {
	return s.reuse.hits.Load(), s.reuse.misses.Load()
}
