package rbac

import (
	"encoding/binary"
	"math/bits"
	"strings"
)

// Scope hashing. A grant carries the hash of its scope, and a check hashes
// every ancestor of the scope it asks about, so it can reject the grants at
// unrelated scopes by comparing integers. The hash folds each '/'-separated
// segment in eight bytes at a time, lower-casing ASCII letters with word
// arithmetic, because hashing byte by byte was the largest single cost of a
// check. A hash match is always confirmed by comparing the strings.

const (
	hashSeed = 0x243F6A8885A308D3
	hashMul  = 0x9E3779B97F4A7C15
	ones     = 0x0101010101010101
)

// lowerWord lower-cases the ASCII letters among eight bytes; other bytes
// (including non-ASCII) are unchanged.
func lowerWord(x uint64) uint64 {
	low7 := x & (0x7f * ones)
	geA := low7 + (0x80-'A')*ones            // high bit set where byte >= 'A'
	gtZ := low7 + (0x80-'Z'-1)*ones          // high bit set where byte > 'Z'
	upper := geA &^ gtZ &^ x & (0x80 * ones) // and the byte was ASCII
	return x | upper>>2
}

func fold(h uint64) uint32 { return uint32(h ^ h>>32) }

func mix(h, w uint64) uint64 {
	return bits.RotateLeft64((h^w)*hashMul, 29)
}

// segmentHash folds one segment (without slashes) into h.
func segmentHash(h uint64, seg string) uint64 {
	h = mix(h, uint64(len(seg)))
	for len(seg) >= 8 {
		h = mix(h, lowerWord(binary.LittleEndian.Uint64([]byte(seg[:8]))))
		seg = seg[8:]
	}
	if len(seg) > 0 {
		var w uint64
		for i := len(seg) - 1; i >= 0; i-- {
			w = w<<8 | uint64(seg[i])
		}
		h = mix(h, lowerWord(w))
	}
	return h
}

// scopeHash is the hash of a normalized scope; the root is hashSeed.
func scopeHash(normalized string) uint32 {
	var hs [maxPrefixes]uint32
	n, ok := ancestorHashes(normalized, &hs)
	if !ok {
		// Deeper than any query can hash: a value no query produces would
		// be wrong, so fall back to hashing the whole path.
		h := uint64(hashSeed)
		for seg := range strings.SplitSeq(strings.Trim(normalized, "/"), "/") {
			h = segmentHash(h, seg)
		}
		return fold(h)
	}
	return hs[n-1]
}

// maxPrefixes bounds the ancestors a query scope may have for the hashed
// scan; deeper scopes fall back to comparing strings.
const maxPrefixes = 24

// ancestorHashes fills out with the hashes of every ancestor of scope (any
// case): the root, then each prefix ending at a segment, then the scope.
func ancestorHashes(scope string, out *[maxPrefixes]uint32) (int, bool) {
	out[0] = fold(hashSeed)
	n := 1
	h := uint64(hashSeed)
	for i := 0; i < len(scope); {
		if scope[i] == '/' {
			i++
			continue
		}
		end := strings.IndexByte(scope[i:], '/')
		if end < 0 {
			end = len(scope)
		} else {
			end += i
		}
		if n == maxPrefixes {
			return n, false
		}
		h = segmentHash(h, scope[i:end])
		out[n] = fold(h)
		n++
		i = end
	}
	return n, true
}
