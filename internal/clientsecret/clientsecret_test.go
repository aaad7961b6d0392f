package clientsecret

import (
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

func TestGenerateShape(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		s, hint := Generate()
		if len(s) != 40 {
			t.Fatalf("Generate() = %q: %d characters, want 40", s, len(s))
		}
		if s[3:6] != "8Q~" {
			t.Fatalf("Generate() = %q: characters 4-6 are %q, want Entra's 8Q~", s, s[3:6])
		}
		if !strings.ContainsRune(alphabet[:leading], rune(s[0])) {
			t.Fatalf("Generate() = %q starts with %q; a secret must start with a letter or digit so no tool reads it as a flag", s, s[0])
		}
		if hint != s[:3] {
			t.Fatalf("hint %q, want the secret's first three characters %q", hint, s[:3])
		}
		for _, c := range s {
			if !strings.ContainsRune(alphabet, c) {
				t.Fatalf("Generate() = %q holds %q, outside the alphabet", s, c)
			}
		}
		if seen[s] {
			t.Fatalf("Generate() repeated %q", s)
		}
		seen[s] = true
	}
}

func TestMatch(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	a := New("key-a", "app", "a", "secret-a", "sec", now, now.Add(time.Hour))
	b := New("key-b", "app", "b", "secret-b", "sec", now, now.Add(time.Hour))
	if string(a.Salt) == string(b.Salt) {
		t.Fatal("two secrets got the same salt")
	}
	stored := []storage.ClientSecret{a, b}
	tests := []struct {
		name, secret, wantKey string
		ok                    bool
	}{
		{"first", "secret-a", "key-a", true},
		{"second", "secret-b", "key-b", true},
		{"wrong", "secret-c", "", false},
		{"prefix", "secret-", "", false},
		{"empty", "", "", false},
		{"case", "SECRET-A", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Match(stored, tt.secret)
			if ok != tt.ok || got.KeyID != tt.wantKey {
				t.Fatalf("Match(%q) = %q, %v; want %q, %v", tt.secret, got.KeyID, ok, tt.wantKey, tt.ok)
			}
		})
	}
	if _, ok := Match(nil, "secret-a"); ok {
		t.Fatal("Match with nothing stored matched")
	}
}

func TestHashDependsOnSalt(t *testing.T) {
	if string(Hash([]byte("salt1"), "s")) == string(Hash([]byte("salt2"), "s")) {
		t.Fatal("the same secret under two salts hashed alike")
	}
	first, again := Hash([]byte("salt1"), "s"), Hash([]byte("salt1"), "s")
	if string(first) != string(again) {
		t.Fatal("Hash is not deterministic")
	}
}
