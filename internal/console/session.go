package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"sync"
	"time"
)

// Session and link limits. A link is good once, for LinkLifetime; a
// session ends after IdleTimeout without a request, after AbsoluteTimeout
// whatever happens, when the token the link was made with expires, when
// its principal or the credential that token was issued for is removed
// (checked on every request), or at sign-out.
const (
	LinkLifetime    = 2 * time.Minute
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 8 * time.Hour
	// MaxLinksPerPrincipal and MaxSessionsPerPrincipal bound what one
	// principal holds: a new link or session beyond them replaces that
	// principal's own oldest, never another principal's.
	MaxLinksPerPrincipal    = 5
	MaxSessionsPerPrincipal = 10
	// maxLinks and maxSessions bound the tables in memory; when one is
	// full of live entries a new link or sign-in is refused (errFull)
	// rather than evicting anyone.
	maxLinks    = 10000
	maxSessions = 10000
)

// Who a session or link acts as.
type Who struct {
	ObjectID string
	AppID    string
}

// origin is what a link or session was made from: the management token's
// credential (authn.ClaimCredential, "" when the token names none) and its
// expiry. A session never outlives either.
type origin struct {
	credential   string
	tokenExpires time.Time
}

type link struct {
	who     Who
	from    origin
	created time.Time
	expires time.Time
}

type session struct {
	who      Who
	from     origin
	csrf     string
	created  time.Time
	lastSeen time.Time
	// ends is the earlier of the absolute timeout and the token's expiry.
	ends time.Time
}

var (
	// errFull means the table holds its maximum of live entries.
	errFull = errors.New("the console's session table is full")
	// errTokenExpired means the token a link was asked with has expired
	// (the authenticator accepts a few minutes of clock skew; a link does not).
	errTokenExpired = errors.New("the token has expired")
)

// sessions holds login links and browser sessions in memory, by the
// SHA-256 of their secret (a dump of the table holds no usable secret),
// with each principal's own entries indexed for its quota. They live in
// this process only: behind a load balancer a browser needs to come back
// to the replica it signed in at (see docs/console-sessions.md).
type sessions struct {
	mu        sync.Mutex
	now       func() time.Time
	links     map[[32]byte]*link
	sessions  map[[32]byte]*session
	linksOf   map[string]map[[32]byte]bool // by principal object ID
	sessOf    map[string]map[[32]byte]bool
	lastSweep time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, links: map[[32]byte]*link{}, sessions: map[[32]byte]*session{},
		linksOf: map[string]map[[32]byte]bool{}, sessOf: map[string]map[[32]byte]bool{}}
}

// sweepEvery is how often expired entries are swept from the tables (and
// always before a full table refuses an entry); an expired entry is never
// served in between, only held.
const sweepEvery = time.Minute

func secret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func key(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// newLink returns a one-time code that signs a browser in as who, made
// with a token from; the link ends with the token if that is sooner.
func (s *sessions) newLink(who Who, from origin) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !now.Before(from.tokenExpires) {
		return "", time.Time{}, errTokenExpired
	}
	s.maybeSweepLocked(now, len(s.links) >= maxLinks)
	if mine := s.linksOf[who.ObjectID]; len(mine) >= MaxLinksPerPrincipal {
		var oldest [32]byte
		var at time.Time
		for k := range mine {
			if l := s.links[k]; at.IsZero() || l.created.Before(at) {
				oldest, at = k, l.created
			}
		}
		s.dropLinkLocked(oldest)
	}
	if len(s.links) >= maxLinks {
		return "", time.Time{}, errFull
	}
	code := secret()
	exp := earliest(now.Add(LinkLifetime), from.tokenExpires)
	k := key(code)
	s.links[k] = &link{who: who, from: from, created: now, expires: exp}
	index(s.linksOf, who.ObjectID, k)
	return code, exp, nil
}

// redeem consumes a link code and opens a session; the code is gone
// whether or not it was still valid, unless the session table is full
// (errFull), when it stays for a retry.
func (s *sessions) redeem(code string) (sid string, sess session, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	k := key(code)
	l, found := s.links[k]
	if !found || !now.Before(l.expires) {
		if found {
			s.dropLinkLocked(k)
		}
		return "", session{}, errNoLink
	}
	s.maybeSweepLocked(now, len(s.sessions) >= maxSessions)
	if mine := s.sessOf[l.who.ObjectID]; len(mine) >= MaxSessionsPerPrincipal {
		var lru [32]byte
		var at time.Time
		for sk := range mine {
			if ss := s.sessions[sk]; at.IsZero() || ss.lastSeen.Before(at) {
				lru, at = sk, ss.lastSeen
			}
		}
		s.dropSessionLocked(lru)
	}
	if len(s.sessions) >= maxSessions {
		return "", session{}, errFull
	}
	s.dropLinkLocked(k)
	sid = secret()
	ns := &session{who: l.who, from: l.from, csrf: secret(), created: now, lastSeen: now,
		ends: earliest(now.Add(AbsoluteTimeout), l.from.tokenExpires)}
	sk := key(sid)
	s.sessions[sk] = ns
	index(s.sessOf, l.who.ObjectID, sk)
	return sid, *ns, nil
}

// errNoLink means a link code is unknown, used or expired.
var errNoLink = errors.New("unknown, used or expired link")

// live reports whether a session is still within its timeouts at now.
func (ss *session) live(now time.Time) bool {
	return now.Sub(ss.lastSeen) < IdleTimeout && now.Before(ss.ends)
}

// get returns the live session for sid and marks it used.
func (s *sessions) get(sid string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	k := key(sid)
	ss, ok := s.sessions[k]
	if !ok {
		return session{}, false
	}
	if !ss.live(now) {
		s.dropSessionLocked(k)
		return session{}, false
	}
	ss.lastSeen = now
	return *ss, true
}

// peek returns the live session for sid without marking it used (a
// long-lived stream is not a person's activity).
func (s *sessions) peek(sid string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[key(sid)]
	if !ok || !ss.live(s.now()) {
		return session{}, false
	}
	return *ss, true
}

// end signs a session out.
func (s *sessions) end(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropSessionLocked(key(sid))
}

// counts reports the tables' sizes (tests, metrics).
func (s *sessions) counts() (links, sessions int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.links), len(s.sessions)
}

// csrfOK compares a request's CSRF token with the session's in constant time.
func csrfOK(sess session, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(sess.csrf), []byte(got)) == 1
}

// maybeSweepLocked drops expired entries every sweepEvery, or now when
// full (before a full table refuses anything).
func (s *sessions) maybeSweepLocked(now time.Time, full bool) {
	if !full && now.Sub(s.lastSweep) < sweepEvery {
		return
	}
	s.lastSweep = now
	for k, l := range s.links {
		if !now.Before(l.expires) {
			s.dropLinkLocked(k)
		}
	}
	for k, ss := range s.sessions {
		if !ss.live(now) {
			s.dropSessionLocked(k)
		}
	}
}

func (s *sessions) dropLinkLocked(k [32]byte) {
	if l, ok := s.links[k]; ok {
		delete(s.links, k)
		unindex(s.linksOf, l.who.ObjectID, k)
	}
}

func (s *sessions) dropSessionLocked(k [32]byte) {
	if ss, ok := s.sessions[k]; ok {
		delete(s.sessions, k)
		unindex(s.sessOf, ss.who.ObjectID, k)
	}
}

func index(by map[string]map[[32]byte]bool, principal string, k [32]byte) {
	if by[principal] == nil {
		by[principal] = map[[32]byte]bool{}
	}
	by[principal][k] = true
}

func unindex(by map[string]map[[32]byte]bool, principal string, k [32]byte) {
	delete(by[principal], k)
	if len(by[principal]) == 0 {
		delete(by, principal)
	}
}
