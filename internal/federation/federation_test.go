package federation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims jwt.Claims) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParseAndVerify(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	claims := jwt.Claims{Issuer: "https://i", Subject: "s", Audience: jwt.Audience{"a"}, Expiry: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now)}
	allowed := []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

	a, err := Parse(sign(t, jose.RS256, rk, "r1", claims), allowed...)
	if err != nil || a.KeyID != "r1" || a.Claims.Subject != "s" {
		t.Fatalf("parse RS256: %+v %v", a, err)
	}
	if err := a.Verify(&rk.PublicKey); err != nil {
		t.Fatalf("verify RS256: %v", err)
	}
	if err := a.Verify(&ek.PublicKey); !errors.Is(err, ErrSignature) {
		t.Fatalf("RS256 token with an EC key: %v", err)
	}
	e, err := Parse(sign(t, jose.ES256, ek, "e1", claims), allowed...)
	if err != nil || e.Verify(&ek.PublicKey) != nil {
		t.Fatalf("ES256: %v", err)
	}
	hs := sign(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "h", claims)
	var ba *BadAlgorithm
	if _, err := Parse(hs, allowed...); !errors.As(err, &ba) || ba.Alg != "HS256" {
		t.Fatalf("HS256: %v", err)
	}
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + strings.Split(hs, ".")[1] + "."
	if _, err := Parse(none, allowed...); !errors.As(err, &ba) || ba.Alg != "none" {
		t.Fatalf("alg none: %v", err)
	}
	var mal *Malformed
	for _, bad := range []string{"garbage", "a.b.c", strings.Repeat("a", MaxAssertionBytes+1)} {
		if _, err := Parse(bad, allowed...); !errors.As(err, &mal) {
			t.Errorf("Parse(%.20q) = %v, want Malformed", bad, err)
		}
	}
	// Time checks with leeway.
	var te *TimeError
	exp := claims
	exp.Expiry = jwt.NewNumericDate(now.Add(-time.Hour))
	x, _ := Parse(sign(t, jose.RS256, rk, "r1", exp), allowed...)
	if err := x.CheckTime(now, 5*time.Minute, 0); !errors.As(err, &te) {
		t.Fatalf("expired: %v", err)
	}
	nbf := claims
	nbf.NotBefore = jwt.NewNumericDate(now.Add(time.Hour))
	x, _ = Parse(sign(t, jose.RS256, rk, "r1", nbf), allowed...)
	if err := x.CheckTime(now, 5*time.Minute, 0); !errors.As(err, &te) {
		t.Fatalf("nbf in the future: %v", err)
	}
	if err := a.CheckTime(now, 5*time.Minute, 10*time.Minute); !errors.As(err, &te) {
		t.Fatalf("exp an hour ahead with a 10 min bound: %v", err)
	}
	if err := a.CheckTime(now, 5*time.Minute, 0); err != nil {
		t.Fatalf("valid: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		a, err := Parse(raw, jose.RS256, jose.ES256)
		if err == nil && a.Alg != "RS256" && a.Alg != "ES256" {
			t.Fatalf("accepted algorithm %q", a.Alg)
		}
	})
}
