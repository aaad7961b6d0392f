package sts

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// oddStrings are the strings whose encoding differs most between JSON
// encoders: every ASCII control byte, the HTML characters, the quote and
// backslash, invalid and truncated UTF-8, the line and paragraph
// separators and characters beyond the BMP.
func oddStrings() []string {
	out := []string{"", "Bearer", "plain", `"`, `\`, `\"`, "<script>&amp;</script>", "a\u2028b\u2029c", "\u2027\u202a",
		"\xff", "a\xffb", "\xe2\x80", "\xe2\x80\xa8\xe2", "\xc0\xaf", "\xed\xa0\x80", "é日本語🙂", "\x7f", "https://management.azure.com/",
		"eyJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln", strings.Repeat("x", 3000)}
	var all strings.Builder
	for c := 0; c < utf8.RuneSelf; c++ {
		out = append(out, string(rune(c)), "a"+string(rune(c))+"b")
		all.WriteByte(byte(c))
	}
	for c := 0x80; c < 0x100; c++ {
		out = append(out, string([]byte{byte(c)}))
	}
	return append(out, all.String())
}

// TestTokenResponseJSON proves the hand-written encoder writes the bytes
// encoding/json writes, for every field set and unset and odd strings in
// each string field.
func TestTokenResponseJSON(t *testing.T) {
	nums := []int64{0, 1, -1, 3599, 86399, 1 << 62, -1 << 63}
	var cases []TokenResponse
	for i, s := range oddStrings() {
		n := nums[i%len(nums)]
		cases = append(cases,
			TokenResponse{TokenType: s, AccessToken: s},
			TokenResponse{TokenType: "Bearer", ExpiresIn: n, ExtExpiresIn: -n, RefreshIn: n, ExpiresOn: s, NotBefore: s, Resource: s, AccessToken: s},
			TokenResponse{TokenType: "Bearer", ExpiresIn: n, Resource: s, AccessToken: "t"},
		)
	}
	for _, r := range cases {
		checkTokenJSON(t, r)
	}
}

// FuzzTokenResponseJSON checks the encoder against encoding/json on
// arbitrary strings and numbers.
func FuzzTokenResponseJSON(f *testing.F) {
	for i, s := range oddStrings() {
		f.Add(s, s, int64(i))
	}
	f.Fuzz(func(t *testing.T, a, b string, n int64) {
		checkTokenJSON(t, TokenResponse{TokenType: a, ExpiresIn: n, ExtExpiresIn: n, RefreshIn: n, ExpiresOn: b, NotBefore: a, Resource: b, AccessToken: a + b})
		checkTokenJSON(t, TokenResponse{AccessToken: b})
	})
}

func checkTokenJSON(t *testing.T, r TokenResponse) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.appendJSON(nil); string(got) != string(want) {
		t.Errorf("appendJSON(%#v)\n got %q\nwant %q", r, got, want)
	}
	// As a reused token is answered: copied as it is when minting found
	// it plain.
	if r.plainToken = jsonPlainString(r.AccessToken); r.plainToken {
		if got := r.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON(%#v) of a plain token\n got %q\nwant %q", r, got, want)
		}
	}
}

// TestEscapedBytes: the room readForm reserves for unescaped values is the
// length of the parameters that have something to unescape.
func TestEscapedBytes(t *testing.T) {
	for _, tc := range []struct {
		body string
		want int
	}{
		{"", 0},
		{"a=b&c=d", 0},
		{"a=b%20c", 7},
		{"a=b&scope=x+y&c=d", 9},
		{"a=%41&b=c&d=+", 5 + 3},
		{"&&a=%&", 3},
	} {
		if got := escapedBytes([]byte(tc.body)); got != tc.want {
			t.Errorf("escapedBytes(%q) = %d, want %d", tc.body, got, tc.want)
		}
	}
}

// BenchmarkAppendJSONString: the access token is most of a token
// response, and a JWS is all plain bytes.
func BenchmarkAppendJSONString(b *testing.B) {
	tok := strings.Repeat("eyJhbGciOiJFUzI1NiIsImtpZCI6IjEyMyJ9.", 30)
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		buf = appendJSONString(buf[:0], tok)
	}
}
