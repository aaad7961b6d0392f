package rbac

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestPrincipalTable drives the open-addressing table and a Go map with
// the same random inserts and deletes (enough to grow it and to exercise
// backward-shift deletion in long clusters) and compares them.
func TestPrincipalTable(t *testing.T) {
	var tab principalTable
	model := map[guid]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]guid, 5000)
	for i := range keys {
		keys[i][0], keys[i][1], keys[i][15] = byte(i), byte(i>>8), byte(r.IntN(4)) // clustered keys
	}
	for step := 0; step < 200000; step++ {
		k := keys[r.IntN(len(keys))]
		if r.IntN(3) > 0 {
			if e := tab.insert(k); !e.used() {
				tab.add(e, grant{slot: 1})
			}
			model[k] = true
		} else if e := tab.find(k); e != nil {
			tab.drop(e, 1)
			tab.remove(k)
			delete(model, k)
		}
		if step%997 == 0 {
			for _, k := range keys {
				if (tab.find(k) != nil) != model[k] {
					t.Fatalf("step %d: table and model disagree on %x", step, k)
				}
			}
			if tab.len() != len(model) {
				t.Fatalf("len %d, model %d", tab.len(), len(model))
			}
		}
	}
}

func TestLowerWord(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			x := uint64(0x4142435A5B606162) // neighbours of the letter ranges
			x = x&^(0xff<<(8*pos)) | uint64(c)<<(8*pos)
			got := lowerWord(x)
			var want uint64
			for i := 7; i >= 0; i-- {
				want = want<<8 | uint64(lower(byte(x>>(8*i))))
			}
			if got != want {
				t.Fatalf("lowerWord(%016x) = %016x, want %016x", x, got, want)
			}
		}
	}
}

// TestScopeHashCase: a grant's hash (of the normalized scope) is among the
// ancestor hashes of the same scope in any case, and of its descendants.
func TestScopeHashCase(t *testing.T) {
	for _, s := range []string{"/", "/subscriptions/ABC", "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/My-RG/",
		"/Subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/kv-é"} {
		h := scopeHash(NormalizeScope(s))
		// Letter case folds for ASCII only, as ARM resource names are.
		upper := strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, s)
		for _, q := range []string{s, upper, strings.TrimRight(s, "/") + "/secrets/X"} {
			var hs [maxPrefixes]uint32
			n, _ := ancestorHashes(q, &hs)
			found := false
			for _, x := range hs[:n] {
				found = found || x == h
			}
			if !found {
				t.Errorf("grant at %q: hash not among ancestors of %q", s, q)
			}
		}
	}
}

// TestPrincipalGrantsArena: many principals growing and shrinking their
// lists in random order keep exactly their grants, and chunks freed by one
// are reused without corrupting another.
func TestPrincipalGrantsArena(t *testing.T) {
	var tab principalTable
	r := rand.New(rand.NewPCG(3, 4))
	keys := make([]guid, 50)
	model := make([]map[uint32]bool, len(keys))
	for i := range keys {
		keys[i][0], keys[i][1] = byte(i), 0xaa
		model[i] = map[uint32]bool{}
	}
	next := uint32(1)
	for step := 0; step < 100000; step++ {
		i := r.IntN(len(keys))
		e := tab.find(keys[i])
		if r.IntN(5) < 3 && len(model[i]) < 40 {
			if e == nil {
				e = tab.insert(keys[i])
			}
			tab.add(e, grant{hash: next, slot: next})
			model[i][next] = true
			next++
		} else if e != nil {
			var victim uint32
			for s := range model[i] {
				victim = s
				break
			}
			if !tab.drop(e, victim) {
				t.Fatalf("step %d: slot %d not found", step, victim)
			}
			delete(model[i], victim)
			if !e.used() {
				tab.remove(keys[i])
			}
		}
		if step%101 == 0 {
			for j, k := range keys {
				seen := map[uint32]bool{}
				if e := tab.find(k); e != nil {
					tab.each(e, func(g grant) bool {
						if g.hash != g.slot || seen[g.slot] {
							t.Fatalf("step %d: principal %d has a foreign or repeated grant %+v", step, j, g)
						}
						seen[g.slot] = true
						return false
					})
				}
				if len(seen) != len(model[j]) {
					t.Fatalf("step %d: principal %d has %d grants, want %d", step, j, len(seen), len(model[j]))
				}
				for s := range model[j] {
					if !seen[s] {
						t.Fatalf("step %d: principal %d lost slot %d", step, j, s)
					}
				}
			}
		}
	}
}

// TestAncestorHashesMatchPrefixes: the one-pass ancestor hashes equal the
// hash of each prefix computed on its own, at every word alignment.
func TestAncestorHashesMatchPrefixes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const letters = "abcXYZ09-._"
	for iter := 0; iter < 3000; iter++ {
		var b strings.Builder
		var prefixes []string
		for seg := 0; seg < 1+r.IntN(8); seg++ {
			if b.Len() > 0 {
				prefixes = append(prefixes, b.String())
			}
			b.WriteByte('/')
			for k := 1 + r.IntN(17); k > 0; k-- {
				b.WriteByte(letters[r.IntN(len(letters))])
			}
		}
		scope := b.String()
		want := []uint32{rootHash}
		for _, p := range append(prefixes, scope) {
			want = append(want, scopeHash(NormalizeScope(p)))
		}
		var hs [maxPrefixes]uint32
		n, ok := ancestorHashes(scope, &hs)
		if !ok || n != len(want) {
			t.Fatalf("%q: n=%d ok=%v, want %d", scope, n, ok, len(want))
		}
		for i := range want {
			if hs[i] != want[i] {
				t.Fatalf("%q: ancestor %d hash %x, want %x", scope, i, hs[i], want[i])
			}
		}
	}
}

// TestIDTable drives the ID table and a map with the same random puts and
// deletes and compares them.
func TestIDTable(t *testing.T) {
	var tab idTable
	slots := make([]slot, 1, 30001)
	model := map[guid]uint32{}
	r := rand.New(rand.NewPCG(9, 10))
	ids := make([]guid, 3000)
	for i := range ids {
		ids[i][0], ids[i][1], ids[i][9] = byte(i), byte(i>>8), byte(r.IntN(3))
	}
	for step := 0; step < 100000; step++ {
		id := ids[r.IntN(len(ids))]
		if _, ok := model[id]; !ok && r.IntN(2) == 0 {
			slots = append(slots, slot{id: id})
			si := uint32(len(slots) - 1)
			tab.put(id, si)
			model[id] = si
		} else if ok {
			tab.del(id, slots)
			delete(model, id)
		}
		if step%499 == 0 {
			for _, id := range ids {
				si, ok := tab.get(id, slots)
				want, wok := model[id]
				if ok != wok || si != want {
					t.Fatalf("step %d: %x -> %d %v, want %d %v", step, id, si, ok, want, wok)
				}
			}
		}
	}
}
