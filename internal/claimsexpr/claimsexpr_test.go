package claimsexpr

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Clause
	}{
		{"matches", `claims['sub'] matches 'system:serviceaccount:team-*:*'`,
			[]Clause{{"sub", Matches, "system:serviceaccount:team-*:*"}}},
		{"eq", `claims['sub'] eq 'repo:contoso/app:ref:refs/heads/main'`,
			[]Clause{{"sub", Eq, "repo:contoso/app:ref:refs/heads/main"}}},
		{"two clauses", `claims['sub'] matches 'repo:o/r:*' and claims['job_workflow_ref'] eq 'o/r/.github/workflows/x.yml@refs/heads/main'`,
			[]Clause{{"sub", Matches, "repo:o/r:*"}, {"job_workflow_ref", Eq, "o/r/.github/workflows/x.yml@refs/heads/main"}}},
		{"doubled quote is one quote", `claims['sub'] eq 'it''s'`, []Clause{{"sub", Eq, "it's"}}},
		{"only a doubled quote", `claims['sub'] eq ''''`, []Clause{{"sub", Eq, "'"}}},
		{"empty comparand", `claims['sub'] eq ''`, []Clause{{"sub", Eq, ""}}},
		{"and inside a comparand is text", `claims['sub'] eq 'a and b'`, []Clause{{"sub", Eq, "a and b"}}},
		{"or inside a comparand is text", `claims['sub'] matches 'x or y*'`, []Clause{{"sub", Matches, "x or y*"}}},
		{"question marks", `claims['sub'] matches 'repo:o/r:ref:refs/heads/????'`, []Clause{{"sub", Matches, "repo:o/r:ref:refs/heads/????"}}},
		{"same claim twice", `claims['sub'] matches 'a*' and claims['sub'] matches '*z'`, []Clause{{"sub", Matches, "a*"}, {"sub", Matches, "*z"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(e.Clauses, tc.want) {
				t.Fatalf("Parse(%q) = %+v; want %+v", tc.in, e.Clauses, tc.want)
			}
			// The rendering reads back to the same clauses.
			again, err := Parse(e.String())
			if err != nil || !reflect.DeepEqual(again.Clauses, tc.want) {
				t.Fatalf("Parse(%q) (rendered from %q) = %+v, %v", e.String(), tc.in, again, err)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in, why string
	}{
		{"empty", ``, "empty"},
		{"or", `claims['sub'] eq 'a' or claims['sub'] eq 'b'`, "' and '"},
		{"not", `not claims['sub'] eq 'a'`, "claims["},
		{"ne operator", `claims['sub'] ne 'a'`, "operator 'ne'"},
		{"regex operator", `claims['sub'] regex '^a.*$'`, "operator 'regex'"},
		{"like operator", `claims['sub'] like 'a%'`, "operator 'like'"},
		{"upper-case operator", `claims['sub'] MATCHES 'a*'`, "operator 'MATCHES'"},
		{"upper-case and", `claims['sub'] eq 'a' AND claims['sub'] eq 'b'`, "' and '"},
		{"parentheses", `(claims['sub'] eq 'a')`, "claims["},
		{"unknown claim", `claims['aud'] eq 'x'`, "claim 'aud' is not supported"},
		{"claim with a dot path", `claims['kubernetes.io'] eq 'x'`, "not supported"},
		{"double-quoted claim", `claims["sub"] eq 'a'`, "single quotes"},
		{"double-quoted comparand", `claims['sub'] eq "a"`, "single quotes"},
		{"bare comparand", `claims['sub'] eq a`, "single quotes"},
		{"unterminated comparand", `claims['sub'] eq 'a`, "no closing single quote"},
		{"odd quote inside", `claims['sub'] eq 'it's'`, "' and '"},
		{"two spaces before operator", `claims['sub']  eq 'a'`, "operator"},
		{"two spaces after operator", `claims['sub'] eq  'a'`, "single quotes"},
		{"no space before operator", `claims['sub']eq 'a'`, "one space"},
		{"two spaces around and", `claims['sub'] eq 'a'  and claims['sub'] eq 'b'`, "' and '"},
		{"trailing and", `claims['sub'] eq 'a' and `, "claims["},
		{"trailing space", `claims['sub'] eq 'a' `, "' and '"},
		{"leading space", ` claims['sub'] eq 'a'`, "claims["},
		{"dot lookup", `claims.sub eq 'a'`, "claims["},
		{"missing bracket", `claims['sub' eq 'a'`, "one space"},
		{"too long", `claims['sub'] eq '` + strings.Repeat("a", MaxLength) + `'`, "at most"},
		{"not UTF-8", "claims['sub'] eq '\xff'", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, %v; want a *SyntaxError", tc.in, e, err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("Parse(%q) error %q; want it to mention %q", tc.in, err, tc.why)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	for _, v := range []int{0, 2, -1} {
		if _, err := ParseVersion(`claims['sub'] eq 'a'`, v); !errors.As(err, new(*VersionError)) {
			t.Errorf("ParseVersion(v=%d) = %v; want a *VersionError", v, err)
		}
	}
	if _, err := ParseVersion(`claims['sub'] eq 'a'`, 1); err != nil {
		t.Errorf("ParseVersion(v=1) = %v", err)
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything", true},
		{"?", "", false},
		{"?", "a", true},
		{"?", "é", true}, // one character, two bytes
		{"??", "é", false},
		{"a*", "a", true},
		{"a*", "ba", false},
		{"*a", "bba", true},
		{"*a", "bab", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a*b", "abab", true},
		{"system:serviceaccount:team-*:*", "system:serviceaccount:team-a:app", true},
		{"system:serviceaccount:team-*:*", "system:serviceaccount:team-:app", true},
		{"system:serviceaccount:team-*:*", "system:serviceaccount:other:app", false},
		{"system:serviceaccount:team-*:*", "system:serviceaccount:team-a", false},
		{"system:serviceaccount:team-?:app", "system:serviceaccount:team-ab:app", false},
		{"repo:o/r:ref:refs/heads/????", "repo:o/r:ref:refs/heads/main", true},
		{"repo:o/r:ref:refs/heads/????", "repo:o/r:ref:refs/heads/master", false},
		{"[a]", "[a]", true}, // no character classes
		{"a.c", "abc", false},
		{"**", "x", true},
		{"*?*", "", false},
		{"*?*", "x", true},
	} {
		if got := Glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v; want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func claimsOf(m map[string]string) ClaimSource {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

func TestMatchAndExplain(t *testing.T) {
	e, err := Parse(`claims['sub'] matches 'system:serviceaccount:team-*:*' and claims['job_workflow_ref'] eq 'w'`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		claims map[string]string
		want   bool
		why    string
	}{
		{"both hold", map[string]string{"sub": "system:serviceaccount:team-a:app", "job_workflow_ref": "w"}, true, ""},
		{"sub fails", map[string]string{"sub": "system:serviceaccount:other:app", "job_workflow_ref": "w"}, false,
			"clause 1 of 2 claims['sub'] matches 'system:serviceaccount:team-*:*' does not hold: the token's sub is 'system:serviceaccount:other:app'"},
		{"claim absent", map[string]string{"sub": "system:serviceaccount:team-a:app"}, false,
			"clause 2 of 2 claims['job_workflow_ref'] eq 'w' does not hold: the token has no string claim 'job_workflow_ref'"},
		{"claim too long to compare", map[string]string{"sub": "system:serviceaccount:team-a:" + strings.Repeat("x", MaxClaimLength), "job_workflow_ref": "w"}, false,
			fmt.Sprintf("clause 1 of 2 claims['sub'] matches 'system:serviceaccount:team-*:*' does not hold: the token's sub is %d characters long; expressions compare at most %d", len("system:serviceaccount:team-a:")+MaxClaimLength, MaxClaimLength)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := claimsOf(tc.claims)
			if got := e.Match(src); got != tc.want {
				t.Fatalf("Match(%v) = %v; want %v", tc.claims, got, tc.want)
			}
			if got := Describe(e.Explain(src)); got != tc.why {
				t.Fatalf("Describe(Explain(%v)) = %q; want %q", tc.claims, got, tc.why)
			}
		})
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	e, _ := Parse(`claims['sub'] matches 'system:serviceaccount:team-*:*'`)
	src := claimsOf(map[string]string{"sub": "system:serviceaccount:team-a:app"})
	if n := testing.AllocsPerRun(100, func() { e.Match(src) }); n != 0 {
		t.Fatalf("Match allocates %v times per run; want 0", n)
	}
}

// FuzzParse: Parse never panics, accepts nothing over MaxLength, and what
// it accepts renders to text that parses back to the same clauses.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`claims['sub'] matches 'system:serviceaccount:team-*:*'`,
		`claims['sub'] eq 'a''b' and claims['job_workflow_ref'] matches '*'`,
		`claims['sub'] eq 'a' or claims['sub'] eq 'b'`,
		`claims['sub'] eq '`, `claims[''`, `''''`, ``,
	} {
		f.Add(s, "system:serviceaccount:team-a:app")
	}
	f.Fuzz(func(t *testing.T, in, sub string) {
		e, err := Parse(in)
		if err != nil {
			if e != nil {
				t.Fatalf("Parse(%q) returned both %v and %v", in, e, err)
			}
			return
		}
		if len(in) > MaxLength {
			t.Fatalf("Parse accepted %d characters", len(in))
		}
		if len(e.Clauses) == 0 {
			t.Fatalf("Parse(%q) accepted no clause", in)
		}
		again, err := Parse(e.String())
		if err != nil || !reflect.DeepEqual(again.Clauses, e.Clauses) {
			t.Fatalf("Parse(%q) = %+v; its rendering %q parses to %+v, %v", in, e.Clauses, e.String(), again, err)
		}
		src := claimsOf(map[string]string{"sub": sub})
		if e.Match(src) != (Describe(e.Explain(src)) == "") {
			t.Fatalf("Match and Explain disagree on %q for sub %q", in, sub)
		}
	})
}

// FuzzGlob: a pattern without wildcards matches exactly itself, and *
// matches every string.
func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		got := Glob(pattern, s)
		if !strings.ContainsAny(pattern, "*?") && got != (pattern == s) {
			t.Fatalf("Glob(%q, %q) = %v for a literal pattern", pattern, s, got)
		}
		if !Glob("*", s) || !Glob(pattern+"*", pattern+s) && !strings.ContainsAny(pattern, "*?") {
			t.Fatalf("* does not match %q or a prefix pattern fails", s)
		}
	})
}

// BenchmarkGlobWorstCase: the longest pattern with the most backtracking
// against the longest claim compared.
func BenchmarkGlobWorstCase(b *testing.B) {
	pattern := strings.Repeat("*a", MaxLength/2-1) + "b"
	s := strings.Repeat("a", MaxClaimLength)
	for b.Loop() {
		if Glob(pattern, s) {
			b.Fatal("matched")
		}
	}
}
