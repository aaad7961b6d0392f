package storage

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	cases := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short", "abc", 10, "abc"},
		{"exact", "abcdefghij", 10, "abcdefghij"},
		{"cut", strings.Repeat("a", 30), 20, "aaaaaa" + TruncatedMarker},
		{"rune boundary", "aaaaaé" + strings.Repeat("b", 20), 20, "aaaaa" + TruncatedMarker},
		{"invalid utf-8", "a\xffb", 10, "a\uFFFDb"},
		{"nul", "a\x00b", 10, "a\uFFFDb"},
		{"tiny cap", strings.Repeat("a", 30), 3, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Truncate(tc.in, tc.max)
			if got != tc.want || len(got) > max(tc.max, len(tc.in)) || !utf8.ValidString(got) {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func TestBoundedSignIn(t *testing.T) {
	huge := strings.Repeat("x", 60_000)
	s := SignIn{ClientID: huge, Reason: huge, Resource: huge}.Bounded()
	if len(s.ClientID) != MaxLogIDBytes || len(s.Reason) != MaxLogReasonBytes || len(s.Resource) != MaxLogTextBytes || s.Count != 1 {
		t.Errorf("bounded: client %d, reason %d, resource %d bytes, count %d", len(s.ClientID), len(s.Reason), len(s.Resource), s.Count)
	}
}
