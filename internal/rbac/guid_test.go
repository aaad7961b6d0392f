package rbac

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

// referenceGUID is the obvious byte-by-byte parser.
func referenceGUID(s string) (guid, bool) {
	var g guid
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 || strings.Count(s, "-") != 4 {
		return g, false
	}
	copy(g[:], b)
	return g, true
}

func TestParseGUIDMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const alphabet = "0123456789abcdefABCDEF-gG/ \x00\x10\x19\xff:@`"
	base := "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	for i := 0; i < 200000; i++ {
		b := []byte(base)
		if i%2 == 0 {
			for k := range b {
				if b[k] != '-' {
					b[k] = "0123456789abcdefABCDEF"[r.IntN(22)]
				}
			}
		}
		for n := r.IntN(3); n > 0; n-- {
			b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		got, ok := parseGUID(s)
		want, wok := referenceGUID(s)
		if ok != wok || ok && got != want {
			t.Fatalf("%q: got %x %v, want %x %v", s, got, ok, want, wok)
		}
		if ok && !strings.EqualFold(got.String(), s) {
			t.Fatalf("%q round-trips to %q", s, got.String())
		}
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 36; pos++ {
			if pos == 8 || pos == 13 || pos == 18 || pos == 23 {
				continue
			}
			b := []byte(base)
			b[pos] = byte(c)
			got, ok := parseGUID(string(b))
			want, wok := referenceGUID(string(b))
			if ok != wok || ok && got != want {
				t.Fatalf("byte %#x at %d: got %x %v, want %x %v", c, pos, got, ok, want, wok)
			}
		}
	}
}
