package federation

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestVerifiedCache: a verified assertion is remembered for the key it
// verified with only; another key (a refetched or rotated JWKS) verifies
// again and fails if it must; an expired assertion is parsed anew.
func TestVerifiedCache(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Now()
	raw := sign(t, jose.RS256, rk, "r1", jwt.Claims{Issuer: "https://i", Subject: "s", Expiry: jwt.NewNumericDate(now.Add(time.Minute))})
	pub := &jose.JSONWebKey{Key: &rk.PublicKey, KeyID: "r1", Algorithm: "RS256"}
	var v Verified

	a, with, err := v.Parse(raw, now, jose.RS256)
	if err != nil || with != nil {
		t.Fatalf("first parse: key %v, err %v", with, err)
	}
	if err := v.Verify(a, pub, with); err != nil {
		t.Fatal(err)
	}
	a2, with, err := v.Parse(raw, now, jose.RS256)
	if err != nil || !sameKey(with, pub) || a2.Claims.Subject != "s" {
		t.Fatalf("second parse: key %v, err %v", with, err)
	}
	if err := v.Verify(a2, pub, with); err != nil {
		t.Fatalf("cached verification: %v", err)
	}
	// The issuer's keys changed: the same kid now names another key.
	swapped := &jose.JSONWebKey{Key: &other.PublicKey, KeyID: "r1", Algorithm: "RS256"}
	if err := v.Verify(a2, swapped, with); !errors.Is(err, ErrSignature) {
		t.Fatalf("verification with a changed key = %v, want ErrSignature", err)
	}
	// A forged token with a cached token's claims has other bytes: a miss.
	forged := sign(t, jose.RS256, other, "r1", jwt.Claims{Issuer: "https://i", Subject: "s", Expiry: jwt.NewNumericDate(now.Add(time.Minute))})
	fa, with, err := v.Parse(forged, now, jose.RS256)
	if err != nil || with != nil {
		t.Fatalf("forged parse: key %v, err %v", with, err)
	}
	if err := v.Verify(fa, pub, with); !errors.Is(err, ErrSignature) {
		t.Fatalf("forged verification = %v", err)
	}
	// Expired: no longer remembered.
	if _, with, _ := v.Parse(raw, now.Add(2*time.Minute), jose.RS256); with != nil {
		t.Fatal("an expired assertion is still remembered")
	}
}

func TestSameKey(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	copyOf := k1.PublicKey
	jwk := func(k any, alg string) *jose.JSONWebKey { return &jose.JSONWebKey{Key: k, Algorithm: alg} }
	for _, tc := range []struct {
		name string
		a, b any
		want bool
	}{
		{"same key in two lookups", jwk(&k1.PublicKey, "RS256"), jwk(&copyOf, "RS256"), true},
		{"the very same parsed key", jwk(&k1.PublicKey, "RS256"), jwk(&k1.PublicKey, "RS256"), true},
		{"the very same key, another algorithm", jwk(&k1.PublicKey, "RS256"), jwk(&k1.PublicKey, "PS256"), false},
		{"nil RSA keys", jwk((*rsa.PublicKey)(nil), "RS256"), jwk((*rsa.PublicKey)(nil), "RS256"), false},
		{"bare keys", &k1.PublicKey, &copyOf, true},
		{"another key", jwk(&k1.PublicKey, "RS256"), jwk(&k2.PublicKey, "RS256"), false},
		{"another algorithm", jwk(&k1.PublicKey, "RS256"), jwk(&copyOf, "PS256"), false},
		{"wrapped and bare", jwk(&k1.PublicKey, ""), &k1.PublicKey, false},
		{"no Equal", []byte("x"), []byte("x"), false},
		{"nil", nil, nil, false},
	} {
		if got := sameKey(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: sameKey = %v, want %v", tc.name, got, tc.want)
		}
	}
}
