package federation

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// issuer is a test OIDC issuer over HTTPS.
type issuer struct {
	srv     *httptest.Server
	keys    jose.JSONWebKeySet
	fetches atomic.Int32
	down    atomic.Bool
	cc      string
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{cc: "max-age=3600"}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		is.fetches.Add(1)
		w.Header().Set("Cache-Control", is.cc)
		json.NewEncoder(w).Encode(is.keys)
	})
	mux.HandleFunc("/redirect/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://example.invalid/x", http.StatusFound)
	})
	is.srv = httptest.NewTLSServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) addRSA(t *testing.T, kid string) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.keys.Keys = append(is.keys.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
	return k
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestFetcherCachesRefreshesAndSurvivesOutages(t *testing.T) {
	is := newIssuer(t)
	is.addRSA(t, "k1")
	c := &fakeClock{time.Now()}
	f := NewFetcher(FetcherConfig{Client: is.srv.Client(), Now: c.now})
	ctx := context.Background()
	if k, err := f.Key(ctx, is.srv.URL, "k1"); err != nil || k.KeyID != "k1" {
		t.Fatalf("first fetch: %v %v", k, err)
	}
	if _, err := f.Key(ctx, is.srv.URL, "k1"); err != nil || is.fetches.Load() != 1 {
		t.Fatalf("cached key refetched: %d fetches, %v", is.fetches.Load(), err)
	}
	// An unknown kid refetches, but at most every 30 s.
	is.addRSA(t, "k2")
	if _, err := f.Key(ctx, is.srv.URL, "k2"); !errors.Is(err, ErrKeyNotFound) || is.fetches.Load() != 1 {
		t.Fatalf("refetch inside the rate limit: %v, %d fetches", err, is.fetches.Load())
	}
	c.t = c.t.Add(31 * time.Second)
	if k, err := f.Key(ctx, is.srv.URL, "k2"); err != nil || k.KeyID != "k2" || is.fetches.Load() != 2 {
		t.Fatalf("rotation pick-up: %v, %d fetches", err, is.fetches.Load())
	}
	// The issuer goes down after the cache expires: the known keys still work.
	is.down.Store(true)
	c.t = c.t.Add(2 * time.Hour)
	if k, err := f.Key(ctx, is.srv.URL, "k1"); err != nil || k.KeyID != "k1" {
		t.Fatalf("stale key while the issuer is down: %v", err)
	}
	c.t = c.t.Add(time.Minute)
	if _, err := f.Key(ctx, is.srv.URL, "k9"); err == nil {
		t.Fatal("unknown kid while the issuer is down: no error")
	}
}

func TestFetcherRefusals(t *testing.T) {
	is := newIssuer(t)
	is.addRSA(t, "k1")
	f := NewFetcher(FetcherConfig{Client: is.srv.Client()})
	ctx := context.Background()
	if _, err := f.Key(ctx, strings.Replace(is.srv.URL, "https://", "http://", 1), "k1"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("http issuer: %v", err)
	}
	if _, err := f.Key(ctx, is.srv.URL+"/redirect", "k1"); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("cross-host redirect: %v", err)
	}
	// The discovery document must name the issuer asked for.
	if _, err := f.Key(ctx, is.srv.URL+"/other", "k1"); err == nil {
		t.Fatal("issuer mismatch accepted")
	}
	// An oversized JWKS is refused.
	is.keys.Keys = append(is.keys.Keys, jose.JSONWebKey{Key: is.keys.Keys[0].Key, KeyID: strings.Repeat("y", MaxJWKSBytes)})
	f2 := NewFetcher(FetcherConfig{Client: is.srv.Client()})
	if _, err := f2.Key(ctx, is.srv.URL, "k1"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized JWKS: %v", err)
	}
}

func TestCacheTTL(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"": time.Hour, "max-age=5": time.Minute, "public, max-age=600": 10 * time.Minute, "max-age=999999": 24 * time.Hour, "max-age=x": time.Hour,
	} {
		if got := cacheTTL(cc); got != want {
			t.Errorf("cacheTTL(%q) = %v, want %v", cc, got, want)
		}
	}
}

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
