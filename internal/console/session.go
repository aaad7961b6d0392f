package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// Session and link limits. A link is good once, for LinkLifetime; a
// session ends after IdleTimeout without a request, after AbsoluteTimeout
// whatever happens, or at sign-out.
const (
	LinkLifetime    = 2 * time.Minute
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 8 * time.Hour
	// maxLinks and maxSessions bound what the tables hold; beyond them the
	// oldest entry is dropped (links are made only by authenticated callers).
	maxLinks    = 10000
	maxSessions = 10000
)

// Who a session or link acts as.
type Who struct {
	ObjectID string
	AppID    string
}

type link struct {
	who     Who
	expires time.Time
}

type session struct {
	who      Who
	csrf     string
	created  time.Time
	lastSeen time.Time
}

// sessions holds login links and browser sessions in memory, by the
// SHA-256 of their secret (a dump of the table holds no usable secret).
type sessions struct {
	mu       sync.Mutex
	now      func() time.Time
	links    map[[32]byte]link
	sessions map[[32]byte]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, links: map[[32]byte]link{}, sessions: map[[32]byte]*session{}}
}

func secret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func key(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// newLink returns a one-time code that signs a browser in as who.
func (s *sessions) newLink(who Who) (string, time.Time) {
	code := secret()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweepLocked(now)
	if len(s.links) >= maxLinks {
		s.dropOldestLinkLocked()
	}
	exp := now.Add(LinkLifetime)
	s.links[key(code)] = link{who: who, expires: exp}
	return code, exp
}

// redeem consumes a link code and opens a session; the code is gone
// whether or not it was still valid.
func (s *sessions) redeem(code string) (sid string, sess session, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	k := key(code)
	l, found := s.links[k]
	delete(s.links, k)
	if !found || !now.Before(l.expires) {
		return "", session{}, false
	}
	s.sweepLocked(now)
	if len(s.sessions) >= maxSessions {
		s.dropOldestSessionLocked()
	}
	sid = secret()
	ns := &session{who: l.who, csrf: secret(), created: now, lastSeen: now}
	s.sessions[key(sid)] = ns
	return sid, *ns, true
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
	if now.Sub(ss.lastSeen) >= IdleTimeout || now.Sub(ss.created) >= AbsoluteTimeout {
		delete(s.sessions, k)
		return session{}, false
	}
	ss.lastSeen = now
	return *ss, true
}

// end signs a session out.
func (s *sessions) end(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, key(sid))
}

// csrfOK compares a request's CSRF token with the session's in constant time.
func csrfOK(sess session, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(sess.csrf), []byte(got)) == 1
}

func (s *sessions) sweepLocked(now time.Time) {
	for k, l := range s.links {
		if !now.Before(l.expires) {
			delete(s.links, k)
		}
	}
	for k, ss := range s.sessions {
		if now.Sub(ss.lastSeen) >= IdleTimeout || now.Sub(ss.created) >= AbsoluteTimeout {
			delete(s.sessions, k)
		}
	}
}

func (s *sessions) dropOldestLinkLocked() {
	var oldest [32]byte
	var at time.Time
	for k, l := range s.links {
		if at.IsZero() || l.expires.Before(at) {
			oldest, at = k, l.expires
		}
	}
	delete(s.links, oldest)
}

func (s *sessions) dropOldestSessionLocked() {
	var oldest [32]byte
	var at time.Time
	for k, ss := range s.sessions {
		if at.IsZero() || ss.lastSeen.Before(at) {
			oldest, at = k, ss.lastSeen
		}
	}
	delete(s.sessions, oldest)
}
