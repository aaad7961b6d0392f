package federation

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// MaxAssertionBytes bounds a client assertion, as Entra does (16 KiB).
const MaxAssertionBytes = 16 << 10

// Assertion is a parsed, not yet verified, client assertion.
type Assertion struct {
	Raw     string
	Alg     string
	KeyID   string
	Header  map[string]any
	Claims  jwt.Claims
	token   *jwt.JSONWebToken
	allowed []jose.SignatureAlgorithm

	// all is every claim of the payload, decoded on the first StringClaim
	// of another claim than sub (only flexible credentials ask).
	allOnce sync.Once
	all     map[string]any
}

// StringClaim returns the claim name of the payload when it is a string;
// ok is false when the payload has no such claim or it is of another type.
// Safe for concurrent use (a verified assertion is shared).
func (a *Assertion) StringClaim(name string) (value string, ok bool) {
	if name == "sub" {
		return a.Claims.Subject, a.Claims.Subject != ""
	}
	a.allOnce.Do(func() {
		if a.token != nil {
			_ = a.token.UnsafeClaimsWithoutVerification(&a.all)
		}
	})
	value, ok = a.all[name].(string)
	return value, ok
}

// Malformed means the assertion is not a JWT Ward can read at all.
type Malformed struct{ Reason string }

func (e *Malformed) Error() string { return "malformed assertion: " + e.Reason }

// BadAlgorithm means the assertion is signed with an algorithm not allowed.
type BadAlgorithm struct{ Alg string }

func (e *BadAlgorithm) Error() string {
	return fmt.Sprintf("the assertion is signed with algorithm '%s', which is not accepted", e.Alg)
}

// Parse reads an assertion's header and claims without verifying it; only
// the given algorithms will be accepted later by Verify.
func Parse(raw string, allowed ...jose.SignatureAlgorithm) (*Assertion, error) {
	if len(raw) > MaxAssertionBytes {
		return nil, &Malformed{fmt.Sprintf("it is %d bytes; at most %d are accepted", len(raw), MaxAssertionBytes)}
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, &Malformed{"it is not a compact JWS (three base64url parts separated by dots)"}
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, &Malformed{"the header is not base64url"}
	}
	var hdr map[string]any
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, &Malformed{"the header is not JSON"}
	}
	alg, _ := hdr["alg"].(string)
	kid, _ := hdr["kid"].(string)
	ok := false
	for _, a := range allowed {
		ok = ok || string(a) == alg
	}
	if !ok {
		return nil, &BadAlgorithm{Alg: alg}
	}
	tok, err := jwt.ParseSigned(raw, allowed)
	if err != nil {
		return nil, &Malformed{err.Error()}
	}
	a := &Assertion{Raw: raw, Alg: alg, KeyID: kid, Header: hdr, token: tok, allowed: allowed}
	if err := tok.UnsafeClaimsWithoutVerification(&a.Claims); err != nil {
		return nil, &Malformed{"the claims are not valid JSON: " + err.Error()}
	}
	return a, nil
}

// ErrSignature means the signature does not verify with the key.
var ErrSignature = errors.New("the assertion's signature does not verify with the issuer's key")

// Verify checks the signature with key, whose type must fit the algorithm.
func (a *Assertion) Verify(key any) error {
	if jwk, ok := key.(*jose.JSONWebKey); ok {
		if jwk.Algorithm != "" && jwk.Algorithm != a.Alg {
			return fmt.Errorf("%w: the key is for %s, the assertion uses %s", ErrSignature, jwk.Algorithm, a.Alg)
		}
		key = jwk.Key
	}
	var c jwt.Claims
	if err := a.token.Claims(key, &c); err != nil {
		return fmt.Errorf("%w (%v)", ErrSignature, err)
	}
	return nil
}

// TimeError says why an assertion is outside its valid time range.
type TimeError struct {
	Now, NotBefore, Expiry time.Time
}

func (e *TimeError) Error() string {
	return fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
		e.Now.UTC().Format(time.RFC3339), e.NotBefore.UTC().Format(time.RFC3339), e.Expiry.UTC().Format(time.RFC3339))
}

// CheckTime validates exp (required), nbf and iat with leeway; maxAhead > 0
// also bounds how far in the future exp may be.
func (a *Assertion) CheckTime(now time.Time, leeway, maxAhead time.Duration) error {
	var nbf, exp time.Time
	if a.Claims.NotBefore != nil {
		nbf = a.Claims.NotBefore.Time()
	} else {
		nbf = time.Unix(0, 0)
	}
	if a.Claims.Expiry != nil {
		exp = a.Claims.Expiry.Time()
	}
	switch {
	case a.Claims.Expiry == nil,
		now.After(exp.Add(leeway)), now.Add(leeway).Before(nbf),
		a.Claims.IssuedAt != nil && now.Add(leeway).Before(a.Claims.IssuedAt.Time()),
		maxAhead > 0 && exp.After(now.Add(maxAhead+leeway)):
		return &TimeError{Now: now, NotBefore: nbf, Expiry: exp}
	}
	return nil
}
