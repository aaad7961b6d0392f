package federation

import (
	"crypto"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxVerified bounds the verified-assertion cache. A projected
// service-account token is about 1 KiB, so a full cache holds some 50 MiB
// at worst; it is emptied when full rather than tracked by age.
const maxVerified = 50_000

// Verified remembers assertions whose signature verified, by the SHA-256
// of their exact bytes, until they expire. A pod presents the same
// projected token on every exchange for up to an hour, so parsing it and
// checking its signature again (about 70% of a reused exchange's CPU) is
// the same work with the same answer. A cached verification counts only
// while the issuer still publishes the key it verified with (the caller
// looks the kid up on every request): a key the issuer withdraws or
// replaces stops its tokens as soon as it would without the cache.
// Time, issuer, subject and audience are still checked on every request
// by the caller. Safe for concurrent use; the zero value is ready.
type Verified struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verified
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
		sum := sha256.Sum256([]byte(raw))
		v.mu.Lock()
		e, ok := v.m[sum]
		v.mu.Unlock()
		if ok && now.Before(e.exp) {
			return e.a, e.key, nil
		}
	}
	a, err = Parse(raw, allowed...)
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
	sum := sha256.Sum256([]byte(a.Raw))
	v.mu.Lock()
	if v.m == nil || len(v.m) >= maxVerified {
		v.m = make(map[[sha256.Size]byte]verified)
	}
	v.m[sum] = verified{a: a, key: key, exp: a.Claims.Expiry.Time()}
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
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && b != nil && eq.Equal(b)
}
