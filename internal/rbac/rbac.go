// Package rbac is Ward's authorization decision engine, pure Go with no
// HTTP or SQL: role definitions, role assignments at hierarchical scopes,
// and Authorize, which answers from an in-memory index kept current by the
// caller (Put/Delete on every storage change).
//
// Matching follows Azure RBAC: actions compare case-insensitively with '*'
// wildcards; a role grants (actions − notActions) and, separately,
// (dataActions − notDataActions); assignments at a scope apply to every
// scope below it; a control-plane '*' never grants data actions.
package rbac

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Assignment gives a principal a role at a scope.
type Assignment struct {
	ID          string // GUID name of the assignment
	Scope       string // "/", "/subscriptions/s", ".../resourceGroups/rg", a resource ID
	PrincipalID string
	RoleID      string // role definition GUID
}

// Decision is the answer to an authorization question.
type Decision struct {
	Allowed    bool
	assignment guid
}

// AssignmentID names the assignment that allowed the decision ("" when
// denied). It formats the ID, so call it only when needed.
func (d Decision) AssignmentID() string {
	if !d.Allowed {
		return ""
	}
	return d.assignment.String()
}

type compiledRole struct {
	id                      string
	actions, notActions     []string // lower-cased patterns
	dataActions, notDataAct []string
}

// grant is one assignment as a principal's list holds it: 8 bytes. hash
// lets a check reject grants at unrelated scopes without reading anything
// else; slot leads to the scope, role and ID when the hash matches.
type grant struct {
	hash uint32 // scopeHash of the normalized scope
	slot uint32 // index into Engine.slots
}

// slot is one assignment by ID, for deletes and for naming the assignment
// that allowed a decision: 40 bytes.
type slot struct {
	id        guid
	principal guid
	scope     uint32
	role      uint16
}

type guid [16]byte

// hexPos are the offsets of a GUID's 32 hex digits in its 36-character form.
var hexPos = [32]uint8{0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35}

// hexTable maps an ASCII byte to its hex value, or 255.
var hexTable = func() (t [256]byte) {
	for i := range t {
		t[i] = 255
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c], t[c-'a'+'A'] = byte(c-'a'+10), byte(c-'a'+10)
	}
	return t
}()

// parseGUID reads a GUID in any letter case, without allocating.
func parseGUID(s string) (guid, bool) {
	var g guid
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	bad := byte(0)
	for i := 0; i < 16; i++ {
		hi, lo := hexTable[s[hexPos[2*i]]], hexTable[s[hexPos[2*i+1]]]
		bad |= hi | lo
		g[i] = hi<<4 | lo
	}
	return g, bad&0xf0 == 0
}

func (g guid) String() string {
	const hexd = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			b[i] = '-'
			continue
		}
		v := g[j/2]
		if j%2 == 0 {
			v >>= 4
		}
		b[i] = hexd[v&15]
		j++
	}
	return string(b[:])
}

// bigPrincipal is the threshold above which a principal's grants are
// indexed by scope instead of scanned.
const bigPrincipal = 32

// Engine holds role definitions and the assignment index. It is safe for
// concurrent use: checks share a read lock and allocate nothing.
type Engine struct {
	mu         sync.RWMutex
	roles      []compiledRole
	roleIndex  map[string]uint16 // lower GUID -> index
	principals principalTable
	big        map[guid]map[string][]grant // principals with more than bigPrincipal grants, by scope
	byID       idTable                     // assignment ID -> slot
	slots      []slot
	free       []uint32
	scopeIndex map[string]uint32 // normalized scope -> index
	scopeNames []string
}

// New returns an engine that knows the built-in roles.
func New() *Engine {
	e := &Engine{roleIndex: map[string]uint16{}, scopeIndex: map[string]uint32{},
		big: map[guid]map[string][]grant{}, slots: make([]slot, 1)} // slot 0 is never used
	for _, r := range BuiltInRoles() {
		e.PutRole(r)
	}
	return e
}

// lowerAll lower-cases patterns. A "/*/" in a pattern also matches no
// segment at all, as in Azure, where Managed Identity Operator's
// ".../userAssignedIdentities/*/assign/action" grants
// ".../userAssignedIdentities/assign/action": each such pattern is compiled
// with its collapsed variants too, so the hot matcher stays simple.
func lowerAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.ToLower(s)
		out = append(out, s)
		for i := 0; i < 4 && strings.Contains(s, "/*/"); i++ {
			s = strings.Replace(s, "/*/", "/", 1)
			out = append(out, s)
		}
	}
	return out
}

// PutRole adds or replaces a role definition.
func (e *Engine) PutRole(r RoleDefinition) {
	c := compiledRole{id: strings.ToLower(r.ID)}
	for _, p := range r.Permissions {
		c.actions = append(c.actions, lowerAll(p.Actions)...)
		c.notActions = append(c.notActions, lowerAll(p.NotActions)...)
		c.dataActions = append(c.dataActions, lowerAll(p.DataActions)...)
		c.notDataAct = append(c.notDataAct, lowerAll(p.NotDataActions)...)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if i, ok := e.roleIndex[c.id]; ok {
		e.roles[i] = c
		return
	}
	e.roleIndex[c.id] = uint16(len(e.roles))
	e.roles = append(e.roles, c)
}

// NormalizeScope folds a scope for comparison: lower case, no trailing
// slash, "/" for the root.
func NormalizeScope(s string) string {
	s = strings.ToLower(strings.TrimRight(s, "/"))
	if s == "" {
		return "/"
	}
	return s
}

// Put adds or replaces an assignment in the index. The assignment and
// principal IDs must be GUIDs (ARM requires it); an unknown role can grant
// nothing and is not indexed.
func (e *Engine) Put(a Assignment) error {
	id, ok := parseGUID(a.ID)
	if !ok {
		return fmt.Errorf("role assignment ID %q is not a GUID", a.ID)
	}
	principal, ok := parseGUID(a.PrincipalID)
	if !ok {
		return fmt.Errorf("principal ID %q is not a GUID", a.PrincipalID)
	}
	scope := NormalizeScope(a.Scope)
	e.mu.Lock()
	defer e.mu.Unlock()
	ri, ok := e.roleIndex[strings.ToLower(a.RoleID)]
	if !ok {
		return fmt.Errorf("role definition %q is not known", a.RoleID)
	}
	if _, exists := e.byID.get(id, e.slots); exists {
		e.deleteLocked(id)
	}
	sc, ok := e.scopeIndex[scope]
	if !ok {
		sc = uint32(len(e.scopeNames))
		e.scopeNames = append(e.scopeNames, scope)
		e.scopeIndex[scope] = sc
	}
	var si uint32
	if n := len(e.free); n > 0 {
		si, e.free = e.free[n-1], e.free[:n-1]
	} else {
		si = uint32(len(e.slots))
		e.slots = append(e.slots, slot{})
	}
	pg := e.principals.insert(principal)
	g := grant{hash: scopeHash(scope), slot: si}
	e.slots[si] = slot{id: id, principal: principal, scope: sc, role: ri}
	e.byID.put(id, si)
	e.principals.add(pg, g)
	if idx := e.big[principal]; idx != nil {
		idx[scope] = append(idx[scope], g)
	} else if pg.count() > bigPrincipal {
		idx = map[string][]grant{}
		e.principals.each(pg, func(x grant) bool {
			name := e.scopeNames[e.slots[x.slot].scope]
			idx[name] = append(idx[name], x)
			return false
		})
		e.big[principal] = idx
	}
	return nil
}

// Delete removes an assignment by ID; it reports whether it was indexed.
func (e *Engine) Delete(id string) bool {
	g, ok := parseGUID(id)
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.deleteLocked(g)
}

func (e *Engine) deleteLocked(id guid) bool {
	si, ok := e.byID.get(id, e.slots)
	if !ok {
		return false
	}
	s := e.slots[si]
	e.byID.del(id, e.slots)
	e.slots[si] = slot{}
	e.free = append(e.free, si)
	pg := e.principals.find(s.principal)
	e.principals.drop(pg, si)
	if idx := e.big[s.principal]; idx != nil {
		name := e.scopeNames[s.scope]
		if l := removeGrant(idx[name], si); len(l) == 0 {
			delete(idx, name)
		} else {
			idx[name] = l
		}
	}
	if !pg.used() {
		e.principals.remove(s.principal)
		delete(e.big, s.principal)
	}
	return true
}

func removeGrant(l []grant, si uint32) []grant {
	for i, g := range l {
		if g.slot == si {
			l[i] = l[len(l)-1]
			return l[:len(l)-1]
		}
	}
	return l
}

// IDs lists the indexed assignment IDs (a resync compares them with the
// database).
func (e *Engine) IDs() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var zero guid
	out := make([]string, 0, e.byID.used)
	for _, s := range e.slots[1:] {
		if s.id != zero {
			out = append(out, s.id.String())
		}
	}
	return out
}

// AssignmentIDsOf lists the IDs of principal's indexed assignments, for a
// caller that reads one principal's assignments by point reads instead of
// scanning every assignment (the console's graph, a page at a time).
func (e *Engine) AssignmentIDsOf(principal string) []string {
	pid, ok := parseGUID(principal)
	if !ok {
		return nil
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	pg := e.principals.find(pid)
	if pg == nil {
		return nil
	}
	var out []string
	e.principals.each(pg, func(g grant) bool {
		out = append(out, e.slots[g.slot].id.String())
		return false
	})
	return out
}

// Len reports how many assignments are indexed.
func (e *Engine) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.byID.used
}

// Authorize decides whether principal may perform action at scope. data
// selects data actions (dataActions/notDataActions) instead of actions.
// principal, action and scope may be in any letter case.
func (e *Engine) Authorize(principal, action, scope string, data bool) Decision {
	pid, ok := parseGUID(principal)
	if !ok {
		return Decision{}
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	pg := e.principals.find(pid)
	if pg == nil {
		return Decision{}
	}
	if pg.n < bigPrincipal {
		return e.scanAll(pg, action, scope, data)
	}
	idx := e.big[pid]
	// Many grants: walk the scope's ancestors, lower-cased in a stack
	// buffer so that the map lookups allocate nothing.
	var buf [512]byte
	if len(scope) > len(buf) {
		return e.scanAll(pg, action, scope, data)
	}
	b := buf[:len(scope)]
	for i := 0; i < len(scope); i++ {
		b[i] = lower(scope[i])
	}
	for len(b) > 1 && b[len(b)-1] == '/' {
		b = b[:len(b)-1]
	}
	for end := len(b); ; {
		key := b[:end]
		if end == 0 {
			key = buf[:1]
			key[0] = '/'
		}
		for _, g := range idx[string(key)] {
			if e.roles[e.slots[g.slot].role].allows(action, data) {
				return e.allowed(g)
			}
		}
		if end == 0 || (end == 1 && b[0] == '/') {
			return Decision{}
		}
		end = lastSlash(b[:end])
	}
}

func (e *Engine) scanAll(pg *principalGrants, action, scope string, data bool) Decision {
	var hashes [maxPrefixes]uint32
	n, ok := ancestorHashes(scope, &hashes)
	if !ok {
		var d Decision
		e.principals.each(pg, func(g grant) bool {
			d = e.check(g, action, scope, data)
			return d.Allowed
		})
		return d
	}
	// A 64-bit filter of the ancestor hashes rejects most grants with one
	// test before the exact comparison.
	var filter uint64
	for _, h := range hashes[:n] {
		filter |= 1 << (h & 63)
	}
	if g := pg.first; filter&(1<<(g.hash&63)) != 0 && slices.Contains(hashes[:n], g.hash) {
		if d := e.check(g, action, scope, data); d.Allowed {
			return d
		}
	}
	for _, g := range e.principals.rest(pg) {
		if filter&(1<<(g.hash&63)) != 0 && slices.Contains(hashes[:n], g.hash) {
			if d := e.check(g, action, scope, data); d.Allowed {
				return d
			}
		}
	}
	return Decision{}
}

// check decides one grant exactly: its scope covers scope and its role
// allows the action.
func (e *Engine) check(g grant, action, scope string, data bool) Decision {
	s := &e.slots[g.slot]
	if isAncestor(e.scopeNames[s.scope], scope) && e.roles[s.role].allows(action, data) {
		return Decision{Allowed: true, assignment: s.id}
	}
	return Decision{}
}

// allowed names the assignment behind g. The ID is a [16]byte; the string
// form is only built for callers that log it (AssignmentGUID avoids even that).
func (e *Engine) allowed(g grant) Decision {
	return Decision{Allowed: true, assignment: e.slots[g.slot].id}
}

func lastSlash(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '/' {
			return i
		}
	}
	return 0
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isAncestor reports whether assignment scope a (normalized) covers scope s
// (any case): a equals s or is a prefix of it ending at a '/' boundary.
// Scopes cover whole segments, so /subscriptions/ab does not cover
// /subscriptions/abc.
func isAncestor(a, s string) bool {
	if a == "/" {
		return true
	}
	for len(s) > 1 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	if len(s) < len(a) || !equalFoldASCII(a, s[:len(a)]) {
		return false
	}
	return len(s) == len(a) || s[len(a)] == '/'
}

func equalFoldASCII(lowerA, b string) bool {
	for i := 0; i < len(lowerA); i++ {
		if lowerA[i] != lower(b[i]) {
			return false
		}
	}
	return true
}

func (r *compiledRole) allows(action string, data bool) bool {
	allow, deny := r.actions, r.notActions
	if data {
		allow, deny = r.dataActions, r.notDataAct
	}
	ok := false
	for _, p := range allow {
		if match(p, action) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	for _, p := range deny {
		if match(p, action) {
			return false
		}
	}
	return true
}

// match reports whether action (any case) matches the lower-cased pattern,
// where '*' matches any run of characters, '/' included.
func match(pattern, action string) bool {
	p, a := 0, 0
	star, mark := -1, 0
	for a < len(action) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, a
			p++
		case p < len(pattern) && pattern[p] == lower(action[a]):
			p++
			a++
		case star >= 0:
			p = star + 1
			mark++
			a = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
