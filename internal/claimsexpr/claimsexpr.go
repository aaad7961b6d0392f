// Package claimsexpr parses and evaluates the claims matching expressions of
// flexible federated identity credentials (Entra's "flexible FIC" language,
// languageVersion 1):
//
//	claims['sub'] matches 'system:serviceaccount:team-*:*' and claims['job_workflow_ref'] eq 'x'
//
// An expression is one or more clauses joined by " and " (single spaces);
// a clause is a claim lookup claims['<claim>'], one space, an operator (eq
// or matches), one space, and a comparand in single quotes. Inside quotes a
// quote written twice stands for one quote: single quotes delimit and escape.
// matches knows two wildcards, * (any run of characters, possibly empty)
// and ? (exactly one character). There is no or, no not, no parentheses and
// no regular expression: anything else is refused with a *SyntaxError that
// says where and why.
//
// Parse once (when the credential is written and when the token service
// loads an identity) and evaluate the compiled Expr per token: Match does
// no allocation.
package claimsexpr

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// LanguageVersion is the only version of the language there is.
const LanguageVersion = 1

// MaxLength bounds an expression's value, as the subject it replaces (600).
const MaxLength = 600

// MaxClaimLength bounds the claim values an expression compares: a longer
// one never matches. Expressions are evaluated before the token's signature
// is checked (as exact subjects are compared), so this bounds what an
// unauthenticated caller can make a pattern cost: O(MaxLength *
// MaxClaimLength) at worst.
const MaxClaimLength = 1024

// Claims are the claims an expression may look up. Entra accepts sub (all
// issuers) and job_workflow_ref (GitHub); Ward accepts both for any issuer.
var Claims = []string{"sub", "job_workflow_ref"}

// Operator compares a claim with a comparand.
type Operator string

// The operators of languageVersion 1.
const (
	Eq      Operator = "eq"
	Matches Operator = "matches"
)

// Clause is one comparison of an expression.
type Clause struct {
	Claim     string
	Op        Operator
	Comparand string
}

// String renders the clause in the language, quotes doubled.
func (c Clause) String() string {
	return "claims[" + quote(c.Claim) + "] " + string(c.Op) + " " + quote(c.Comparand)
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Expr is a parsed expression: all its clauses must hold.
type Expr struct {
	Clauses []Clause
}

// String renders the expression in the language.
func (e *Expr) String() string {
	parts := make([]string, len(e.Clauses))
	for i, c := range e.Clauses {
		parts[i] = c.String()
	}
	return strings.Join(parts, " and ")
}

// SyntaxError says why an expression is refused; Pos is the byte offset
// where reading stopped.
type SyntaxError struct {
	Pos    int
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s (at character %d)", e.Reason, e.Pos+1)
}

// VersionError refuses a languageVersion other than 1.
type VersionError struct{ Version int }

func (e *VersionError) Error() string {
	return fmt.Sprintf("languageVersion %d is not supported; the only version is %d", e.Version, LanguageVersion)
}

// ParseVersion parses value written in language version v.
func ParseVersion(value string, v int) (*Expr, error) {
	if v != LanguageVersion {
		return nil, &VersionError{Version: v}
	}
	return Parse(value)
}

// Parse reads an expression of languageVersion 1.
func Parse(value string) (*Expr, error) {
	if value == "" {
		return nil, &SyntaxError{0, "the expression is empty"}
	}
	if len(value) > MaxLength {
		return nil, &SyntaxError{MaxLength, fmt.Sprintf("the expression is %d characters long; at most %d are allowed", len(value), MaxLength)}
	}
	if !utf8.ValidString(value) {
		return nil, &SyntaxError{0, "the expression is not valid UTF-8"}
	}
	p := parser{s: value}
	e := &Expr{}
	for {
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		e.Clauses = append(e.Clauses, c)
		if p.pos == len(p.s) {
			return e, nil
		}
		if err := p.literal(" and ", "clauses must be joined by ' and ' (one space either side; or, not and parentheses are not supported)"); err != nil {
			return nil, err
		}
	}
}

type parser struct {
	s   string
	pos int
}

func (p *parser) fail(reason string) error { return &SyntaxError{p.pos, reason} }

// literal consumes want or fails with why, naming what was found.
func (p *parser) literal(want, why string) error {
	if strings.HasPrefix(p.s[p.pos:], want) {
		p.pos += len(want)
		return nil
	}
	return p.fail(fmt.Sprintf("expected %q, found %q: %s", want, p.peek(len(want)), why))
}

func (p *parser) peek(n int) string {
	rest := p.s[p.pos:]
	if len(rest) > n {
		rest = rest[:n]
	}
	return rest
}

// clause reads claims['<claim>'] <op> '<comparand>'.
func (p *parser) clause() (Clause, error) {
	var c Clause
	if err := p.literal("claims[", "a clause starts with a claim lookup claims['<claim>']"); err != nil {
		return c, err
	}
	start := p.pos
	name, err := p.quoted("claim name")
	if err != nil {
		return c, err
	}
	known := false
	for _, k := range Claims {
		known = known || k == name
	}
	if !known {
		return c, &SyntaxError{start, fmt.Sprintf("claim '%s' is not supported; supported claims: '%s'", name, strings.Join(Claims, "', '"))}
	}
	c.Claim = name
	if err := p.literal("] ", "a claim lookup is followed by one space and an operator"); err != nil {
		return c, err
	}
	switch {
	case strings.HasPrefix(p.s[p.pos:], "eq "):
		c.Op, p.pos = Eq, p.pos+3
	case strings.HasPrefix(p.s[p.pos:], "matches "):
		c.Op, p.pos = Matches, p.pos+8
	default:
		word := p.s[p.pos:]
		if i := strings.IndexByte(word, ' '); i >= 0 {
			word = word[:i]
		}
		return c, p.fail(fmt.Sprintf("operator '%s' is not supported; supported operators: 'eq', 'matches' (followed by one space)", word))
	}
	if c.Comparand, err = p.quoted("comparand"); err != nil {
		return c, err
	}
	return c, nil
}

// quoted reads a single-quoted string in which a doubled quote stands for one.
func (p *parser) quoted(what string) (string, error) {
	if p.pos >= len(p.s) || p.s[p.pos] != '\'' {
		return "", p.fail(fmt.Sprintf("the %s must be in single quotes, found %q", what, p.peek(8)))
	}
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		i := strings.IndexByte(p.s[p.pos:], '\'')
		if i < 0 {
			break
		}
		b.WriteString(p.s[p.pos : p.pos+i])
		p.pos += i + 1
		if p.pos < len(p.s) && p.s[p.pos] == '\'' {
			b.WriteByte('\'') // '' is an escaped quote
			p.pos++
			continue
		}
		return b.String(), nil
	}
	p.pos = len(p.s)
	return "", p.fail(fmt.Sprintf("the %s has no closing single quote (a quote inside it is written '')", what))
}

// ClaimSource returns the string value of a claim of a token; ok is false
// when the token has no such claim or it is not a string.
type ClaimSource func(name string) (value string, ok bool)

// Match reports whether every clause holds for the token's claims.
func (e *Expr) Match(claims ClaimSource) bool {
	for _, c := range e.Clauses {
		if !c.Holds(claims) {
			return false
		}
	}
	return true
}

// Holds reports whether the clause holds for the token's claims.
func (c Clause) Holds(claims ClaimSource) bool {
	v, ok := claims(c.Claim)
	if !ok || len(v) > MaxClaimLength {
		return false
	}
	if c.Op == Eq {
		return v == c.Comparand
	}
	return Glob(c.Comparand, v)
}

// Glob reports whether s matches pattern, where * is any run of characters
// (possibly empty) and ? exactly one character; everything else stands for
// itself. It runs in O(len(pattern)*len(s)) at worst, without recursion.
func Glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0 // last * seen in the pattern, and where s stood then
	for i < len(s) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				star, mark = p, i
				p++
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[i:])
				p, i = p+1, i+n
				continue
			default:
				if pattern[p] == s[i] {
					p, i = p+1, i+1
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		// Backtrack: let the last * swallow one more character.
		_, n := utf8.DecodeRuneInString(s[mark:])
		mark += n
		p, i = star+1, mark
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// ClauseResult is the outcome of one clause for one token.
type ClauseResult struct {
	Clause  Clause
	Present bool   // the token has the claim (as a string)
	Actual  string // the claim's value, when present
	Holds   bool
}

// Explain evaluates every clause (not stopping at the first failure), for
// "what would have matched" explanations.
func (e *Expr) Explain(claims ClaimSource) []ClauseResult {
	out := make([]ClauseResult, len(e.Clauses))
	for i, c := range e.Clauses {
		v, ok := claims(c.Claim)
		out[i] = ClauseResult{Clause: c, Present: ok, Actual: v, Holds: c.Holds(claims)}
	}
	return out
}

// Describe renders the failed clauses of results, one sentence each, e.g.
// "clause 1 claims['sub'] matches 'a-*' does not hold: the token's sub is
// 'b-x'". It is "" when every clause holds.
func Describe(results []ClauseResult) string {
	var parts []string
	for i, r := range results {
		if r.Holds {
			continue
		}
		what := fmt.Sprintf("the token's %s is '%s'", r.Clause.Claim, r.Actual)
		switch {
		case !r.Present:
			what = fmt.Sprintf("the token has no string claim '%s'", r.Clause.Claim)
		case len(r.Actual) > MaxClaimLength:
			what = fmt.Sprintf("the token's %s is %d characters long; expressions compare at most %d", r.Clause.Claim, len(r.Actual), MaxClaimLength)
		}
		parts = append(parts, fmt.Sprintf("clause %d of %d %s does not hold: %s", i+1, len(results), r.Clause, what))
	}
	return strings.Join(parts, "; ")
}
