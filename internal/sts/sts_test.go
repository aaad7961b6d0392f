package sts

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/clientsecret"
	"github.com/ward-id/ward/internal/federation"
	"github.com/ward-id/ward/internal/shellquote/shellquotetest"
	"github.com/ward-id/ward/internal/signer"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

const (
	tenant  = wardtest.TenantID
	sub     = wardtest.SubscriptionID
	appID   = "33333333-3333-3333-3333-333333333333"
	miID    = "55555555-5555-5555-5555-555555555555"
	issuer  = "https://issuer.example.com/cluster-1/"
	subject = "system:serviceaccount:default:app-sa"
)

// staticIssuer is an in-process KeySource: the way Ward's own hosted
// issuers resolve keys without HTTP.
type staticIssuer struct{ keys map[string]*jose.JSONWebKey }

func (s staticIssuer) Key(_ context.Context, iss, kid string) (*jose.JSONWebKey, error) {
	if iss != issuer {
		return nil, errors.New("unknown issuer")
	}
	if k, ok := s.keys[kid]; ok {
		return k, nil
	}
	return nil, federation.ErrKeyNotFound
}

type env struct {
	svc    *Service
	store  *wardtest.Store
	now    time.Time
	secret string
	rsaKey *rsa.PrivateKey
	ecKey  *ecdsa.PrivateKey
}

func newEnv(tb testing.TB, alg jose.SignatureAlgorithm) *env {
	tb.Helper()
	ctx := context.Background()
	st := wardtest.NewStore(tb)
	e := &env{now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), store: st}
	clock := func() time.Time { return e.now }
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(st.CreateServicePrincipal(ctx, storage.ServicePrincipal{ObjectID: "44444444-4444-4444-4444-444444444444", AppID: appID, TenantID: tenant}))
	var hint string
	e.secret, hint = clientsecret.Generate()
	must(st.AddClientSecret(ctx, clientsecret.New("k1", appID, "test", e.secret, hint, e.now, e.now.Add(time.Hour))))
	_, err := st.PutResourceGroup(ctx, storage.ResourceGroup{SubscriptionID: sub, Name: "rg", Location: "westeurope"})
	must(err)
	id := storage.Identity{SubscriptionID: sub, ResourceGroup: "rg", Name: "app", Location: "westeurope", TenantID: tenant,
		ClientID: miID, PrincipalID: "66666666-6666-6666-6666-666666666666", IsolationScope: "None"}
	must(st.CreateIdentity(ctx, id))
	_, err = st.PutFederatedCredential(ctx, storage.FederatedCredential{Identity: id.Ref(), Name: "k8s", Issuer: issuer, Subject: subject,
		Audiences: []string{"api://AzureADTokenExchange"}}, nil)
	must(err)
	keys, err := signer.New(ctx, signer.Config{Store: st, KEK: bytes.Repeat([]byte{3}, 32), Alg: alg, Now: clock})
	must(err)
	e.rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	e.ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	src := staticIssuer{keys: map[string]*jose.JSONWebKey{
		"r": {Key: &e.rsaKey.PublicKey, KeyID: "r", Algorithm: "RS256"},
		"e": {Key: &e.ecKey.PublicKey, KeyID: "e", Algorithm: "ES256"},
	}}
	e.svc = New(Config{Store: st, Keys: keys, Issuers: src, TenantID: tenant, PublicURL: "https://ward.test", Now: clock})
	return e
}

func (e *env) assertion(tb testing.TB, alg jose.SignatureAlgorithm) string {
	var key crypto.Signer = e.rsaKey
	kid := "r"
	if alg == jose.ES256 {
		key, kid = e.ecKey, "e"
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(jwt.Claims{Issuer: issuer, Subject: subject, Audience: jwt.Audience{"api://AzureADTokenExchange"},
		IssuedAt: jwt.NewNumericDate(e.now), Expiry: jwt.NewNumericDate(e.now.Add(time.Hour))}).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func federatedRequest(assertion string) TokenRequest {
	return TokenRequest{Tenant: tenant, Form: formOf(federatedForm(assertion))}
}

func federatedForm(assertion string) url.Values {
	return url.Values{
		"grant_type": {"client_credentials"}, "client_id": {miID}, "client_info": {"1"},
		"scope":                 {"https://management.azure.com/.default openid offline_access profile"},
		"client_assertion_type": {AssertionTypeJWTBearer}, "client_assertion": {assertion},
	}
}

// formOf is v as the token endpoint reads it off the wire.
func formOf(v url.Values) Form {
	f, err := ParseForm(v.Encode())
	if err != nil {
		panic(err)
	}
	return f
}

func code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return -1
}

func TestSecretExpiry(t *testing.T) {
	e := newEnv(t, jose.RS256)
	req := TokenRequest{Tenant: tenant, Form: formOf(url.Values{"grant_type": {"client_credentials"}, "client_id": {appID},
		"client_secret": {e.secret}, "scope": {"https://vault.azure.net/.default"}})}
	resp, err := e.svc.Token(context.Background(), req)
	if err != nil || resp.ExpiresIn != 3600 || resp.RefreshIn != 0 {
		t.Fatalf("fresh secret: %+v %v", resp, err)
	}
	e.now = e.now.Add(2 * time.Hour)
	_, err = e.svc.Token(context.Background(), req)
	if code(err) != CodeExpiredSecret || !strings.Contains(err.Error(), "credential reset") {
		t.Fatalf("expired secret: %v", err)
	}
	// The message ends with the command that makes a new secret, one that
	// runs as written.
	var te *Error
	errors.As(err, &te)
	_, cmd, ok := strings.Cut(te.Message, "Create a new secret with: ")
	if !ok {
		t.Fatalf("expired secret: %q names no command", te.Message)
	}
	shellquotetest.Args(t, cmd, []string{"ward", "ad", "sp", "credential", "reset", "--id", appID}, "ward")
}

func TestFederatedExchangeAndLifetime(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256} {
		t.Run(string(alg), func(t *testing.T) {
			e := newEnv(t, alg)
			resp, err := e.svc.Token(context.Background(), federatedRequest(e.assertion(t, alg)))
			if err != nil {
				t.Fatal(err)
			}
			if resp.ExpiresIn != 86400 || resp.RefreshIn != 43200 || resp.TokenType != "Bearer" {
				t.Fatalf("response = %+v", resp)
			}
			tok, err := jwt.ParseSigned(resp.AccessToken, []jose.SignatureAlgorithm{alg})
			if err != nil {
				t.Fatal(err)
			}
			k, _ := e.svc.keys.Lookup(tok.Headers[0].KeyID)
			var c accessClaims
			if err := tok.Claims(k.Private.Public(), &c); err != nil {
				t.Fatal(err)
			}
			if c.Aud != "https://management.azure.com" || c.XmsMirid == "" || c.AppID != miID || c.Ver != "1.0" || c.Iss != "https://ward.test/"+tenant+"/" {
				t.Fatalf("claims = %+v", c)
			}
			if alg == jose.RS256 && tok.Headers[0].ExtraHeaders["x5t"] == nil {
				t.Fatal("v1 token header lacks x5t")
			}
		})
	}
}

func TestMatchFederatedHints(t *testing.T) {
	fics := []storage.FederatedCredential{{Name: "a", Issuer: "https://i.example/x/", Subject: "system:serviceaccount:ns:app-sa", Audiences: []string{"api://AzureADTokenExchange"}}}
	cases := []struct {
		iss, sub, aud string
		code          int
		hint          string
	}{
		{"https://i.example/x/", "system:serviceaccount:ns:app-sa", "api://AzureADTokenExchange", 0, ""},
		{"https://i.example/x", "system:serviceaccount:ns:app-sa", "api://AzureADTokenExchange", CodeNoMatchingIssuer, "trailing slash"},
		{"https://I.example/x/", "system:serviceaccount:ns:app-sa", "api://AzureADTokenExchange", CodeNoMatchingIssuer, "letter case"},
		{"https://i.example/x/", "system:serviceaccount:ns:app", "api://AzureADTokenExchange", CodeNoMatchingSubject, "3 character(s) apart"},
		{"https://i.example/x/", "totally-different", "api://AzureADTokenExchange", CodeNoMatchingSubject, "subject(s) 'system:serviceaccount:ns:app-sa'"},
		{"https://i.example/x/", "system:serviceaccount:ns:app-sa", "x", CodeNoMatchingAudience, "expects audience 'api://AzureADTokenExchange'"},
	}
	for _, tc := range cases {
		matched, err := matchFederated(fics, tc.iss, tc.sub, []string{tc.aud})
		if tc.code == 0 {
			if err != nil || matched.Subject != tc.sub {
				t.Errorf("%+v: matched %+v, %v", tc, matched, err)
			}
			continue
		}
		if code(err) != tc.code || !strings.Contains(err.Message, tc.hint) {
			t.Errorf("%s/%s/%s: %v, want AADSTS%d with %q", tc.iss, tc.sub, tc.aud, err, tc.code, tc.hint)
		}
		// The hint is for the sign-in log; the caller's text is Entra's.
		if !strings.HasPrefix(err.Message, err.Public) || strings.Contains(err.Public, tc.hint) || strings.Contains(err.Public, "Ward") {
			t.Errorf("%s/%s/%s: public text %q carries the hint", tc.iss, tc.sub, tc.aud, err.Public)
		}
	}
	if _, err := matchFederated(nil, "i", "s", []string{"a"}); code(err) != CodeNoMatchingFederation ||
		err.Public != "No matching federated identity record found for presented assertion. Assertion Issuer: 'i'. Assertion Subject: 's'. Assertion Audience: 'a'. "+ficDocsLegacy {
		t.Errorf("no credentials: %v / %q", err, err.Public)
	}
}

func TestRequestedResource(t *testing.T) {
	cases := []struct {
		scope, want string
		code        int
	}{
		{"https://management.azure.com/.default", "https://management.azure.com", 0},
		{"https://management.azure.com//.default openid profile offline_access", "https://management.azure.com/", 0},
		{"api://my-app/.default", "api://my-app", 0},
		{"openid", "", CodeInvalidScope},
		{"https://x/read", "", CodeScopeWithoutDefault},
		{"/.default", "", CodeInvalidScope},
	}
	for _, tc := range cases {
		got, err := requestedResource(TokenRequest{Form: formOf(url.Values{"scope": {tc.scope}})})
		if got != tc.want || (tc.code != 0 && code(err) != tc.code) || (tc.code == 0 && err != nil) {
			t.Errorf("scope %q: %q %v, want %q AADSTS%d", tc.scope, got, err, tc.want, tc.code)
		}
	}
}

func FuzzParseForm(f *testing.F) {
	f.Add("grant_type=client_credentials&client_id=a&scope=https%3A%2F%2Fx%2F.default")
	f.Add("a=1&a=2")
	f.Add("%zz")
	f.Add("a=x+y%20z&&b=&c")
	f.Add("a;b=1")
	// Past the parameters a Form holds in place: a repeat among them, and
	// one of an early name.
	f.Add("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&k=13")
	f.Add("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&a=13")
	f.Fuzz(func(t *testing.T, body string) {
		v, err := ParseForm(body)
		// The same answer as the standard library's parser, but for the
		// refusal of a repeated parameter.
		want, werr := url.ParseQuery(body)
		repeated := false
		for _, vals := range want {
			repeated = repeated || len(vals) > 1
		}
		if (err != nil) != (werr != nil || repeated) {
			t.Fatalf("ParseForm(%q) error %v; url.ParseQuery error %v, repeated %v", body, err, werr, repeated)
		}
		if err != nil {
			return
		}
		if v.Len() != len(want) {
			t.Fatalf("ParseForm(%q) has %d parameters, url.ParseQuery %d: %v", body, v.Len(), len(want), want)
		}
		for k, vals := range want {
			if v.Get(k) != vals[0] {
				t.Fatalf("ParseForm(%q)[%q] = %q, url.ParseQuery: %q", body, k, v.Get(k), vals[0])
			}
		}
		_, _ = requestedResource(TokenRequest{Form: v})
	})
}

// benchmarkExchange measures the whole federated exchange in-process:
// parse and verify the assertion, find the identity and match its
// credential (SQLite reads), mint, sign and marshal the access token.
func benchmarkExchange(b *testing.B, alg jose.SignatureAlgorithm) {
	e := newEnv(b, alg)
	req := federatedRequest(e.assertion(b, alg))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.svc.Token(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFederatedExchangeRS256(b *testing.B) { benchmarkExchange(b, jose.RS256) }
func BenchmarkFederatedExchangeES256(b *testing.B) { benchmarkExchange(b, jose.ES256) }

// TestCredentialCacheBounds: a change made behind the cache's back (by
// another replica) applies within credentialTTL; Invalidate applies it now.
func TestCredentialCacheBounds(t *testing.T) {
	e := newEnv(t, jose.ES256)
	ctx := context.Background()
	if _, err := e.svc.Token(ctx, federatedRequest(e.assertion(t, jose.ES256))); err != nil {
		t.Fatal(err)
	}
	ref := storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "app"}
	if err := e.svc.store.DeleteFederatedCredential(ctx, ref, "k8s"); err != nil {
		t.Fatal(err)
	}
	// Within the TTL the cached credential may still be used...
	e.now = e.now.Add(credentialTTL / 2)
	if _, err := e.svc.Token(ctx, federatedRequest(e.assertion(t, jose.ES256))); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	// ...never after it.
	e.now = e.now.Add(credentialTTL)
	if _, err := e.svc.Token(ctx, federatedRequest(e.assertion(t, jose.ES256))); code(err) != CodeNoMatchingFederation {
		t.Fatalf("after the TTL: %v, want AADSTS70021", err)
	}
	// Invalidate takes effect at once, in both directions.
	_, err := e.svc.store.PutFederatedCredential(ctx, storage.FederatedCredential{Identity: ref, Name: "k8s", Issuer: issuer, Subject: subject, Audiences: []string{"api://AzureADTokenExchange"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Invalidate()
	if _, err := e.svc.Token(ctx, federatedRequest(e.assertion(t, jose.ES256))); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.store.DeleteFederatedCredential(ctx, ref, "k8s"); err != nil {
		t.Fatal(err)
	}
	e.svc.Invalidate()
	if _, err := e.svc.Token(ctx, federatedRequest(e.assertion(t, jose.ES256))); code(err) != CodeNoMatchingFederation {
		t.Fatalf("after Invalidate: %v", err)
	}
}

// TestAbsentIdentityRemembered: a client ID that is no managed identity's
// (a service principal's) is looked up in the database once, not on every
// client-secret grant; an identity write (Invalidate) forgets it.
func TestAbsentIdentityRemembered(t *testing.T) {
	e := newEnv(t, jose.RS256)
	ctx := context.Background()
	grant := func() {
		t.Helper()
		req := TokenRequest{Tenant: tenant, Form: formOf(url.Values{"grant_type": {"client_credentials"}, "client_id": {appID},
			"client_secret": {e.secret}, "scope": {"https://management.azure.com/.default"}})}
		if _, err := e.svc.Token(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	grant()
	grant()
	grant()
	if n := e.store.Calls("GetIdentityByClientID"); n != 1 {
		t.Fatalf("three grants read the identity table %d times, want 1", n)
	}
	e.svc.Invalidate()
	grant()
	if n := e.store.Calls("GetIdentityByClientID"); n != 2 {
		t.Fatalf("after Invalidate: %d identity reads, want 2", n)
	}
}

// TestTokensNameTheirCredential checks that every token names the very
// credential it was issued for (what a console session is bound to), and
// that token reuse never hands a token named for one secret to a client
// that presented another.
func TestTokensNameTheirCredential(t *testing.T) {
	e := newEnv(t, jose.RS256)
	ctx := context.Background()
	second, hint := clientsecret.Generate()
	if err := e.store.AddClientSecret(ctx, clientsecret.New("k2", appID, "second", second, hint, e.now, e.now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	credOf := func(t *testing.T, req TokenRequest) string {
		t.Helper()
		resp, err := e.svc.Token(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.ParseSigned(resp.AccessToken, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		k, _ := e.svc.keys.Lookup(tok.Headers[0].KeyID)
		var c map[string]any
		if err := tok.Claims(k.Private.Public(), &c); err != nil {
			t.Fatal(err)
		}
		s, _ := c[authn.ClaimCredential].(string)
		return s
	}
	secretReq := func(secret string) TokenRequest {
		return TokenRequest{Tenant: tenant, Form: formOf(url.Values{"grant_type": {"client_credentials"}, "client_id": {appID},
			"client_secret": {secret}, "scope": {"https://management.azure.com/.default"}})}
	}
	cases := []struct {
		name string
		req  TokenRequest
		want string
	}{
		{"first secret", secretReq(e.secret), authn.SecretCredential("k1")},
		{"second secret, same principal and resource", secretReq(second), authn.SecretCredential("k2")},
		{"first secret again", secretReq(e.secret), authn.SecretCredential("k1")},
		{"federated", federatedRequest(e.assertion(t, jose.RS256)), authn.FederatedCredential("k8s", issuer, subject)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := credOf(t, tc.req); got != tc.want {
				t.Errorf("%s = %q, want %q", authn.ClaimCredential, got, tc.want)
			}
		})
	}
	if kind, name, ok := authn.CredentialRef(authn.FederatedCredential("k8s", issuer, subject)); !ok || kind != authn.CredentialFederated || name != "k8s" {
		t.Errorf("CredentialRef(federated) = %q %q %v", kind, name, ok)
	}
}

func TestEvict(t *testing.T) {
	const max = 1000
	for _, c := range []struct {
		name string
		size int
		want int
	}{
		{"below the bound", max - 1, max - 1},
		{"full", max, max - evictBatch},
		{"empty", 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := map[int]bool{}
			for i := 0; i < c.size; i++ {
				m[i] = true
			}
			evict(m, max)
			if len(m) != c.want {
				t.Errorf("%d entries after evict, want %d (a bounded batch, not all)", len(m), c.want)
			}
		})
	}
	// A full reuse cache keeps serving what it holds while it takes more.
	rc := newReuseCache(time.Hour)
	now := time.Now()
	for i := 0; i < maxReusable+10; i++ {
		rc.put(reuseKey{principal: fmt.Sprint(i)}, reusable{token: "t", issued: now, expires: now.Add(24 * time.Hour)})
	}
	if n := len(rc.tokens); n > maxReusable || n < maxReusable-2*evictBatch {
		t.Errorf("reuse cache holds %d after %d puts, want about %d", n, maxReusable+10, maxReusable)
	}
	if _, ok := rc.get(reuseKey{principal: fmt.Sprint(maxReusable + 9)}, now); !ok {
		t.Error("the newest token is not served from a full cache")
	}
}
