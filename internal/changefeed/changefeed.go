// Package changefeed keeps a replica's in-memory views (the RBAC index, the
// token service's caches, signing and issuer keys) following the database.
// Every write to a followed table adds a row to the database's change feed
// in the same transaction (storage.ChangeFeed); a Follower reads the feed
// from where it left off whenever the database signals a commit
// (PostgreSQL LISTEN/NOTIFY) and at a short poll interval, so a missed
// notification or a reconnection costs at most one interval. Transactions
// commit out of sequence order, so a gap in the sequence is re-read until it
// fills or expires (a rolled-back transaction never fills its number); a
// periodic consistency check covers the rest. It knows nothing of HTTP.
//
// The feed is the one path from a write to the views, for a replica's own
// writes too: the server calls CatchUp before a request that wrote
// answers, so the same Handlers apply the write's change on the writing
// replica before its caller hears of it, and the other replicas read the
// same change from the feed. A change is applied once per replica:
// CatchUp runs under the follower's lock and moves its position past what
// it applied, so whichever catch-up reads a change first (the request's or
// the background one's) applies it and the next skips it. Handlers must
// still be idempotent: a follower starts from a head read before its views
// loaded, and a resync reapplies everything.
package changefeed

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// Handler applies one change (a row's key in a table) to a view. "" keys
// mean "anything in the table may have changed".
type Handler func(ctx context.Context, key string) error

// Config configures a Follower.
type Config struct {
	Feed storage.ChangeFeed
	// Handlers by table name.
	Handlers map[string]Handler
	// Resync rebuilds every view from the database; called when the
	// follower cannot be sure it saw every change (a gap that expired, a
	// failed catch-up) and by the periodic check when it finds a difference.
	Resync func(ctx context.Context) error
	// Check is the cheap periodic consistency check; true means consistent.
	Check func(ctx context.Context) (bool, error)
	// Synced, when set, runs after every catch-up that applied the feed to
	// its end: a view that went stale (a write this replica could not
	// apply at once) is current again.
	Synced func()
	// Poll is the fallback interval (default 250 ms); CheckEvery the
	// consistency check's (default 30 s); GapTimeout how long a missing
	// sequence number is waited for (default 5 s); Retain how long changes
	// are kept before any replica prunes them (default 1 h).
	Poll, CheckEvery, GapTimeout, Retain time.Duration
	Logger                               *slog.Logger
	Now                                  func() time.Time
}

// Follower follows the change feed.
type Follower struct {
	cfg Config

	mu       sync.Mutex
	last     int64               // highest sequence number applied
	gaps     map[int64]time.Time // missing numbers below last, and since when
	syncedAt time.Time           // when the feed was last read to its end
	applied  int64
}

// New returns a follower positioned at head: the caller reads head before it
// loads its views, so a change committed during loading is applied again.
func New(cfg Config, head int64) *Follower {
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = 30 * time.Second
	}
	if cfg.GapTimeout <= 0 {
		cfg.GapTimeout = 5 * time.Second
	}
	if cfg.Retain <= 0 {
		cfg.Retain = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Follower{cfg: cfg, last: head, gaps: map[int64]time.Time{}, syncedAt: cfg.Now()}
}

// Lag is how long ago the follower last read the feed to its end: the
// bound on how stale this replica's views can be.
func (f *Follower) Lag() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg.Now().Sub(f.syncedAt)
}

// Ready reports whether the views are current within maxLag.
func (f *Follower) Ready(maxLag time.Duration) bool { return f.Lag() <= maxLag }

// Applied counts the changes applied so far.
func (f *Follower) Applied() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

// Run follows the feed until ctx ends.
func (f *Follower) Run(ctx context.Context) {
	wake, err := f.cfg.Feed.WatchChanges(ctx)
	if err != nil {
		f.cfg.Logger.Warn("change notifications unavailable; polling", "err", err)
	}
	poll := time.NewTicker(f.cfg.Poll)
	defer poll.Stop()
	check := time.NewTicker(f.cfg.CheckEvery)
	defer check.Stop()
	prune := time.NewTicker(f.cfg.Retain / 4)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		case <-check.C:
			f.check(ctx)
			continue
		case <-prune.C:
			if _, err := f.cfg.Feed.PruneChanges(ctx, f.cfg.Now().Add(-f.cfg.Retain)); err != nil && ctx.Err() == nil {
				f.cfg.Logger.Warn("prune the change feed", "err", err)
			}
			continue
		}
		if err := f.CatchUp(ctx); err != nil && ctx.Err() == nil {
			f.cfg.Logger.Warn("follow the change feed", "err", err)
		}
	}
}

// CatchUp reads and applies every change not yet applied.
func (f *Follower) CatchUp(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	start := f.cfg.Now()
	needResync := false
	for {
		after := f.last
		for g := range f.gaps {
			if g-1 < after {
				after = g - 1
			}
		}
		batch, err := f.cfg.Feed.Changes(ctx, after, 500)
		if err != nil {
			return err
		}
		for _, c := range batch {
			switch {
			case c.Seq <= f.last:
				if _, missing := f.gaps[c.Seq]; !missing {
					continue // seen already
				}
				delete(f.gaps, c.Seq)
			default:
				for g := f.last + 1; g < c.Seq; g++ {
					f.gaps[g] = start
				}
				f.last = c.Seq
			}
			if h := f.cfg.Handlers[c.Table]; h != nil {
				if err := h(ctx, c.Key); err != nil {
					f.cfg.Logger.Warn("apply change", "table", c.Table, "key", c.Key, "err", err)
					needResync = true
				}
			}
			f.applied++
		}
		if len(batch) < 500 {
			break
		}
	}
	for g, since := range f.gaps {
		if start.Sub(since) > f.cfg.GapTimeout {
			delete(f.gaps, g) // a rolled-back transaction's number
		}
	}
	if needResync && f.cfg.Resync != nil {
		if err := f.cfg.Resync(ctx); err != nil {
			return err
		}
	}
	f.syncedAt = start
	if f.cfg.Synced != nil {
		f.cfg.Synced()
	}
	return nil
}

// check runs the periodic consistency check and resyncs on a difference.
func (f *Follower) check(ctx context.Context) {
	if f.cfg.Check == nil || f.cfg.Resync == nil {
		return
	}
	if err := f.CatchUp(ctx); err != nil {
		return
	}
	ok, err := f.cfg.Check(ctx)
	if err != nil || ok {
		return
	}
	f.cfg.Logger.Warn("in-memory views differ from the database; rebuilding them")
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.cfg.Resync(ctx); err != nil {
		f.cfg.Logger.Error("resync", "err", err)
	}
}
