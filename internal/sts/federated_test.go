package sts

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/ward-id/ward/internal/federation"
	"github.com/ward-id/ward/internal/storage"
)

// signIns records sign-ins in memory.
type signIns struct {
	mu  sync.Mutex
	all []storage.SignIn
}

func (s *signIns) Record(r storage.SignIn) { s.mu.Lock(); s.all = append(s.all, r); s.mu.Unlock() }

func (s *signIns) last(t *testing.T) storage.SignIn {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 {
		t.Fatal("no sign-in recorded")
	}
	return s.all[len(s.all)-1]
}

func signWith(t *testing.T, key *rsa.PrivateKey, kid string, c jwt.Claims) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestMismatchExplainedOnlyToTrustedIssuerTokens: what would have matched
// is told to a caller whose assertion is a valid token of an issuer the
// identity trusts, and otherwise only to the sign-in log; everyone else
// gets Entra's plain text, naming none of the identity's issuers or
// subjects.
func TestMismatchExplainedOnlyToTrustedIssuerTokens(t *testing.T) {
	e := newEnv(t, jose.RS256)
	log := &signIns{}
	e.svc.signIns = log
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	valid := jwt.Claims{Issuer: issuer, Subject: subject, Audience: jwt.Audience{"api://AzureADTokenExchange"},
		IssuedAt: jwt.NewNumericDate(e.now), Expiry: jwt.NewNumericDate(e.now.Add(time.Hour))}
	with := func(f func(c *jwt.Claims)) jwt.Claims { c := valid; f(&c); return c }
	wrongSub := with(func(c *jwt.Claims) { c.Subject = "system:serviceaccount:default:app" })
	noneTok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"r"}`)) + "." + strings.Split(signWith(t, e.rsaKey, "r", wrongSub), ".")[1] + "."

	cases := []struct {
		name, assertion string
		code            int
		public          string   // in what the caller gets
		explained       bool     // the caller also gets the explanation
		logged          []string // in the sign-in log
	}{
		{"forged signature, right issuer, wrong subject", signWith(t, other, "r", wrongSub), CodeNoMatchingSubject,
			"No matching federated identity record found for presented assertion subject 'system:serviceaccount:default:app'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. " + ficDocs,
			false, []string{"Ward: the identity has a credential for subject '" + subject + "'"}},
		{"unknown kid, right issuer, wrong subject", signWith(t, e.rsaKey, "nope", wrongSub), CodeNoMatchingSubject, "presented assertion subject", false, []string{subject}},
		{"forged signature, right issuer and subject, wrong audience", signWith(t, other, "r", with(func(c *jwt.Claims) { c.Audience = jwt.Audience{"api://x"} })), CodeNoMatchingAudience,
			"No matching federated identity record found for presented assertion audience 'api://x'.", false, []string{"expects audience 'api://AzureADTokenExchange'"}},
		{"untrusted issuer", signWith(t, other, "r", with(func(c *jwt.Claims) { c.Issuer = "https://evil.example.com" })), CodeNoMatchingIssuer,
			"No matching federated identity record found for presented assertion issuer 'https://evil.example.com'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. " + ficDocs,
			false, []string{"trusts these issuers: '" + issuer + "'"}},
		// Signed with the trusted issuer's key, but the issuer is not named
		// exactly: the explanation is for the sign-in log and ward doctor.
		{"trusted key, issuer without its trailing slash", signWith(t, e.rsaKey, "r", with(func(c *jwt.Claims) { c.Issuer = strings.TrimSuffix(issuer, "/") })), CodeNoMatchingIssuer,
			"presented assertion issuer 'https://issuer.example.com/cluster-1'", false, []string{"differs only by a trailing slash"}},
		{"expired token of the trusted issuer, wrong subject", signWith(t, e.rsaKey, "r", with(func(c *jwt.Claims) {
			c.Subject, c.Expiry = "x", jwt.NewNumericDate(e.now.Add(-time.Hour))
		})), CodeNoMatchingSubject, "presented assertion subject 'x'", false, []string{subject}},
		{"valid token of the trusted issuer, wrong subject", signWith(t, e.rsaKey, "r", wrongSub), CodeNoMatchingSubject,
			"presented assertion subject 'system:serviceaccount:default:app'", true, []string{"3 character(s) apart"}},
		{"valid token of the trusted issuer, wrong audience", signWith(t, e.rsaKey, "r", with(func(c *jwt.Claims) { c.Audience = jwt.Audience{"api://x"} })), CodeNoMatchingAudience,
			"presented assertion audience 'api://x'", true, []string{"expects audience 'api://AzureADTokenExchange'"}},
		{"unsigned", noneTok, CodeInvalidSignature, "'none'", false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Token(context.Background(), federatedRequest(tc.assertion))
			var te *Error
			if !errors.As(err, &te) || te.Code != tc.code {
				t.Fatalf("error %v, want AADSTS%d", err, tc.code)
			}
			got := te.description()
			if !strings.Contains(got, tc.public) {
				t.Fatalf("caller gets %q, want it to contain %q", got, tc.public)
			}
			if has := strings.Contains(got, "Ward:"); has != tc.explained {
				t.Fatalf("caller gets %q: explanation shown = %v, want %v", got, has, tc.explained)
			}
			if !tc.explained && (strings.Contains(got, subject) || strings.Contains(got, issuer) || strings.Contains(got, "AzureADTokenExchange")) {
				t.Fatalf("caller gets %q, which names the identity's issuer, subject or audience", got)
			}
			rec := log.last(t)
			for _, want := range tc.logged {
				if !strings.Contains(rec.Reason, want) {
					t.Errorf("sign-in reason %q lacks %q", rec.Reason, want)
				}
			}
			if rec.ErrorCode != tc.code || rec.Result != "failure" {
				t.Errorf("sign-in %+v, want failure AADSTS%d", rec, tc.code)
			}
			// The record's issuer and subject are vouched for (and a fix
			// may trust them) exactly when the caller proved a trusted
			// issuer's token.
			if rec.Verified != tc.explained {
				t.Errorf("sign-in Verified = %v, want %v (iss %q, sub %q)", rec.Verified, tc.explained, rec.Issuer, rec.Subject)
			}
		})
	}
	if _, err := e.svc.Token(context.Background(), federatedRequest(signWith(t, e.rsaKey, "r", valid))); err != nil {
		t.Fatalf("valid assertion: %v", err)
	}
	if rec := log.last(t); rec.Result != "success" || !rec.Verified {
		t.Errorf("a matching, verified assertion is recorded as %+v, want success and Verified", rec)
	}

	// On the wire, through the handler: Entra's shape with the plain text.
	srv := httptest.NewServer(NewHandler(HandlerConfig{Svc: e.svc}))
	t.Cleanup(srv.Close)
	resp, err := http.PostForm(srv.URL+"/"+tenant+"/oauth2/v2.0/token", federatedForm(signWith(t, other, "r", wrongSub)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		ErrorDescription string `json:"error_description"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(body.ErrorDescription, "AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:default:app'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. "+ficDocs+"\r\nTrace ID: ") {
		t.Fatalf("HTTP %d %q", resp.StatusCode, body.ErrorDescription)
	}
}

// TestIssuerFetchErrorsAreClassified: an unreachable or refused issuer is
// reported to the caller in classified words; the sign-in log keeps the
// cause.
func TestIssuerFetchErrorsAreClassified(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "https://" + l.Addr().String()
	l.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name            string
		cfg             federation.FetcherConfig
		public, logged  string
		mustNotBePublic string
	}{
		{"not reachable", federation.FetcherConfig{AllowLoopback: true, Timeout: 2 * time.Second},
			"Request to External OIDC endpoint failed: issuer '" + down + "' is not reachable; Ward tries the issuer again in 1s.", "connection refused", "connection refused"},
		{"loopback refused", federation.FetcherConfig{},
			"Request to External OIDC endpoint failed: issuer '" + down + "' is refused: its host is a loopback address, which Ward does not fetch keys from unless the server is started with --allow-loopback-issuers.", "loopback", "dial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, jose.RS256)
			log := &signIns{}
			e.svc.signIns, e.svc.issuers = log, federation.NewFetcher(tc.cfg)
			ref := storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "app"}
			if _, err := e.svc.store.PutFederatedCredential(ctx, storage.FederatedCredential{Identity: ref, Name: "local", Issuer: down, Subject: subject,
				Audiences: []string{"api://AzureADTokenExchange"}}, nil); err != nil {
				t.Fatal(err)
			}
			e.svc.Invalidate()
			tok := signWith(t, e.rsaKey, "r", jwt.Claims{Issuer: down, Subject: subject, Audience: jwt.Audience{"api://AzureADTokenExchange"},
				IssuedAt: jwt.NewNumericDate(time.Now()), Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))})
			e.now = time.Now()
			_, err := e.svc.Token(ctx, federatedRequest(tok))
			var te *Error
			if !errors.As(err, &te) || te.Code != CodeExternalOIDCFailed {
				t.Fatalf("error %v, want AADSTS%d", err, CodeExternalOIDCFailed)
			}
			if got := te.description(); got != tc.public || strings.Contains(got, tc.mustNotBePublic) {
				t.Fatalf("caller gets %q, want %q", got, tc.public)
			}
			if rec := log.last(t); !strings.Contains(rec.Reason, tc.logged) {
				t.Fatalf("sign-in reason %q lacks %q", rec.Reason, tc.logged)
			}
		})
	}
}
