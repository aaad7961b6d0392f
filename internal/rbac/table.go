package rbac

import "math/bits"

// inlineGrants is how many grants live in the principal's table entry;
// most principals have no more, so a check touches one cache line for the
// principal and its grants, and one more for the rest of a longer list.
const inlineGrants = 3

// principalGrants is one principal's assignments, stored in the principal
// table itself: 64 bytes, one cache line (the table's backing array is a
// large allocation, so entries are line-aligned). Slot 0 is never used, so
// a zero grant marks a free inline place and a zero inline[0] a free entry.
type principalGrants struct {
	key    guid
	inline [inlineGrants]grant
	more   []grant // grants beyond the inline ones
}

func (p *principalGrants) used() bool { return p.inline[0].slot != 0 }

func (p *principalGrants) inlineLen() int {
	n := 0
	for n < inlineGrants && p.inline[n].slot != 0 {
		n++
	}
	return n
}

func (p *principalGrants) count() int { return p.inlineLen() + len(p.more) }

// each calls fn with each grant until it returns true.
func (p *principalGrants) each(fn func(g grant) bool) bool {
	for _, g := range p.inline[:p.inlineLen()] {
		if fn(g) {
			return true
		}
	}
	for _, g := range p.more {
		if fn(g) {
			return true
		}
	}
	return false
}

func (p *principalGrants) add(g grant) {
	if k := p.inlineLen(); k < inlineGrants {
		p.inline[k] = g
		return
	}
	p.more = append(p.more, g)
}

// remove drops the grant for slot si, moving the last grant into its place.
func (p *principalGrants) remove(si uint32) bool {
	k := p.inlineLen()
	last := func() grant {
		if n := len(p.more); n > 0 {
			g := p.more[n-1]
			if p.more = p.more[:n-1]; len(p.more) == 0 {
				p.more = nil
			}
			return g
		}
		k--
		g := p.inline[k]
		p.inline[k] = grant{}
		return g
	}
	for i := 0; i < k; i++ {
		if p.inline[i].slot == si {
			g := last()
			if g.slot != si {
				p.inline[i] = g
			}
			return true
		}
	}
	for i := range p.more {
		if p.more[i].slot == si {
			g := last()
			if g.slot != si {
				p.more[i] = g
			}
			return true
		}
	}
	return false
}

// principalTable is an open-addressing hash table with linear probing,
// keyed by principal GUID. A principal without assignments is removed, so
// there are no tombstones: deletion shifts the rest of the cluster back.
type principalTable struct {
	slots []principalGrants // length is a power of two
	used  int
}

func (t *principalTable) home(k guid) int {
	lo := uint64(k[0]) | uint64(k[1])<<8 | uint64(k[2])<<16 | uint64(k[3])<<24 | uint64(k[4])<<32 | uint64(k[5])<<40 | uint64(k[6])<<48 | uint64(k[7])<<56
	hi := uint64(k[8]) | uint64(k[9])<<8 | uint64(k[10])<<16 | uint64(k[11])<<24 | uint64(k[12])<<32 | uint64(k[13])<<40 | uint64(k[14])<<48 | uint64(k[15])<<56
	h := (lo ^ bits.RotateLeft64(hi, 29)) * 0x9E3779B97F4A7C15
	return int(h>>32) & (len(t.slots) - 1)
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
