package sts

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/claimsexpr"
	"github.com/ward-id/ward/internal/storage"
)

// ficIndex is an identity's federated credentials arranged for the lookup
// of every exchange: plain credentials by exact (issuer, subject), one map
// read whatever their number; flexible ones (claims matching expressions)
// parsed once, by issuer, so that an exchange evaluates only the
// expressions of its own issuer, and only when no plain credential
// matched. Within an issuer, expressions whose sub clause starts (or else
// ends) with literal text are filed by that text (byPrefix): a subject
// reaches only those whose prefix it starts with (suffix it ends with), one
// map read per distinct length, so 1,000 patterns of the form ns-N:* cost a
// few map reads, not 1,000 evaluations. Only patterns with wildcards at
// both ends are evaluated one by one.
type ficIndex struct {
	all []storage.FederatedCredential
	// creds is each credential's authn.ClaimCredential value, computed
	// once rather than on every exchange (a hash and a string).
	creds    map[*storage.FederatedCredential]string
	exact    map[issuerSubject][]int
	flexible map[string][]flexibleFIC // every expression, by issuer
	byPrefix map[string]*prefixIndex  // by issuer
	issuers  map[string]bool
}

// prefixIndex files an issuer's expressions by the literal prefix their sub
// clause requires or, failing one (a leading wildcard), by the literal
// suffix; rest have neither (wildcards at both ends, or no sub clause).
type prefixIndex struct {
	prefixes, suffixes affixes
	rest               []flexibleFIC
}

// affixes files expressions by literal text of the subject's start (or
// end): a subject is looked up once per distinct length.
type affixes struct {
	lengths []int // distinct lengths, ascending
	byText  map[string][]flexibleFIC
}

func (a *affixes) add(text string, f flexibleFIC) {
	if a.byText == nil {
		a.byText = map[string][]flexibleFIC{}
	}
	if _, seen := a.byText[text]; !seen {
		if i, found := slices.BinarySearch(a.lengths, len(text)); !found {
			a.lengths = slices.Insert(a.lengths, i, len(text))
		}
	}
	a.byText[text] = append(a.byText[text], f)
}

// subAffixes returns the literal text every subject an expression accepts
// starts with and ends with: the longest over its sub clauses (eq: the whole
// comparand; matches: up to the first wildcard, from the last one).
func subAffixes(e *claimsexpr.Expr) (prefix, suffix string) {
	for _, c := range e.Clauses {
		if c.Claim != "sub" {
			continue
		}
		p, q := c.Comparand, c.Comparand
		if c.Op == claimsexpr.Matches {
			if i := strings.IndexAny(p, "*?"); i >= 0 {
				p = p[:i]
			}
			if i := strings.LastIndexAny(q, "*?"); i >= 0 {
				q = q[i+1:]
			}
		}
		if len(p) > len(prefix) {
			prefix = p
		}
		if len(q) > len(suffix) {
			suffix = q
		}
	}
	return prefix, suffix
}

func (p *prefixIndex) add(f flexibleFIC) {
	switch prefix, suffix := subAffixes(f.expr); {
	case prefix != "":
		p.prefixes.add(prefix, f)
	case suffix != "":
		p.suffixes.add(suffix, f)
	default:
		p.rest = append(p.rest, f)
	}
}

// find returns the first credential (in the identity's order) among the
// candidates for sub whose expression holds and audience fits.
func (p *prefixIndex) find(all []storage.FederatedCredential, sub string, claims claimsexpr.ClaimSource, fits func(*storage.FederatedCredential) bool) *storage.FederatedCredential {
	best := -1
	try := func(fs []flexibleFIC) {
		for _, f := range fs {
			if best >= 0 && f.i >= best {
				return // filed in order: nothing earlier follows
			}
			if fits(&all[f.i]) && f.expr.Match(claims) {
				best = f.i
				return
			}
		}
	}
	for _, n := range p.prefixes.lengths {
		if n > len(sub) {
			break
		}
		try(p.prefixes.byText[sub[:n]])
	}
	for _, n := range p.suffixes.lengths {
		if n > len(sub) {
			break
		}
		try(p.suffixes.byText[sub[len(sub)-n:]])
	}
	try(p.rest)
	if best < 0 {
		return nil
	}
	return &all[best]
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
	x := &ficIndex{all: fics, exact: map[issuerSubject][]int{}, flexible: map[string][]flexibleFIC{}, byPrefix: map[string]*prefixIndex{}, issuers: map[string]bool{},
		creds: make(map[*storage.FederatedCredential]string, len(fics))}
	for i, f := range fics {
		x.creds[&fics[i]] = authn.FederatedCredential(f.Name, f.Issuer, f.Matcher())
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
			p := x.byPrefix[f.Issuer]
			if p == nil {
				p = &prefixIndex{}
				x.byPrefix[f.Issuer] = p
			}
			p.add(flexibleFIC{i, e})
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

// credential is the authn.ClaimCredential value of f, a credential match
// returned.
func (x *ficIndex) credential(f *storage.FederatedCredential) string {
	if c, ok := x.creds[f]; ok {
		return c
	}
	return authn.FederatedCredential(f.Name, f.Issuer, f.Matcher())
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
	if p := x.byPrefix[iss]; p != nil {
		if c := p.find(x.all, sub, claims, hasAud); c != nil {
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
