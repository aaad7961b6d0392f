// Package audit records Ward's sign-in log: every token issued or refused,
// with the reason, written in batches off the request path, with bounded
// fields, repeated refusals aggregated, and nothing dropped without being
// counted; repeated identical successes are aggregated the same way.
// Retention (Retain) deletes what is older than the configured age
// from the sign-in and activity logs.
package audit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/storage"
)

// SignInStore is where a SignInLog writes.
type SignInStore interface {
	RecordSignIns(ctx context.Context, batch []storage.SignIn) error
}

// Config configures a SignInLog; zero values take the defaults below.
type Config struct {
	Store  SignInStore
	Logger *slog.Logger
	// Queue bounds the records waiting for the disk (default 4096). When it
	// is full, refusals are aggregated by error code and successful
	// sign-ins wait up to BlockFor (default 250 ms) before being dropped
	// and counted.
	Queue    int
	BlockFor time.Duration
	// Window is the aggregation window (default 1 minute): a refusal with
	// the same source, client ID, error code and reason as one recorded less
	// than Window before is counted in that one's record (count, last seen).
	Window time.Duration
	// PerSource is how many distinct refusal records one source may add per
	// window (default 10); beyond it, that source's refusals are counted
	// in one record per error code.
	PerSource int
	// Total is how many distinct refusal records all sources together may
	// add per window (default 300); beyond it, refusals are counted in one
	// record per error code.
	Total int
	// MaxBatch bounds the records written in one transaction (default
	// 1000); Linger is how long the writer waits after the first record of
	// a batch for more to join it (default 50 ms), so that a stream of
	// requests costs a few transactions a second rather than one each.
	MaxBatch int
	Linger   time.Duration
	Now      func() time.Time
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Queue <= 0 {
		c.Queue = 4096
	}
	if c.BlockFor <= 0 {
		c.BlockFor = 250 * time.Millisecond
	}
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	if c.PerSource <= 0 {
		c.PerSource = 10
	}
	if c.Total <= 0 {
		c.Total = 300
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	if c.Linger <= 0 {
		c.Linger = 50 * time.Millisecond
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Stats counts what a SignInLog did with the records it was given.
type Stats struct {
	Written    int64 // records written (an aggregated record once per write)
	Aggregated int64 // refusals counted in an earlier record instead of a new one
	Waited     int64 // successful sign-ins that waited for room in a full queue
	Dropped    int64 // records lost: the queue stayed full, or the log was closed
	Failed     int64 // records lost because the database refused the write
}

// aggregation levels of a refusal's key, finest first.
const (
	levelClient  = iota // (source, client ID, error code, reason)
	levelSource         // (source, error code): the source is over its budget
	levelAll            // (error code): every source together is over budget
	levelSuccess        // every field of a successful sign-in but its time
)

type aggKey struct {
	level                  int
	source, client, reason string
	code                   int
	// what else tells two successes apart
	tenant, principal, identity, resource, credential, issuer, subject string
	// verified keeps a verified refusal out of an unverified one's record
	// (and the reverse): the console offers a fix only for the former.
	verified bool
}

// liveRow is a refusal record that later refusals may still be counted in.
type liveRow struct {
	rec  storage.SignIn // as first queued, Count 1
	last time.Time
}

// SignInLog writes sign-in records in the background so that a token
// response never waits for the log's disk write. Records are batched (one
// transaction per batch), and refusals that repeat within a window are
// aggregated into one record with a count and a last-seen time, so that
// a flood of refused requests adds a bounded number of rows.
type SignInLog struct {
	cfg Config

	mu          sync.Mutex
	pending     []storage.SignIn
	pendingByID map[string]int // record ID -> index in pending
	room        chan struct{}  // closed (and replaced) whenever pending is taken
	closed      bool
	windowStart time.Time
	perSource   map[string]int // distinct refusal records per source this window
	total       int            // distinct refusal records this window
	rows        map[aggKey]*liveRow

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once

	written, aggregated, waited, dropped, failed atomic.Int64
}

// New starts a writer; Close stops it.
func New(cfg Config) *SignInLog {
	cfg.defaults()
	l := &SignInLog{
		cfg: cfg, pendingByID: map[string]int{}, room: make(chan struct{}),
		perSource: map[string]int{}, rows: map[aggKey]*liveRow{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go l.run()
	return l
}

// Record queues a sign-in record, its fields capped (storage.SignIn.Bounded).
// A record like one recorded less than a window ago is counted in that
// record (count, last seen): a refusal with the same source, client, code
// and reason, a success with every field the same but its time (a pod
// refreshing its token), so the log keeps every distinct event without a
// row per token. A record without an ID gets one when it becomes a row.
// Record never blocks, except for a successful sign-in arriving while the
// queue is full and no queued record counts it, which waits up to
// Config.BlockFor.
func (l *SignInLog) Record(s storage.SignIn) {
	if s.Time.IsZero() {
		s.Time = l.cfg.Now().UTC()
	}
	s.Count, s.LastSeen = 1, s.Time
	s = s.Bounded()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.drop("sign-in log closed")
		return
	}
	if s.Result != "success" {
		l.refusal(s)
		return
	}
	l.roll(s.Time)
	key := successKey(s)
	if l.mergeQueued(key, s) {
		return
	}
	if len(l.pending) >= l.cfg.Queue {
		l.waited.Add(1)
		deadline := time.NewTimer(l.cfg.BlockFor)
		defer deadline.Stop()
		for len(l.pending) >= l.cfg.Queue {
			room, timedOut := l.room, false
			l.mu.Unlock()
			select {
			case <-room:
			case <-deadline.C:
				timedOut = true
			}
			l.mu.Lock()
			if l.closed {
				l.drop("sign-in log closed")
				return
			}
			if l.mergeQueued(key, s) {
				return
			}
			if timedOut && len(l.pending) >= l.cfg.Queue {
				l.drop("sign-in log queue full")
				return
			}
		}
	}
	if l.merge(key, s) {
		return
	}
	s = detach(s)
	if len(l.rows) < maxLiveRows {
		s.ID = l.newID(s.ID)
		l.rows[key] = &liveRow{rec: s, last: s.Time}
	}
	l.queue(s)
}

// maxLiveRows bounds the records later ones may still be counted in (a
// minute's distinct events); beyond it a success is a row of its own.
const maxLiveRows = 100_000

// successKey is what makes two successful sign-ins the same event.
func successKey(s storage.SignIn) aggKey {
	return aggKey{level: levelSuccess, source: s.Source, client: s.ClientID, tenant: s.TenantID, principal: s.PrincipalID,
		identity: s.IdentityID, resource: s.Resource, credential: s.Credential, issuer: s.Issuer, subject: s.Subject, verified: s.Verified}
}

// detach copies the text of a record the log keeps (queued, or live for a
// window): a caller's strings may share a whole request body's memory.
func detach(s storage.SignIn) storage.SignIn {
	for _, f := range []*string{&s.ID, &s.Source, &s.TenantID, &s.ClientID, &s.PrincipalID, &s.IdentityID, &s.Resource,
		&s.Credential, &s.Result, &s.Reason, &s.Issuer, &s.Subject} {
		*f = strings.Clone(*f)
	}
	return s
}

// newID returns id, or a new record ID when it is empty.
func (l *SignInLog) newID(id string) string {
	if id != "" {
		return id
	}
	return uuid.NewString()
}

// refusal queues s or counts it in a live record. l.mu is held.
func (l *SignInLog) refusal(s storage.SignIn) {
	l.roll(s.Time)
	key := aggKey{level: levelClient, source: s.Source, client: s.ClientID, reason: s.Reason, code: s.ErrorCode, verified: s.Verified}
	if l.merge(key, s) {
		return
	}
	full := len(l.pending) >= l.cfg.Queue
	switch {
	case !full && l.total < l.cfg.Total && l.perSource[s.Source] < l.cfg.PerSource:
	case !full && l.total < l.cfg.Total:
		key = aggKey{level: levelSource, source: s.Source, code: s.ErrorCode}
		if l.merge(key, s) {
			return
		}
		l.cfg.Logger.Warn("sign-in log: refusals from one source aggregated", "source", s.Source, "error_code", s.ErrorCode,
			"per_window", l.cfg.PerSource, "window", l.cfg.Window)
		s.Reason = fmt.Sprintf("Ward: refusals from %s exceed %d per %s; this record counts the further ones with this error code (see its count and last seen). The first was: %s",
			s.Source, l.cfg.PerSource, l.cfg.Window, s.Reason)
	default:
		key = aggKey{level: levelAll, code: s.ErrorCode}
		if l.merge(key, s) {
			return
		}
		l.cfg.Logger.Warn("sign-in log: refusals from every source aggregated", "error_code", s.ErrorCode,
			"per_window", l.cfg.Total, "window", l.cfg.Window, "queue_full", full)
		s.Reason = fmt.Sprintf("Ward: refusals exceed %d per %s, or the log's queue is full; this record counts the further ones with this error code from every source (see its count and last seen). The first was: %s",
			l.cfg.Total, l.cfg.Window, s.Reason)
	}
	s = detach(s.Bounded())
	s.ID = l.newID(s.ID)
	l.total++
	l.perSource[s.Source]++
	l.rows[key] = &liveRow{rec: s, last: s.Time}
	l.queue(s)
}

// mergeQueued counts s in the live record of key if that record (or a
// delta of it) is still queued: no room in the queue is needed. l.mu is
// held.
func (l *SignInLog) mergeQueued(key aggKey, s storage.SignIn) bool {
	r, ok := l.rows[key]
	if !ok || !l.live(key, r, s.Time) {
		return false
	}
	if _, queued := l.pendingByID[r.rec.ID]; !queued {
		return false
	}
	return l.merge(key, s)
}

// live reports whether a record at t is still counted in r: a refusal
// while its repeats are less than a window apart (a flood stays one row),
// a success for a window from its first (the log keeps a row per event
// and minute, so a list of recent sign-ins shows a pod that keeps
// refreshing).
func (l *SignInLog) live(key aggKey, r *liveRow, t time.Time) bool {
	if key.level == levelSuccess {
		return t.Sub(r.rec.Time) < l.cfg.Window
	}
	return t.Sub(r.last) < l.cfg.Window
}

// merge counts s in the live record of key, if there is one. l.mu is held.
func (l *SignInLog) merge(key aggKey, s storage.SignIn) bool {
	r, ok := l.rows[key]
	if !ok || !l.live(key, r, s.Time) {
		return false
	}
	if s.Time.After(r.last) {
		r.last = s.Time
	}
	l.aggregated.Add(1)
	if i, ok := l.pendingByID[r.rec.ID]; ok {
		p := &l.pending[i]
		p.Count++
		if s.Time.After(p.LastSeen) {
			p.LastSeen = s.Time
		}
		return true
	}
	// Already written: queue a delta that the store adds to it.
	d := r.rec
	d.LastSeen = s.Time
	l.queue(d.Bounded())
	return true
}

// roll starts a new budget window when the current one is over and forgets
// records too old to count repeats in. l.mu is held.
func (l *SignInLog) roll(t time.Time) {
	if t.Sub(l.windowStart) < l.cfg.Window {
		return
	}
	l.windowStart, l.total = t, 0
	clear(l.perSource)
	for k, r := range l.rows {
		if t.Sub(r.last) >= l.cfg.Window {
			delete(l.rows, k)
		}
	}
}

func (l *SignInLog) queue(s storage.SignIn) {
	l.pendingByID[s.ID] = len(l.pending)
	l.pending = append(l.pending, s)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *SignInLog) drop(why string) {
	if n := l.dropped.Add(1); n == 1 || n%1000 == 0 {
		l.cfg.Logger.Warn("sign-in records dropped", "reason", why, "dropped_total", n)
	}
}

// Dropped reports how many records were lost without being written.
func (l *SignInLog) Dropped() int64 { return l.dropped.Load() }

// Stats reports the writer's counters.
func (l *SignInLog) Stats() Stats {
	return Stats{Written: l.written.Load(), Aggregated: l.aggregated.Load(), Waited: l.waited.Load(),
		Dropped: l.dropped.Load(), Failed: l.failed.Load()}
}

// take removes and returns the pending records and wakes writers waiting
// for room.
func (l *SignInLog) take() []storage.SignIn {
	l.mu.Lock()
	defer l.mu.Unlock()
	batch := l.pending
	if len(batch) == 0 {
		return nil
	}
	l.pending = make([]storage.SignIn, 0, min(len(batch), l.cfg.Queue))
	clear(l.pendingByID)
	close(l.room)
	l.room = make(chan struct{})
	return batch
}

func (l *SignInLog) run() {
	defer close(l.done)
	for {
		stopping := false
		select {
		case <-l.wake:
		case <-l.stop:
			stopping = true
		}
		if !stopping {
			t := time.NewTimer(l.cfg.Linger)
			select {
			case <-t.C:
			case <-l.stop:
				stopping = true
			}
			t.Stop()
		}
		for batch := l.take(); len(batch) > 0; batch = l.take() {
			l.write(batch)
			// What was queued during the write waits for the next linger
			// (queue set wake), unless the queue is filling up: under a
			// steady stream, writing again at once found the deltas of the
			// repeats counted meanwhile and wrote them too, back to back,
			// one transaction per write's duration instead of per linger.
			if !stopping && !l.backlogged() {
				break
			}
		}
		if stopping {
			return
		}
	}
}

// backlogged reports whether the queue is at least half full: the writer
// then writes again at once, so that successes waiting for room get it.
func (l *SignInLog) backlogged() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending) >= l.cfg.Queue/2
}

func (l *SignInLog) write(batch []storage.SignIn) {
	for len(batch) > 0 {
		n := min(len(batch), l.cfg.MaxBatch)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := l.cfg.Store.RecordSignIns(ctx, batch[:n])
		cancel()
		if err != nil {
			l.failed.Add(int64(n))
			l.cfg.Logger.Error("write sign-in records", "err", err, "records", n)
		} else {
			l.written.Add(int64(n))
		}
		batch = batch[n:]
	}
}

// Close stops accepting records, writes what is queued and returns when it
// is written.
func (l *SignInLog) Close() {
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		close(l.room) // release waiters; they see closed
		l.room = make(chan struct{})
		l.mu.Unlock()
		close(l.stop)
	})
	<-l.done
}
