package rbac

import "math/bits"

// principalGrants is one principal's assignments as the principal table
// holds them: 32 bytes, two to a cache line. The first grant is inline, so
// a principal with one assignment costs a check one cache line; the rest
// sit together in the table's arena (one more line for up to eight).
// Slot 0 is never used, so a zero first grant marks a free entry.
type principalGrants struct {
	key   guid
	first grant
	off   uint32 // the rest: arena[off : off+n]
	n     uint32
}

func (p *principalGrants) used() bool { return p.first.slot != 0 }

func (p *principalGrants) count() int {
	if !p.used() {
		return 0
	}
	return 1 + int(p.n)
}

// chunkClass is the size class (capacity 1<<class grants) that holds n.
func chunkClass(n uint32) int {
	if n <= 1 {
		return 0
	}
	return bits.Len32(n - 1)
}

// principalTable is an open-addressing hash table with linear probing,
// keyed by principal GUID. A principal without assignments is removed, so
// there are no tombstones: deletion shifts the rest of the cluster back.
type principalTable struct {
	slots []principalGrants // length is a power of two
	used  int
	arena []grant      // every principal's grants beyond the first, in chunks
	free  [32][]uint32 // offsets of free chunks by size class
}

// rest returns p's grants beyond the first.
func (t *principalTable) rest(p *principalGrants) []grant {
	return t.arena[p.off : p.off+p.n : p.off+p.n]
}

// each calls fn with each of p's grants until it returns true.
func (t *principalTable) each(p *principalGrants, fn func(g grant) bool) bool {
	if !p.used() || fn(p.first) {
		return p.used()
	}
	for _, g := range t.rest(p) {
		if fn(g) {
			return true
		}
	}
	return false
}

// alloc returns the offset of a free chunk of the class. Chunks of up to
// eight grants never cross a 64-byte line: each starts at a multiple of
// its own size (or of eight).
func (t *principalTable) alloc(class int) uint32 {
	if l := t.free[class]; len(l) > 0 {
		off := l[len(l)-1]
		t.free[class] = l[:len(l)-1]
		return off
	}
	size := 1 << class
	align := min(size, 8)
	for len(t.arena)%align != 0 {
		t.arena = append(t.arena, grant{})
	}
	off := uint32(len(t.arena))
	t.arena = append(t.arena, make([]grant, size)...)
	return off
}

func (t *principalTable) release(off, n uint32) {
	c := chunkClass(n)
	clear(t.arena[off : off+1<<c])
	t.free[c] = append(t.free[c], off)
}

// add appends a grant to p.
func (t *principalTable) add(p *principalGrants, g grant) {
	if !p.used() {
		p.first = g
		return
	}
	if p.n == 0 {
		p.off = t.alloc(0)
	} else if chunkClass(p.n+1) != chunkClass(p.n) {
		off := t.alloc(chunkClass(p.n + 1))
		copy(t.arena[off:], t.rest(p))
		t.release(p.off, p.n)
		p.off = off
	}
	t.arena[p.off+p.n] = g
	p.n++
}

// drop removes the grant for slot si from p, moving the last grant into
// its place; it reports whether p had it.
func (t *principalTable) drop(p *principalGrants, si uint32) bool {
	var at *grant
	if p.first.slot == si {
		at = &p.first
	} else {
		rest := t.rest(p)
		for i := range rest {
			if rest[i].slot == si {
				at = &rest[i]
				break
			}
		}
	}
	if at == nil {
		return false
	}
	if p.n == 0 {
		p.first = grant{}
		return true
	}
	*at = t.arena[p.off+p.n-1]
	t.arena[p.off+p.n-1] = grant{}
	p.n--
	switch {
	case p.n == 0:
		t.release(p.off, 1)
		p.off = 0
	case chunkClass(p.n) != chunkClass(p.n+1):
		// A chunk's class is always that of its length, so release can
		// find it again: move down a class when the list shrinks past one.
		off := t.alloc(chunkClass(p.n))
		copy(t.arena[off:], t.rest(p))
		t.release(p.off, p.n+1)
		p.off = off
	}
	return true
}

func (t *principalTable) home(k guid) int {
	return int(guidHash(k)>>32) & (len(t.slots) - 1)
}

// find returns the principal's entry, or nil. The pointer is valid until
// the next insert or remove.
func (t *principalTable) find(k guid) *principalGrants {
	if len(t.slots) == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & mask {
		e := &t.slots[i]
		if !e.used() {
			return nil
		}
		if e.key == k {
			return e
		}
	}
}

// insert returns the principal's entry, creating an empty one (which the
// caller must give a grant before the next call) when absent.
func (t *principalTable) insert(k guid) *principalGrants {
	if e := t.find(k); e != nil {
		return e
	}
	if (t.used+1)*2 > len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	i := t.home(k)
	for t.slots[i].used() {
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
		if !e.used() {
			continue
		}
		i := t.home(e.key)
		for t.slots[i].used() {
			i = (i + 1) & mask
		}
		t.slots[i] = e
	}
}

// remove deletes the entry for k (which the caller emptied) and moves later
// members of its probe cluster back so that lookups still find them.
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
	for j := (i + 1) & mask; t.slots[j].used(); j = (j + 1) & mask {
		h := t.home(t.slots[j].key)
		// Move j back to the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			t.slots[i], t.slots[j] = t.slots[j], principalGrants{}
			i = j
		}
	}
}

func (t *principalTable) len() int { return t.used }

// idTable maps assignment IDs to slots: an open-addressing table of
// 8-byte entries (32 bits of the ID's hash, then the slot index), the ID
// itself being read from the slot on a tag match. It replaces a Go map
// whose entries cost about five times as much.
type idTable struct {
	e    []uint64 // 0 = free; slot indices start at 1
	used int
}

func guidHash(k guid) uint64 {
	lo := uint64(k[0]) | uint64(k[1])<<8 | uint64(k[2])<<16 | uint64(k[3])<<24 | uint64(k[4])<<32 | uint64(k[5])<<40 | uint64(k[6])<<48 | uint64(k[7])<<56
	hi := uint64(k[8]) | uint64(k[9])<<8 | uint64(k[10])<<16 | uint64(k[11])<<24 | uint64(k[12])<<32 | uint64(k[13])<<40 | uint64(k[14])<<48 | uint64(k[15])<<56
	return (lo ^ bits.RotateLeft64(hi, 29)) * 0x9E3779B97F4A7C15
}

func (t *idTable) home(h uint64) int { return int(h>>32) & (len(t.e) - 1) }

// get returns the slot holding id.
func (t *idTable) get(id guid, slots []slot) (uint32, bool) {
	if len(t.e) == 0 {
		return 0, false
	}
	h := guidHash(id)
	tag := h & 0xffffffff00000000
	mask := len(t.e) - 1
	for i := t.home(h); t.e[i] != 0; i = (i + 1) & mask {
		if t.e[i]&0xffffffff00000000 == tag && slots[uint32(t.e[i])].id == id {
			return uint32(t.e[i]), true
		}
	}
	return 0, false
}

// put records that id (not present) lives in slot si.
func (t *idTable) put(id guid, si uint32) {
	if (t.used+1)*2 > len(t.e) {
		t.grow()
	}
	h := guidHash(id)
	mask := len(t.e) - 1
	i := t.home(h)
	for t.e[i] != 0 {
		i = (i + 1) & mask
	}
	t.e[i] = h&0xffffffff00000000 | uint64(si)
	t.used++
}

func (t *idTable) grow() {
	old := t.e
	n := 1024
	if len(old) > 0 {
		n = 2 * len(old)
	}
	t.e = make([]uint64, n)
	mask := n - 1
	for _, x := range old {
		if x == 0 {
			continue
		}
		// The tag is the hash's top 32 bits, which is all home needs.
		i := t.home(x)
		for t.e[i] != 0 {
			i = (i + 1) & mask
		}
		t.e[i] = x
	}
}

// del removes id, shifting the rest of its cluster back.
func (t *idTable) del(id guid, slots []slot) {
	si, ok := t.get(id, slots)
	if !ok {
		return
	}
	mask := len(t.e) - 1
	i := t.home(guidHash(id))
	for uint32(t.e[i]) != si {
		i = (i + 1) & mask
	}
	t.e[i] = 0
	t.used--
	for j := (i + 1) & mask; t.e[j] != 0; j = (j + 1) & mask {
		h := t.home(t.e[j])
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			t.e[i], t.e[j] = t.e[j], 0
			i = j
		}
	}
}
