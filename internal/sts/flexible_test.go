package sts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/ward-id/ward/internal/storage"
)

// signExtra signs claims c plus extra (custom claims such as GitHub's
// job_workflow_ref) with the trusted issuer's key.
func (e *env) signExtra(tb testing.TB, c jwt.Claims, extra map[string]any) string {
	tb.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: e.rsaKey}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "r"))
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(c).Claims(extra).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func (e *env) putFIC(tb testing.TB, f storage.FederatedCredential) {
	tb.Helper()
	f.Identity = storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "app"}
	if len(f.Audiences) == 0 {
		f.Audiences = []string{"api://AzureADTokenExchange"}
	}
	if _, err := e.store.PutFederatedCredential(context.Background(), f, nil); err != nil {
		tb.Fatal(err)
	}
	e.svc.Invalidate()
}

const teamPattern = "claims['sub'] matches 'system:serviceaccount:team-*:*'"

// TestFlexibleCredentials: a claims matching expression lets every token
// of its issuer whose claims satisfy it through, and nobody else; issuer
// and audience still match exactly; a refusal explains each expression
// clause by clause to a caller holding a valid token of the issuer.
func TestFlexibleCredentials(t *testing.T) {
	e := newEnv(t, jose.RS256)
	log := &signIns{}
	e.svc.signIns = log
	e.putFIC(t, storage.FederatedCredential{Name: "teams", Issuer: issuer, Expression: teamPattern, ExpressionVersion: 1})
	e.putFIC(t, storage.FederatedCredential{Name: "deploy", Issuer: issuer, ExpressionVersion: 1,
		Expression: "claims['sub'] matches 'repo:contoso/*' and claims['job_workflow_ref'] eq 'contoso/ci/.github/workflows/deploy.yml@refs/heads/main'"})
	claims := func(iss, subj, aud string) jwt.Claims {
		return jwt.Claims{Issuer: iss, Subject: subj, Audience: jwt.Audience{aud},
			IssuedAt: jwt.NewNumericDate(e.now), Expiry: jwt.NewNumericDate(e.now.Add(time.Hour))}
	}
	const exch = "api://AzureADTokenExchange"
	for _, tc := range []struct {
		name   string
		c      jwt.Claims
		extra  map[string]any
		code   int
		reason []string // in the error's full message (and the sign-in log)
	}{
		{"team-a service account", claims(issuer, "system:serviceaccount:team-a:app", exch), nil, 0, nil},
		{"team-b worker", claims(issuer, "system:serviceaccount:team-b:worker", exch), nil, 0, nil},
		{"plain credential still matches", claims(issuer, subject, exch), nil, 0, nil},
		{"outside team-*", claims(issuer, "system:serviceaccount:other:app", exch), nil, CodeNoMatchingSubject, []string{
			"credential 'teams' (" + teamPattern + "): clause 1 of 1 " + teamPattern + " does not hold: the token's sub is 'system:serviceaccount:other:app'",
			"credential 'deploy'", "the token has no string claim 'job_workflow_ref'",
			"for this issuer the identity has credentials for subject(s) '" + subject + "'"}},
		{"pattern needs a namespace and a name", claims(issuer, "system:serviceaccount:team-a", exch), nil, CodeNoMatchingSubject, []string{"the token's sub is 'system:serviceaccount:team-a'"}},
		{"right subject, wrong audience", claims(issuer, "system:serviceaccount:team-a:app", "api://x"), nil, CodeNoMatchingAudience, []string{"expects audience '" + exch + "'"}},
		{"custom claim holds", claims(issuer, "repo:contoso/app:ref:refs/heads/main", exch),
			map[string]any{"job_workflow_ref": "contoso/ci/.github/workflows/deploy.yml@refs/heads/main"}, 0, nil},
		{"custom claim differs", claims(issuer, "repo:contoso/app:ref:refs/heads/main", exch),
			map[string]any{"job_workflow_ref": "contoso/ci/.github/workflows/other.yml@refs/heads/main"}, CodeNoMatchingSubject,
			[]string{"clause 2 of 2 claims['job_workflow_ref'] eq 'contoso/ci/.github/workflows/deploy.yml@refs/heads/main' does not hold: the token's job_workflow_ref is 'contoso/ci/.github/workflows/other.yml@refs/heads/main'"}},
		{"custom claim not a string", claims(issuer, "repo:contoso/app:ref:refs/heads/main", exch),
			map[string]any{"job_workflow_ref": 7}, CodeNoMatchingSubject, []string{"the token has no string claim 'job_workflow_ref'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Token(context.Background(), federatedRequest(e.signExtra(t, tc.c, tc.extra)))
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("sub %q: %v", tc.c.Subject, err)
				}
				return
			}
			var te *Error
			if !errors.As(err, &te) || te.Code != tc.code {
				t.Fatalf("sub %q: error %v, want AADSTS%d", tc.c.Subject, err, tc.code)
			}
			// A valid token of the trusted issuer: the caller gets the
			// explanation, and so does the sign-in log.
			for _, want := range tc.reason {
				if !strings.Contains(te.description(), want) {
					t.Errorf("caller gets %q, want it to contain %q", te.description(), want)
				}
				if rec := log.last(t); !strings.Contains(rec.Reason, want) {
					t.Errorf("sign-in reason %q lacks %q", rec.Reason, want)
				}
			}
		})
	}

	// The expression of one issuer does not apply to another one's tokens.
	_, err := e.svc.Token(context.Background(), federatedRequest(e.signExtra(t, claims("https://other.example.com/", "system:serviceaccount:team-a:app", exch), nil)))
	if code(err) != CodeNoMatchingIssuer {
		t.Fatalf("another issuer's team-a token: %v, want AADSTS%d", err, CodeNoMatchingIssuer)
	}
	// A forged token (not the issuer's signature) is refused without the
	// explanation, even when the expression would hold.
	other := newEnv(t, jose.RS256).rsaKey
	forged := signWith(t, other, "r", claims(issuer, "system:serviceaccount:other:app", exch))
	_, err = e.svc.Token(context.Background(), federatedRequest(forged))
	var te *Error
	if !errors.As(err, &te) || te.Code != CodeNoMatchingSubject || strings.Contains(te.description(), "team-") {
		t.Fatalf("forged token: %v; want AADSTS%d without the identity's expressions", err, CodeNoMatchingSubject)
	}
	forged = signWith(t, other, "r", claims(issuer, "system:serviceaccount:team-a:app", exch))
	if _, err = e.svc.Token(context.Background(), federatedRequest(forged)); code(err) != CodeInvalidSignature {
		t.Fatalf("forged token matching the expression: %v, want AADSTS%d", err, CodeInvalidSignature)
	}
}

// TestFlexibleExplanationBounded: an identity with many expressions for an
// issuer explains the first few and counts the others.
func TestFlexibleExplanationBounded(t *testing.T) {
	var fics []storage.FederatedCredential
	for i := range 50 {
		fics = append(fics, storage.FederatedCredential{Name: fmt.Sprintf("p%d", i), Issuer: issuer, Audiences: []string{"a"},
			Expression: fmt.Sprintf("claims['sub'] matches 'ns-%d:*'", i), ExpressionVersion: 1})
	}
	_, err := matchFederated(fics, issuer, "x", []string{"a"})
	if code(err) != CodeNoMatchingSubject || !strings.Contains(err.Message, "(50 flexible credential(s))") ||
		!strings.Contains(err.Message, "and 47 more.") || strings.Contains(err.Message, "'p3'") {
		t.Fatalf("%v", err)
	}
	if _, err := matchFederated(fics, issuer, "ns-42:app", []string{"a"}); err != nil {
		t.Fatalf("ns-42:app: %v", err)
	}
}

// BenchmarkFederatedExchangeWithPatterns measures the in-process exchange
// (as BenchmarkFederatedExchangeRS256) for an identity with one plain
// credential, and for one that also holds 1,000 pattern credentials of the
// token's issuer: a token matched by the plain credential (one map read), a
// token that only the last pattern accepts (patterns filed by their literal
// prefix), and the worst case, patterns with a leading wildcard.
func BenchmarkFederatedExchangeWithPatterns(b *testing.B) {
	const n = 1000
	for _, c := range []struct {
		name    string
		pattern string // with %d for 0..n-1; "" for none
		subject string
	}{
		{"plain", "", subject},
		{"1000-patterns/plain-match", "claims['sub'] matches 'system:serviceaccount:team-%d:*'", subject},
		{"1000-patterns/last-pattern-matches", "claims['sub'] matches 'system:serviceaccount:team-%d:*'", fmt.Sprintf("system:serviceaccount:team-%d:app", n-1)},
		// Leading wildcards: filed by their literal suffix instead.
		{"1000-leading-wildcards/last-pattern-matches", "claims['sub'] matches '*:app-%d'", fmt.Sprintf("system:serviceaccount:x:app-%d", n-1)},
		// Wildcards at both ends leave nothing to file by: every expression
		// of the issuer is evaluated (the worst case).
		{"1000-wildcards-both-ends/last-pattern-matches", "claims['sub'] matches '*:app-%d*'", fmt.Sprintf("system:serviceaccount:x:app-%d", n-1)},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := newEnv(b, jose.RS256)
			if c.pattern != "" {
				for i := range n {
					e.putFIC(b, storage.FederatedCredential{Name: fmt.Sprintf("p-%d", i), Issuer: issuer, ExpressionVersion: 1,
						Expression: fmt.Sprintf(c.pattern, i)})
				}
			}
			tok := e.signExtra(b, jwt.Claims{Issuer: issuer, Subject: c.subject, Audience: jwt.Audience{"api://AzureADTokenExchange"},
				IssuedAt: jwt.NewNumericDate(e.now), Expiry: jwt.NewNumericDate(e.now.Add(time.Hour))}, nil)
			req := federatedRequest(tok)
			ctx := context.Background()
			if _, err := e.svc.Token(ctx, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.svc.Token(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPrefixIndexAgreesWithLinearScan: the prefix index picks exactly the
// credential a scan of every expression in order would pick.
func TestPrefixIndexAgreesWithLinearScan(t *testing.T) {
	exprs := []string{
		"claims['sub'] matches 'system:serviceaccount:team-*:*'",
		"claims['sub'] matches '*:app'",
		"claims['sub'] eq 'system:serviceaccount:team-a:app'",
		"claims['sub'] matches 'system:serviceaccount:team-a:*' and claims['sub'] matches '*:w?b'",
		"claims['job_workflow_ref'] eq 'x'",
		"claims['sub'] matches 'system:serviceaccount:?eam-b:*'",
		"claims['sub'] matches 'system:*'",
		"claims['sub'] eq 's'",
		"claims['sub'] matches '*:app'",
		"claims['sub'] matches '*team-*'",
		"claims['sub'] matches '?:app'",
		"claims['sub'] matches '*-a:web' and claims['sub'] matches 'system:*'",
	}
	subjects := []string{"system:serviceaccount:team-a:app", "system:serviceaccount:team-a:web", "system:serviceaccount:team-b:x",
		"system:serviceaccount:other:app", "system:serviceaccount:other:web", "s", "", "system:", "team-a:app", "x:app"}
	// Every ordering of the expressions that rotates the list, so that
	// each is first once.
	for r := range exprs {
		var fics []storage.FederatedCredential
		for i := range exprs {
			fics = append(fics, storage.FederatedCredential{Name: fmt.Sprint(i), Issuer: issuer, Audiences: []string{"a"},
				Expression: exprs[(i+r)%len(exprs)], ExpressionVersion: 1})
		}
		x := newFICIndex(fics)
		for _, s := range subjects {
			claims := subjectClaims(s)
			want := -1
			for _, f := range x.flexible[issuer] {
				if f.expr.Match(claims) {
					want = f.i
					break
				}
			}
			got, _ := x.match(issuer, s, claims, []string{"a"})
			switch {
			case want < 0 && got != nil:
				t.Errorf("rotation %d, sub %q: index picked %s, the scan nothing", r, s, got.Name)
			case want >= 0 && (got == nil || got.Name != fics[want].Name):
				t.Errorf("rotation %d, sub %q: index picked %v, the scan %s", r, s, got, fics[want].Name)
			}
		}
	}
}
