package sts

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ward-id/ward/internal/claimsexpr"
	"github.com/ward-id/ward/internal/storage"
)

// ficIndex is an identity's federated credentials arranged for the lookup
// of every exchange: plain credentials by exact (issuer, subject), one map
// read whatever their number; flexible ones (claims matching expressions)
// parsed once, by issuer, so that an exchange evaluates only the
// expressions of its own issuer, and only when no plain credential
// matched.
type ficIndex struct {
	all      []storage.FederatedCredential
	exact    map[issuerSubject][]int
	flexible map[string][]flexibleFIC
	issuers  map[string]bool
}

type issuerSubject struct{ issuer, subject string }

type flexibleFIC struct {
	i    int // in all
	expr *claimsexpr.Expr
}

// maxExplained bounds how many flexible credentials a refusal explains
// clause by clause; the rest are counted.
const maxExplained = 3

func newFICIndex(fics []storage.FederatedCredential) *ficIndex {
	x := &ficIndex{all: fics, exact: map[issuerSubject][]int{}, flexible: map[string][]flexibleFIC{}, issuers: map[string]bool{}}
	for i, f := range fics {
		x.issuers[f.Issuer] = true
		if f.Expression == "" {
			k := issuerSubject{f.Issuer, f.Subject}
			x.exact[k] = append(x.exact[k], i)
			continue
		}
		// The resource provider refused invalid expressions; one that no
		// longer parses (written by a newer Ward) matches nothing.
		if e, err := claimsexpr.ParseVersion(f.Expression, f.ExpressionVersion); err == nil {
			x.flexible[f.Issuer] = append(x.flexible[f.Issuer], flexibleFIC{i, e})
		}
	}
	return x
}

// trusts reports whether a credential names issuer iss exactly.
func (x *ficIndex) trusts(iss string) bool { return x.issuers[iss] }

// subjectClaims is a claim source with only sub, for callers that know no
// more of the token.
func subjectClaims(sub string) claimsexpr.ClaimSource {
	return func(name string) (string, bool) {
		if name == "sub" {
			return sub, sub != ""
		}
		return "", false
	}
}

// match finds the credential that accepts a token of issuer iss, subject
// sub, other claims from claims and audiences aud: a plain credential equal
// to (iss, sub, one of aud) first, then a flexible credential of iss whose
// expression holds and whose audience is one of aud. On a miss it returns
// Entra's error (Public) with, in Message, what did not match and what
// would have, from this identity's credentials only.
func (x *ficIndex) match(iss, sub string, claims claimsexpr.ClaimSource, aud []string) (*storage.FederatedCredential, *Error) {
	hasAud := func(f *storage.FederatedCredential) bool {
		return slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(f.Audiences, a) })
	}
	for _, i := range x.exact[issuerSubject{iss, sub}] {
		if hasAud(&x.all[i]) {
			return &x.all[i], nil
		}
	}
	for _, f := range x.flexible[iss] {
		if c := &x.all[f.i]; hasAud(c) && f.expr.Match(claims) {
			return c, nil
		}
	}
	return nil, x.miss(iss, sub, claims, aud)
}

func (x *ficIndex) miss(iss, sub string, claims claimsexpr.ClaimSource, aud []string) *Error {
	miss := func(code int, plain, why string) *Error {
		e := newErr(http.StatusUnauthorized, errInvalidClient, code, "%s %s", plain, why)
		e.Public = plain
		return e
	}
	if len(x.all) == 0 {
		return miss(CodeNoMatchingFederation,
			fmt.Sprintf("No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'. %s", iss, sub, strings.Join(aud, ","), ficDocsLegacy),
			"Ward: the managed identity has no federated identity credentials: create one with 'ward identity federated-credential create'.")
	}
	if !x.trusts(iss) {
		return miss(CodeNoMatchingIssuer,
			fmt.Sprintf("No matching federated identity record found for presented assertion issuer '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. %s", iss, ficDocs),
			nearestIssuer(x.all, iss))
	}
	// The credentials of this issuer that accept the token's subject (or
	// claims): if there are any, only the audience is wrong.
	var plain, accepting []storage.FederatedCredential
	for _, i := range x.exact[issuerSubject{iss, sub}] {
		accepting = append(accepting, x.all[i])
	}
	for _, f := range x.flexible[iss] {
		if f.expr.Match(claims) {
			accepting = append(accepting, x.all[f.i])
		}
	}
	if len(accepting) > 0 {
		var want []string
		for _, f := range accepting {
			want = append(want, f.Audiences...)
		}
		return miss(CodeNoMatchingAudience,
			fmt.Sprintf("No matching federated identity record found for presented assertion audience '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. %s", strings.Join(aud, ","), ficDocs),
			fmt.Sprintf("Ward: the identity's credential for this issuer and subject expects audience '%s'; request the token with that audience.", strings.Join(want, "', '")))
	}
	for _, f := range x.all {
		if f.Issuer == iss && f.Expression == "" {
			plain = append(plain, f)
		}
	}
	var why []string
	if len(plain) > 0 {
		why = append(why, subjectsFor(plain, sub))
	}
	if flex := x.flexible[iss]; len(flex) > 0 {
		why = append(why, explainFlexible(x.all, flex, claims))
	}
	return miss(CodeNoMatchingSubject,
		fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. %s", sub, ficDocs),
		strings.Join(why, " "))
}

// explainFlexible says, clause by clause, why the first flexible
// credentials of an issuer refused the token.
func explainFlexible(all []storage.FederatedCredential, flex []flexibleFIC, claims claimsexpr.ClaimSource) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Ward: no claims matching expression of this issuer holds (%d flexible credential(s)):", len(flex))
	for n, f := range flex {
		if n == maxExplained {
			fmt.Fprintf(&b, " and %d more.", len(flex)-n)
			break
		}
		fmt.Fprintf(&b, " credential '%s' (%s): %s.", all[f.i].Name, f.expr, claimsexpr.Describe(f.expr.Explain(claims)))
	}
	return b.String()
}
