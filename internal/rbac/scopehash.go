package rbac

import "math/bits"

// Scope hashing. A grant carries the hash of its scope, and a check hashes
// every ancestor of the scope it asks about in one pass, so it can reject
// grants at unrelated scopes by comparing integers. The pass reads the
// scope eight bytes at a time, lower-cases ASCII letters and finds '/'
// with word arithmetic: hashing byte by byte was the largest single cost of
// a check. A hash match is always confirmed by comparing the strings.
//
// H(s) folds s's full 8-byte words, then its last partial word (zero
// padded), then its length. The hash of a prefix ending inside a word is
// therefore the running hash of the words before it, mixed with the masked
// word and the prefix length: the same value H gives the prefix alone.

const (
	hashSeed = 0x243F6A8885A308D3
	hashMul  = 0x9E3779B97F4A7C15
	ones     = 0x0101010101010101
	high     = 0x80 * ones
)

// maxPrefixes bounds the ancestors a query scope may have for the hashed
// scan; deeper scopes fall back to comparing strings.
const maxPrefixes = 24

// rootHash is the hash of "/", an ancestor of every scope.
var rootHash = finish(hashSeed, 0)

// lowerWord lower-cases the ASCII letters among eight bytes; other bytes
// (including non-ASCII) are unchanged.
func lowerWord(x uint64) uint64 {
	low7 := x & (0x7f * ones)
	geA := low7 + (0x80-'A')*ones   // high bit set where byte >= 'A'
	gtZ := low7 + (0x80-'Z'-1)*ones // high bit set where byte > 'Z'
	return x | (geA&^gtZ&^x&high)>>2
}

// slashes has bit 7 set in each byte of w that is '/'.
func slashes(w uint64) uint64 {
	x := w ^ ('/' * ones)
	t := ((x &^ high) + (0x7f * ones)) | x
	return ^t & high
}

func mix(h, w uint64) uint64 { return bits.RotateLeft64((h^w)*hashMul, 29) }

func finish(h uint64, n int) uint32 {
	h = mix(h, uint64(n))
	return uint32(h ^ h>>32)
}

// word reads s[i:i+8] little-endian (the compiler makes it one load).
func word(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// tail reads the last len(s)-i (< 8) bytes of s, zero padded.
func tail(s string, i int) uint64 {
	var w uint64
	for k := len(s) - 1; k >= i; k-- {
		w = w<<8 | uint64(s[k])
	}
	return w
}

// scopeHash is the hash of a normalized scope.
func scopeHash(normalized string) uint32 {
	if normalized == "/" {
		return rootHash
	}
	h := uint64(hashSeed)
	i := 0
	for ; i+8 <= len(normalized); i += 8 {
		h = mix(h, lowerWord(word(normalized, i)))
	}
	if i < len(normalized) {
		h = mix(h, lowerWord(tail(normalized, i)))
	}
	return finish(h, len(normalized))
}

// ancestorHashes fills out with the hashes of every ancestor of scope (any
// case, trailing slashes ignored): the root, each prefix that ends before
// a '/', then the scope itself.
func ancestorHashes(scope string, out *[maxPrefixes]uint32) (int, bool) {
	for len(scope) > 1 && scope[len(scope)-1] == '/' {
		scope = scope[:len(scope)-1]
	}
	out[0] = rootHash
	n := 1
	h := uint64(hashSeed)
	for i := 0; i < len(scope); i += 8 {
		var w uint64
		if i+8 <= len(scope) {
			w = lowerWord(word(scope, i))
		} else {
			w = lowerWord(tail(scope, i))
		}
		for z := slashes(w); z != 0; z &= z - 1 {
			j := bits.TrailingZeros64(z) >> 3
			if i+j == 0 {
				continue // the leading slash: the root, already out[0]
			}
			if n == maxPrefixes {
				return n, false
			}
			ph := h
			if j > 0 {
				ph = mix(h, w&(1<<(8*j)-1))
			}
			out[n] = finish(ph, i+j)
			n++
		}
		h = mix(h, w)
	}
	if len(scope) > 1 {
		if n == maxPrefixes {
			return n, false
		}
		out[n] = finish(h, len(scope))
		n++
	}
	return n, true
}
