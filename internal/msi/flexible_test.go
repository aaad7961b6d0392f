package msi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

const (
	teamIssuer  = "https://ward.example/issuers/c1"
	teamPattern = "claims['sub'] matches 'system:serviceaccount:team-*:*'"
)

func withIdentity(t *testing.T, cfg Config) (*Service, storage.IdentityRef) {
	t.Helper()
	st := wardtest.NewStore(t)
	groups := resources.New(resources.Config{Store: st})
	cfg.Resources = groups
	cfg.Store = st
	svc := New(cfg)
	ctx := context.Background()
	if _, _, err := groups.PutGroup(ctx, sub, "rg", resources.GroupSpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	ref := storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "app"}
	if _, _, err := svc.PutIdentity(ctx, ref, IdentitySpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	return svc, ref
}

func TestFlexibleCredentialValidation(t *testing.T) {
	aud := []string{"api://AzureADTokenExchange"}
	expr := func(v string, ver int) *Expression { return &Expression{Value: v, LanguageVersion: ver} }
	for _, tc := range []struct {
		name string
		spec FederatedCredentialSpec
		want string // "" accepted, else in the message
	}{
		{"expression", FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Expression: expr(teamPattern, 1)}, ""},
		{"expression and subject", FederatedCredentialSpec{Issuer: teamIssuer, Subject: "s", Audiences: aud, Expression: expr(teamPattern, 1)}, "but not both"},
		{"neither", FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud}, "subject is required"},
		{"language version 2", FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Expression: expr(teamPattern, 2)}, "languageVersion '2' is invalid"},
		{"language version missing", FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Expression: expr(teamPattern, 0)}, "languageVersion '0' is invalid"},
		{"or", FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Expression: expr("claims['sub'] eq 'a' or claims['sub'] eq 'b'", 1)}, "or, not and parentheses are not supported"},
		{"regex", FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Expression: expr("claims['sub'] regex 'a.*'", 1)}, "operator 'regex' is not supported"},
		{"unknown claim", FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Expression: expr("claims['aud'] eq 'a'", 1)}, "claim 'aud' is not supported"},
		{"wildcard issuer with an expression", FederatedCredentialSpec{Issuer: "https://*.example", Audiences: aud, Expression: expr(teamPattern, 1)}, "wildcard"},
		{"wildcard subject without an expression", FederatedCredentialSpec{Issuer: teamIssuer, Subject: "system:serviceaccount:team-*:*", Audiences: aud}, "wildcard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateFederatedCredential("fic", tc.spec)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("%+v: %v", tc.spec, err)
			case tc.want != "" && (code(err) != armerr.CodeBadRequest || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("%+v: %v; want %s with %q", tc.spec, err, armerr.CodeBadRequest, tc.want)
			}
		})
	}
}

// TestFederatedCredentialCap: the cap is Entra's 20 by default and
// configurable; flexible credentials count like plain ones, and the same
// expression twice for one issuer is refused like the same subject twice.
func TestFederatedCredentialCap(t *testing.T) {
	ctx := context.Background()
	aud := []string{"api://AzureADTokenExchange"}
	for _, tc := range []struct {
		name string
		cfg  Config
		max  int
	}{{"default", Config{}, 20}, {"raised", Config{MaxFederatedCredentials: 25}, 25}} {
		t.Run(tc.name, func(t *testing.T) {
			svc, ref := withIdentity(t, tc.cfg)
			for i := range tc.max {
				spec := FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Expression: &Expression{fmt.Sprintf("claims['sub'] matches 'ns-%d:*'", i), 1}}
				if i%2 == 0 {
					spec = FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Subject: fmt.Sprintf("s-%d", i)}
				}
				if _, _, err := svc.PutFederatedCredential(ctx, ref, fmt.Sprintf("fic-%d", i), spec); err != nil {
					t.Fatalf("credential %d of %d: %v", i+1, tc.max, err)
				}
			}
			_, _, err := svc.PutFederatedCredential(ctx, ref, "one-more", FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Subject: "x"})
			if code(err) != armerr.CodeBadRequest || !strings.Contains(err.Error(), fmt.Sprintf("already has %d federated identity credentials", tc.max)) {
				t.Fatalf("credential %d: %v; want the cap refused", tc.max+1, err)
			}
			// Replacing one is not adding one.
			if _, _, err := svc.PutFederatedCredential(ctx, ref, "fic-1", FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Expression: &Expression{teamPattern, 1}}); err != nil {
				t.Fatalf("replace under the cap: %v", err)
			}
			_, _, err = svc.PutFederatedCredential(ctx, ref, "fic-3", FederatedCredentialSpec{Issuer: teamIssuer, Audiences: aud, Expression: &Expression{teamPattern, 1}})
			if code(err) != armerr.CodeBadRequest || !strings.Contains(err.Error(), "Issuer and claimsMatchingExpression combination already exists") {
				t.Fatalf("same expression twice: %v", err)
			}
			got, err := svc.FederatedCredential(ctx, ref, "fic-1")
			if err != nil || got.Subject != "" || got.Expression != teamPattern || got.ExpressionVersion != 1 {
				t.Fatalf("read back %+v, %v", got, err)
			}
		})
	}
}
