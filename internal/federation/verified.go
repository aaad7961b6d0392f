package federation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxVerified bounds the verified-assertion cache. A projected
// service-account token is about 1 KiB, so a full cache holds some 50 MiB
// at worst; when full, a few entries make room (not tracked by age).
const maxVerified = 50_000

// Verified remembers assertions whose signature verified, by their exact
// bytes, until they expire (or, when the cache is full, a few of them at
// random make room). A pod presents the same projected token on every
// exchange for up to an hour, so parsing it and checking its signature
// again (about 70% of a reused exchange's CPU) is the same work with the
// same answer. A cached verification counts only
// while the issuer still publishes the key it verified with (the caller
// looks the kid up on every request): a key the issuer withdraws or
// replaces stops its tokens as soon as it would without the cache.
// Time, issuer, subject and audience are still checked on every request
// by the caller. Safe for concurrent use; the zero value is ready.
type Verified struct {
	mu sync.Mutex
	// m is keyed by the assertion itself (its Raw, which the entry holds
	// anyway): the map's own hash of a 1 KiB string is a fraction of a
	// SHA-256's, a hit compares every byte, and the key costs no memory.
	m map[string]verified
}

type verified struct {
	a   *Assertion
	key any
	exp time.Time
}

// Parse returns the assertion raw, parsed, and whether it has verified
// before and with which key. A miss parses it as Parse does.
func (v *Verified) Parse(raw string, now time.Time, allowed ...jose.SignatureAlgorithm) (a *Assertion, key any, err error) {
	if len(raw) <= MaxAssertionBytes {
		v.mu.Lock()
		e, ok := v.m[raw]
		v.mu.Unlock()
		if ok && now.Before(e.exp) {
			return e.a, e.key, nil
		}
	}
	// A copy: the assertion may be kept (Verify), and raw may share the
	// memory of the whole request it came in.
	a, err = Parse(strings.Clone(raw), allowed...)
	return a, nil, err
}

// Verify checks a's signature with key unless a verified with this very
// key before, and remembers a success until a expires.
func (v *Verified) Verify(a *Assertion, key, verifiedWith any) error {
	if verifiedWith != nil && sameKey(key, verifiedWith) {
		return nil
	}
	if err := a.Verify(key); err != nil {
		return err
	}
	if a.Claims.Expiry == nil {
		return nil
	}
	v.mu.Lock()
	if v.m == nil {
		v.m = make(map[string]verified)
	}
	if len(v.m) >= maxVerified {
		// A few entries at a time, not all: emptying the cache made every
		// pod's next exchange parse and verify again at once.
		n := 0
		for k := range v.m {
			delete(v.m, k)
			if n++; n >= 64 {
				break
			}
		}
	}
	v.m[a.Raw] = verified{a: a, key: key, exp: a.Claims.Expiry.Time()}
	v.mu.Unlock()
	return nil
}

// sameKey reports whether a and b are the same public key for the same
// algorithm. Key sources hand out a fresh *jose.JSONWebKey per lookup, so
// the keys inside are compared by value (crypto's Equal); a key of a type
// without Equal is never the same, so it verifies every time.
func sameKey(a, b any) bool {
	ja, aok := a.(*jose.JSONWebKey)
	jb, bok := b.(*jose.JSONWebKey)
	if aok != bok || (aok && (ja == nil || jb == nil || ja.Algorithm != jb.Algorithm)) {
		return false
	}
	if aok {
		a, b = ja.Key, jb.Key
	}
	// The same parsed key (a key source's cached set): no need to
	// compare the numbers, which costs allocations for RSA.
	switch ka := a.(type) {
	case *rsa.PublicKey:
		kb, ok := b.(*rsa.PublicKey)
		if ka == nil || kb == nil {
			return false // a nil key is nobody's (and its Equal panics)
		}
		if ok && ka == kb {
			return true
		}
	case *ecdsa.PublicKey:
		kb, ok := b.(*ecdsa.PublicKey)
		if ka == nil || kb == nil {
			return false
		}
		if ok && ka == kb {
			return true
		}
	}
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && b != nil && eq.Equal(b)
}
