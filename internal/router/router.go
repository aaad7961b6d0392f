// Package router is Ward's one routing table. Every part of the server
// mounts its routes here, and every route says when it is mounted who may
// call it: the public (discovery, token endpoints), an RBAC action checked
// at the route's scope, or an authenticated caller whom the handler
// authorizes per object (with the rule written down). The mux refuses a
// route without that declaration, enforces it before the handler runs
// (auth.go: one authenticator per protocol, one authorizer), answers every
// request that matches no route with a 404 before any handler runs, and the
// table it serves from is the one the authorization tests enumerate, so a
// route can neither be forgotten by the tests nor reached without its rule.
//
// Literal path segments match case-insensitively (ARM and Entra paths are
// case-insensitive); {name} captures one segment as sent, {name...} captures
// zero or more segments (a scope).
package router

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// AccessKind says what kind of rule protects a route.
type AccessKind int

// The kinds of rule.
const (
	accessUnset AccessKind = iota
	// KindPublic routes serve anyone (discovery documents, token endpoints).
	KindPublic
	// KindAction routes need an RBAC action at the route's scope.
	KindAction
	// KindHandler routes need an authenticated caller; the handler decides
	// per object (self, owner, filtered list, data actions) as Rule says.
	KindHandler
)

// Access is who may call a route.
type Access struct {
	Kind AccessKind
	// Action is the RBAC action (KindAction), e.g.
	// Microsoft.ManagedIdentity/userAssignedIdentities/read.
	Action string
	// Rule explains the check in words (KindPublic, KindHandler); it is
	// what the route table (docs/routes.md) prints. On a KindAction route
	// it is what the handler checks beyond the action, if anything.
	Rule string
	// Data marks Action as a data action (a role's dataActions, as the
	// vault's), which the authorizer decides apart from actions.
	Data bool
	// Scope, when set, resolves where Action is checked; Where says it in
	// words. Nil is the protocol's default scope (see Authenticator).
	Scope ScopeFunc
	Where string
}

// Public is a route anyone may call; why says why that is safe.
func Public(why string) Access { return Access{Kind: KindPublic, Rule: why} }

// Action is a route that needs action at the request's scope: the scope
// its protocol's authenticator derives from the request (ARM: the resource
// in the path), "/" for a protocol without one.
func Action(action string) Access { return Access{Kind: KindAction, Action: action} }

// ActionAt is a route that needs action at the scope that scope resolves;
// where says which in words ("'/'", "the service principal's scope").
func ActionAt(action, where string, scope ScopeFunc) Access {
	return Access{Kind: KindAction, Action: action, Where: where, Scope: scope}
}

// DataAction is a route that needs the data action at the scope that
// scope resolves, described by where.
func DataAction(action, where string, scope ScopeFunc) Access {
	return Access{Kind: KindAction, Action: action, Data: true, Where: where, Scope: scope}
}

// Root is the scope "/": tenant-wide operations.
func Root(*http.Request, Params) (string, error) { return "/", nil }

// Then adds to an action what the handler checks beyond it, in words.
func (a Access) Then(rule string) Access { a.Rule = rule; return a }

// Handler is an authenticated route whose handler authorizes each object;
// rule says how.
func Handler(rule string) Access { return Access{Kind: KindHandler, Rule: rule} }

func (a Access) String() string {
	switch a.Kind {
	case KindPublic:
		return "public: " + a.Rule
	case KindAction:
		s := "action " + a.Action
		if a.Data {
			s = "data action " + a.Action
		}
		if a.Where != "" {
			s += " at " + a.Where
		}
		if a.Rule != "" {
			s += "; then " + a.Rule
		}
		return s
	case KindHandler:
		return "authenticated; " + a.Rule
	}
	return "undeclared"
}

// Route is one method on one path pattern.
type Route struct {
	// Host is "" for every host, or the name of a host class registered with
	// Mux.HostClass (vault hosts).
	Host    string
	Method  string
	Pattern string
	Access  Access
	Handler http.Handler
	// Protocol is the part's wire protocol: the envelope of a recovered
	// panic's 500 and the request ID headers; nil is plain text, no IDs.
	Protocol *Protocol
	// MaxBody caps the request body for this route, below the mux's cap
	// (a token form, a secret); 0 is the mux's cap. A read past it fails
	// with *http.MaxBytesError, which the handler answers in its protocol
	// (413 where the protocol has one).
	MaxBody int64
	// Stream marks a route whose body streams to a store that bounds it
	// itself (a container registry's blob uploads, gigabytes long): no
	// body cap, and StreamReadTimeout instead of the mux's read timeout.
	Stream bool
	// StreamsBody says the handler streams the body to disk (blob uploads):
	// MaxBody then replaces the mux's cap instead of lowering it, and the
	// handler moves the read deadline forward as bytes arrive.
	StreamsBody bool

	segs []segment
	// multiAt is the index of the {name...} segment, or -1.
	multiAt int
}

type segment struct {
	lit   string // lower-cased literal, or ""
	name  string // capture name
	multi bool   // {name...}
	// pre and suf surround a capture inside one segment, as in Graph's
	// alternate key servicePrincipals(appId='{appId}'); lower-cased.
	pre, suf string
}

// Key names the route in tests and documents: "GET /subscriptions/{sub}".
func (rt Route) Key() string {
	k := rt.Method + " " + rt.Pattern
	if rt.Host != "" {
		k = rt.Method + " " + rt.Host + ":" + rt.Pattern
	}
	return k
}

// Param is one segment a route's pattern captured.
type Param struct{ Name, Value string }

// Params are a matched route's captured segments, in the pattern's order.
// A pattern names each capture once and captures a handful at most, so a
// scan is the whole lookup; the mux keeps them in the request's own state,
// where a map cost every routed request two allocations.
type Params []Param

// Get returns the segment captured as name, or "" when the route has no
// such capture.
func (p Params) Get(name string) string {
	for _, c := range p {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// FromContext returns the route that matched the request and its params.
func FromContext(ctx context.Context) (Route, Params, bool) {
	q := stateOf(ctx)
	if q == nil || q.route == nil {
		return Route{}, nil, false
	}
	return *q.route, q.params, true
}

// WithRoute returns ctx carrying rt as the matched route (for tests of a
// handler outside the mux).
func WithRoute(ctx context.Context, rt Route, p Params) context.Context {
	q := derive(ctx)
	q.route, q.params = &rt, p
	return q
}

// Fallback writes the answer for a request no route matched, in the
// protocol of the path (ARM's envelope, Graph's, plain text). status is 404
// when no pattern matched and 405 when one matched with another method.
type Fallback func(w http.ResponseWriter, r *http.Request, status int, allowed []string)

// Mux routes requests by host class, method and pattern.
type Mux struct {
	// Wrap, when set before routes are mounted, wraps each route's handler
	// with the router's check inside (metrics by route pattern, refusals
	// included).
	Wrap func(Route, http.Handler) http.Handler
	// Inner, when set before routes are mounted, wraps each route's own
	// handler inside the router's check: it sees only requests whose rule
	// passed (tests that prove a refused request reaches no handler).
	Inner func(Route, http.Handler) http.Handler
	// Logger, when set, gets one access log line per request and every
	// recovered panic.
	Logger *slog.Logger
	// AccessLog, when set, gets the access log instead of Logger.
	AccessLog *slog.Logger
	// Settle, when set, runs for a request whose context saw a committed
	// write (storage.NoteWrite): before the first byte of its answer is
	// written, and again when its handler returns if it wrote since. It
	// gets the request as the mux received it, whose context has no
	// write mark. The server brings this replica's views up to date there.
	Settle func(r *http.Request)
	// MaxBody caps every request body (a route may declare less); 0 is
	// DefaultMaxBody.
	MaxBody int64
	// ReadTimeout is how long a request's body may take to arrive, so a
	// client that trickles its body cannot hold a connection; 0 is
	// DefaultReadTimeout.
	ReadTimeout time.Duration

	// Authorizer decides every route's declared action (auth.go); nil
	// refuses every action.
	Authorizer Authorizer

	routes []*Route
	// byFirst indexes the routes whose first segment is a literal by that
	// literal. The others (a capture or no segment first) are indexed by
	// their last segment's literal in byLast, and listed in wild when
	// their last segment is not a literal either; each list is in
	// mounting order. A request is matched against the routes of its
	// first segment, those of its last and the wild ones, not the whole
	// table: the token endpoint, /{tenant}/oauth2/v2.0/token, no longer
	// waits behind every /{scope...}/providers/... route.
	byFirst   map[string][]int
	byLast    map[string][]int
	wild      []int
	hosts     map[string]func(host string) bool
	fallbacks []prefixFallback
	auths     map[string]*Authenticator
}

type prefixFallback struct {
	host   string
	prefix string // lower-cased path prefix
	fb     Fallback
}

// Limits on every request body unless the Mux or the route says otherwise.
const (
	DefaultMaxBody     = 8 << 20
	DefaultReadTimeout = 20 * time.Second
	// StreamReadTimeout bounds how long a streamed body (Route.Stream)
	// may take to arrive.
	StreamReadTimeout = 30 * time.Minute
)

// New returns an empty Mux.
func New() *Mux {
	return &Mux{hosts: map[string]func(string) bool{}, auths: map[string]*Authenticator{}}
}

// HostClass registers a named class of hosts (e.g. "vault": any
// <name>.vault.<domain>). Routes with Host set to the name serve only those
// hosts, and requests to those hosts match only those routes.
func (m *Mux) HostClass(name string, match func(host string) bool) { m.hosts[name] = match }

// NotFound sets how unmatched requests under a path prefix (and host class,
// "" for any other host) are answered. The longest prefix wins.
func (m *Mux) NotFound(host, prefix string, fb Fallback) {
	m.fallbacks = append(m.fallbacks, prefixFallback{host: host, prefix: strings.ToLower(prefix), fb: fb})
}

// Handle mounts a route. It panics on a route without an access rule, with
// an unknown host class or a malformed pattern: these are programming
// errors that must fail the first test that builds the server.
func (m *Mux) Handle(rt Route) {
	if rt.Access.Kind == accessUnset || (rt.Access.Kind == KindAction && rt.Access.Action == "") ||
		(rt.Access.Kind != KindAction && rt.Access.Rule == "") {
		panic(fmt.Sprintf("router: %s is mounted without an access rule: declare router.Public, router.Action or router.Handler", rt.Key()))
	}
	if rt.Access.Kind != KindAction && (rt.Access.Scope != nil || rt.Access.Data || rt.Access.Where != "") ||
		(rt.Access.Scope == nil) != (rt.Access.Where == "") {
		panic(fmt.Sprintf("router: %s declares a scope without an action, or a scope without saying where (Where)", rt.Key()))
	}
	if rt.Host != "" {
		if _, ok := m.hosts[rt.Host]; !ok {
			panic(fmt.Sprintf("router: %s names host class %q, which is not registered", rt.Key(), rt.Host))
		}
	}
	if rt.Method == "" || rt.Handler == nil || !strings.HasPrefix(rt.Pattern, "/") {
		panic(fmt.Sprintf("router: %s needs a method, a handler and a pattern starting with '/'", rt.Key()))
	}
	multi := 0
	for _, s := range strings.Split(strings.Trim(rt.Pattern, "/"), "/") {
		switch {
		case s == "":
			continue
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "...}"):
			multi++
			rt.segs = append(rt.segs, segment{name: s[1 : len(s)-4], multi: true})
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			rt.segs = append(rt.segs, segment{name: s[1 : len(s)-1]})
		case strings.Contains(s, "{") && strings.Contains(s, "}"):
			i, j := strings.Index(s, "{"), strings.Index(s, "}")
			rt.segs = append(rt.segs, segment{name: s[i+1 : j], pre: strings.ToLower(s[:i]), suf: strings.ToLower(s[j+1:])})
		default:
			rt.segs = append(rt.segs, segment{lit: strings.ToLower(s)})
		}
	}
	if rt.MaxBody < 0 {
		panic(fmt.Sprintf("router: %s declares a negative body cap", rt.Key()))
	}
	if multi > 1 {
		panic(fmt.Sprintf("router: %s has more than one {name...} segment", rt.Key()))
	}
	for _, old := range m.routes {
		if strings.EqualFold(old.Key(), rt.Key()) {
			panic(fmt.Sprintf("router: %s is mounted twice", rt.Key()))
		}
	}
	r := rt
	if m.Inner != nil {
		r.Handler = m.Inner(rt, r.Handler)
	}
	// The guard runs inside Wrap, so refusals count in the route's metrics.
	r.Handler = m.guard(rt, r.Handler)
	if m.Wrap != nil {
		r.Handler = m.Wrap(rt, r.Handler)
	}
	r.multiAt = -1
	for i, sg := range r.segs {
		if sg.multi {
			r.multiAt = i
		}
	}
	m.routes = append(m.routes, &r)
	i := len(m.routes) - 1
	switch {
	case len(r.segs) > 0 && r.segs[0].lit != "":
		if m.byFirst == nil {
			m.byFirst = map[string][]int{}
		}
		m.byFirst[r.segs[0].lit] = append(m.byFirst[r.segs[0].lit], i)
	case len(r.segs) > 0 && r.segs[len(r.segs)-1].lit != "":
		if m.byLast == nil {
			m.byLast = map[string][]int{}
		}
		last := r.segs[len(r.segs)-1].lit
		m.byLast[last] = append(m.byLast[last], i)
	default:
		m.wild = append(m.wild, i)
	}
}

// Routes returns the mounted routes in mounting order.
func (m *Mux) Routes() []Route {
	out := make([]Route, len(m.routes))
	for i, r := range m.routes {
		out[i] = *r
	}
	return out
}

func (m *Mux) hostClass(host string) string {
	for name, match := range m.hosts {
		if match(host) {
			return name
		}
	}
	return ""
}

// appendSegments appends a path's segments to dst (as strings.Split of the
// path without its outer slashes; an empty path has none): find splits
// into an array on its stack, which holds any ordinary path.
func appendSegments(dst []string, p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return dst
	}
	for {
		seg, rest, more := strings.Cut(p, "/")
		dst = append(dst, seg)
		if !more {
			return dst
		}
		p = rest
	}
}

// match reports whether segs match the route's pattern, appending the
// captures to p; on a mismatch p comes back as it was given.
func (rt *Route) match(segs []string, p Params) (Params, bool) {
	pat := rt.segs
	multiAt := rt.multiAt
	if multiAt < 0 {
		if len(segs) != len(pat) {
			return p, false
		}
		return matchFixed(pat, segs, p)
	}
	before, after := pat[:multiAt], pat[multiAt+1:]
	if len(segs) < len(before)+len(after) {
		return p, false
	}
	tail := segs[len(segs)-len(after):]
	if !fits(before, segs[:len(before)]) || !fits(after, tail) {
		return p, false
	}
	p = appendCaptures(p, before, segs[:len(before)])
	p = appendCaptures(p, after, tail)
	return append(p, Param{pat[multiAt].name, "/" + strings.Join(segs[len(before):len(segs)-len(after)], "/")}), true
}

// matchFixed matches segments one for one, appending the captures to p.
// It checks before it captures: most candidates fail on a literal, and
// the router tries every route of the first segment in turn.
func matchFixed(pat []segment, segs []string, p Params) (Params, bool) {
	if !fits(pat, segs) {
		return p, false
	}
	return appendCaptures(p, pat, segs), true
}

// appendCaptures appends the captures of segments that fit pat.
func appendCaptures(p Params, pat []segment, segs []string) Params {
	for i, s := range pat {
		if s.lit == "" {
			v, _ := s.capture(segs[i])
			p = append(p, Param{s.name, v})
		}
	}
	return p
}

// fits reports whether each segment matches its part of the pattern.
func fits(pat []segment, segs []string) bool {
	for i, s := range pat {
		if _, ok := s.capture(segs[i]); !ok {
			return false
		}
	}
	return true
}

// capture reports whether v matches the segment and, for a capture, the
// value captured.
func (s segment) capture(v string) (string, bool) {
	if s.lit != "" {
		return "", strings.EqualFold(s.lit, v)
	}
	if s.pre != "" || s.suf != "" {
		if len(v) <= len(s.pre)+len(s.suf) || !strings.EqualFold(v[:len(s.pre)], s.pre) || !strings.EqualFold(v[len(v)-len(s.suf):], s.suf) {
			return "", false
		}
		v = v[len(s.pre) : len(v)-len(s.suf)]
	}
	return v, v != ""
}

// Match finds the route for r; allowed lists the methods of routes whose
// pattern matched when none matched the method.
func (m *Mux) Match(r *http.Request) (rt *Route, p Params, allowed []string) {
	return m.find(r, nil)
}

// find is Match capturing into p, an empty buffer of the caller's that it
// may outgrow.
func (m *Mux) find(r *http.Request, p Params) (*Route, Params, []string) {
	var allowed []string
	class := m.hostClass(r.Host)
	// The segments are needed only while matching (a capture is a slice
	// of the path, not of segs), so an ordinary path's stay on the stack.
	var buf [16]string
	segs := appendSegments(buf[:0], r.URL.Path)
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	// The candidates in mounting order: the routes of the first segment's
	// literal and of the last segment's merged with the wild ones. A path
	// whose first or last segment is not ASCII is matched against every
	// route, as EqualFold folds more than ToLower maps.
	var first, last []int
	all := len(segs) > 0 && (!isASCII(segs[0]) || !isASCII(segs[len(segs)-1]))
	if len(segs) > 0 && !all {
		first = lookupFolded(m.byFirst, segs[0])
		last = lookupFolded(m.byLast, segs[len(segs)-1])
	}
	wild := m.wild
	for i := 0; ; i++ {
		var cand *Route
		if all {
			if i >= len(m.routes) {
				return nil, nil, allowed
			}
			cand = m.routes[i]
		} else {
			var next *[]int
			for _, l := range []*[]int{&first, &last, &wild} {
				if len(*l) > 0 && (next == nil || (*l)[0] < (*next)[0]) {
					next = l
				}
			}
			if next == nil {
				return nil, nil, allowed
			}
			cand, *next = m.routes[(*next)[0]], (*next)[1:]
		}
		if cand.Host != class {
			continue
		}
		params, ok := cand.match(segs, p[:0])
		if !ok {
			continue
		}
		if cand.Method == method {
			return cand, params, nil
		}
		allowed = append(allowed, cand.Method)
	}
}

// lookupFolded returns idx's list for the lower-cased ASCII seg. It folds
// into a buffer on the stack: strings.ToLower allocates for any segment
// with a capital, as most names in ARM paths have.
func lookupFolded(idx map[string][]int, seg string) []int {
	var buf [64]byte
	if len(seg) > len(buf) {
		return idx[strings.ToLower(seg)]
	}
	b := buf[:len(seg)]
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return idx[string(b)]
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// ServeHTTP dispatches to the matched route's handler with the route in the
// request's context, or to the fallback of the path's prefix. It applies,
// once for every part, the access log, the body's read deadline and cap
// (the route's, else the mux's), the route's protocol's request IDs and
// panic recovery (see Protocol).
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	q := &request{Context: r.Context(), in: r}
	q.rec = recorder{ResponseWriter: w, req: q}
	if m.Settle != nil {
		q.marked, q.settle = true, m.Settle
	}
	r = r.WithContext(q)
	defer m.accessLog(&q.rec, r, start)
	defer q.settleWrites()
	rt, p, allowed := m.find(r, q.captured[:0])
	q.route, q.params = rt, p
	m.bound(w, r, rt, start)
	m.dispatch(&q.rec, r, rt, allowed)
}

// bound gives the body a read deadline and caps it. The cap wraps the
// connection's own writer, not the recorder, so net/http learns of an
// oversized body and closes the connection after the answer.
func (m *Mux) bound(w http.ResponseWriter, r *http.Request, rt *Route, now time.Time) {
	if rt != nil && rt.Stream {
		_ = http.NewResponseController(w).SetReadDeadline(now.Add(StreamReadTimeout))
		return
	}
	timeout := m.ReadTimeout
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	_ = http.NewResponseController(w).SetReadDeadline(now.Add(timeout))
	limit := m.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if rt != nil && rt.MaxBody > 0 && (rt.MaxBody < limit || rt.StreamsBody) {
		limit = rt.MaxBody
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
}

func (m *Mux) dispatch(w http.ResponseWriter, r *http.Request, rt *Route, allowed []string) {
	if rt != nil {
		m.serve(rt, w, r)
		return
	}
	status := http.StatusNotFound
	if len(allowed) > 0 {
		status = http.StatusMethodNotAllowed
		w.Header().Set("Allow", strings.Join(allowed, ", "))
	}
	class := m.hostClass(r.Host)
	path := strings.ToLower(r.URL.Path)
	var best *prefixFallback
	for i, f := range m.fallbacks {
		if f.host == class && strings.HasPrefix(path, f.prefix) && (best == nil || len(f.prefix) > len(best.prefix)) {
			best = &m.fallbacks[i]
		}
	}
	if best != nil {
		best.fb(w, r, status, allowed)
		return
	}
	http.Error(w, http.StatusText(status), status)
}
