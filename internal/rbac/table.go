package rbac

import "encoding/binary"

// principalGrants is one principal's assignments, stored inline in the
// principal table so that a check reaches the grant list with one
// dependent memory access instead of three (map slot, pointer, list).
type principalGrants struct {
	key     guid
	list    []grant
	byScope map[string][]grant // built once list grows past bigPrincipal
}

// principalTable is an open-addressing hash table with linear probing,
// keyed by principal GUID. An entry is in use while its list is non-empty
// (a principal without assignments is removed), so no tombstones are
// needed: deletion shifts the following cluster back.
type principalTable struct {
	slots []principalGrants // length is a power of two
	used  int
}

func (t *principalTable) home(k guid) int {
	h := binary.LittleEndian.Uint64(k[:8]) ^ bits64(binary.LittleEndian.Uint64(k[8:]))
	return int((h * 0x9E3779B97F4A7C15) >> 32 & uint64(len(t.slots)-1))
}

func bits64(x uint64) uint64 { return x<<29 | x>>35 }

// find returns the principal's entry, or nil. The pointer is valid until
// the next insert or delete.
func (t *principalTable) find(k guid) *principalGrants {
	if len(t.slots) == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & mask {
		e := &t.slots[i]
		if len(e.list) == 0 {
			return nil
		}
		if e.key == k {
			return e
		}
	}
}

// insert returns the principal's entry, creating an empty one (which the
// caller must fill with at least one grant) when absent.
func (t *principalTable) insert(k guid) *principalGrants {
	if e := t.find(k); e != nil {
		return e
	}
	if (t.used+1)*2 > len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	i := t.home(k)
	for len(t.slots[i].list) != 0 {
		i = (i + 1) & mask
	}
	t.used++
	t.slots[i] = principalGrants{key: k}
	return &t.slots[i]
}

func (t *principalTable) grow() {
	old := t.slots
	n := 1024
	if len(old) > 0 {
		n = len(old) * 2
	}
	t.slots = make([]principalGrants, n)
	mask := n - 1
	for _, e := range old {
		if len(e.list) == 0 {
			continue
		}
		i := t.home(e.key)
		for len(t.slots[i].list) != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = e
	}
}

// remove deletes the entry for k (whose list the caller emptied) and
// moves later members of its probe cluster back so lookups still find them.
func (t *principalTable) remove(k guid) {
	mask := len(t.slots) - 1
	i := t.home(k)
	for n := 0; t.slots[i].key != k; n++ {
		if n == len(t.slots) {
			return
		}
		i = (i + 1) & mask
	}
	t.slots[i] = principalGrants{}
	t.used--
	for j := (i + 1) & mask; len(t.slots[j].list) != 0; j = (j + 1) & mask {
		h := t.home(t.slots[j].key)
		// Move j back to i unless its home lies cyclically in (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			t.slots[i], t.slots[j] = t.slots[j], principalGrants{}
			i = j
		}
	}
}

func (t *principalTable) len() int { return t.used }
