package changefeed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// feed is a change feed whose rows the test commits in any order, as
// concurrent transactions commit out of sequence order. Only the methods the
// follower calls are implemented; the rest panic through the nil interface.
type feed struct {
	storage.ChangeFeed
	mu   sync.Mutex
	rows []storage.Change
	err  error
}

func (f *feed) commit(seq int64, table, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows = append(f.rows, storage.Change{Seq: seq, Table: table, Key: key})
	slices.SortFunc(f.rows, func(a, b storage.Change) int { return int(a.Seq - b.Seq) })
}

func (f *feed) Changes(_ context.Context, after int64, limit int) ([]storage.Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []storage.Change
	for _, c := range f.rows {
		if c.Seq > after && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

// recorder collects the keys each table's handler saw.
type recorder struct {
	seen []string
	fail map[string]bool
}

func (r *recorder) handler(table string) Handler {
	return func(_ context.Context, key string) error {
		r.seen = append(r.seen, table+"/"+key)
		if r.fail[key] {
			return errors.New("cannot apply " + key)
		}
		return nil
	}
}

func TestCatchUp(t *testing.T) {
	type step struct {
		commit []storage.Change // committed before this catch-up
		want   []string         // applied by it, in order
		clock  time.Duration    // the clock advances by this before the catch-up
	}
	c := func(seq int64, key string) storage.Change { return storage.Change{Seq: seq, Table: "t", Key: key} }
	tests := []struct {
		name  string
		head  int64
		steps []step
	}{
		{"in order", 0, []step{
			{commit: []storage.Change{c(1, "a"), c(2, "b")}, want: []string{"t/a", "t/b"}},
			{commit: []storage.Change{c(3, "c")}, want: []string{"t/c"}},
			{want: nil},
		}},
		{"starts after head", 2, []step{
			{commit: []storage.Change{c(1, "old"), c(2, "old"), c(3, "new")}, want: []string{"t/new"}},
		}},
		{"a gap fills later", 0, []step{
			{commit: []storage.Change{c(1, "a"), c(3, "c")}, want: []string{"t/a", "t/c"}},
			{commit: []storage.Change{c(2, "b")}, want: []string{"t/b"}},
			{want: nil},
		}},
		{"a gap that never fills expires", 0, []step{
			{commit: []storage.Change{c(1, "a"), c(3, "c")}, want: []string{"t/a", "t/c"}},
			{clock: 6 * time.Second, want: nil},
			// Expired: a late row 2 is no longer waited for.
			{commit: []storage.Change{c(2, "late")}, want: nil},
		}},
		{"more than one batch", 0, []step{
			{commit: func() []storage.Change {
				var cs []storage.Change
				for i := int64(1); i <= 1200; i++ {
					cs = append(cs, c(i, "k"))
				}
				return cs
			}(), want: slices.Repeat([]string{"t/k"}, 1200)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			fd := &feed{}
			rec := &recorder{}
			f := New(Config{Feed: fd, Handlers: map[string]Handler{"t": rec.handler("t")}, Now: func() time.Time { return now }}, tt.head)
			var applied int64
			for i, s := range tt.steps {
				for _, ch := range s.commit {
					fd.commit(ch.Seq, ch.Table, ch.Key)
				}
				now = now.Add(s.clock)
				rec.seen = nil
				if err := f.CatchUp(context.Background()); err != nil {
					t.Fatalf("step %d: CatchUp: %v", i, err)
				}
				if !slices.Equal(rec.seen, s.want) {
					t.Fatalf("step %d applied %v, want %v", i, rec.seen, s.want)
				}
				applied += int64(len(s.want))
				if f.Applied() != applied {
					t.Fatalf("step %d: Applied() = %d, want %d", i, f.Applied(), applied)
				}
			}
		})
	}
}

func TestUnknownTablesAreSkipped(t *testing.T) {
	fd := &feed{}
	rec := &recorder{}
	fd.commit(1, "other", "x")
	fd.commit(2, "t", "y")
	f := New(Config{Feed: fd, Handlers: map[string]Handler{"t": rec.handler("t")}}, 0)
	if err := f.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.seen, []string{"t/y"}) {
		t.Fatalf("applied %v, want only t/y", rec.seen)
	}
}

func TestFailedChangeResyncs(t *testing.T) {
	fd := &feed{}
	rec := &recorder{fail: map[string]bool{"bad": true}}
	resyncs := 0
	f := New(Config{
		Feed:     fd,
		Handlers: map[string]Handler{"t": rec.handler("t")},
		Resync:   func(context.Context) error { resyncs++; return nil },
	}, 0)
	fd.commit(1, "t", "good")
	if err := f.CatchUp(context.Background()); err != nil || resyncs != 0 {
		t.Fatalf("CatchUp = %v with %d resyncs; want nil and none", err, resyncs)
	}
	fd.commit(2, "t", "bad")
	fd.commit(3, "t", "after")
	if err := f.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if resyncs != 1 {
		t.Fatalf("a change that failed to apply caused %d resyncs, want 1", resyncs)
	}
	if !slices.Contains(rec.seen, "t/after") {
		t.Fatalf("the change after the failed one was not applied: %v", rec.seen)
	}
}

func TestLagAndReady(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	fd := &feed{}
	f := New(Config{Feed: fd, Now: func() time.Time { return now }}, 0)
	now = now.Add(3 * time.Second)
	if got := f.Lag(); got != 3*time.Second {
		t.Fatalf("Lag() = %v before any catch-up, want 3s", got)
	}
	if f.Ready(time.Second) {
		t.Fatal("Ready(1s) with a lag of 3s")
	}
	if err := f.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.Lag() != 0 || !f.Ready(time.Second) {
		t.Fatalf("after a catch-up: Lag() = %v, Ready = %v; want 0, true", f.Lag(), f.Ready(time.Second))
	}
	// A catch-up that cannot read the feed leaves the lag growing.
	fd.err = errors.New("database down")
	now = now.Add(2 * time.Second)
	if err := f.CatchUp(context.Background()); err == nil {
		t.Fatal("CatchUp succeeded on a failing feed")
	}
	if f.Ready(time.Second) {
		t.Fatal("Ready after a failed catch-up two seconds late")
	}
}

func TestCheckResyncsOnDifference(t *testing.T) {
	for _, consistent := range []bool{true, false} {
		fd := &feed{}
		resyncs := 0
		f := New(Config{
			Feed:   fd,
			Resync: func(context.Context) error { resyncs++; return nil },
			Check:  func(context.Context) (bool, error) { return consistent, nil },
		}, 0)
		f.check(context.Background())
		if want := map[bool]int{true: 0, false: 1}[consistent]; resyncs != want {
			t.Errorf("consistent=%v: %d resyncs, want %d", consistent, resyncs, want)
		}
	}
}

// TestLocalCatchUpAppliesOnce: writers that each commit a change and catch
// up (as the server does before a writing request answers) find their own
// change applied when CatchUp returns, while a background catch-up (the
// poll) races them; every change is applied exactly once.
func TestLocalCatchUpAppliesOnce(t *testing.T) {
	fd := &feed{}
	var (
		mu      sync.Mutex
		applied = map[string]int{}
	)
	f := New(Config{Feed: fd, Handlers: map[string]Handler{"t": func(_ context.Context, key string) error {
		mu.Lock()
		defer mu.Unlock()
		applied[key]++
		return nil
	}}}, 0)
	ctx, stop := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for ctx.Err() == nil {
			if err := f.CatchUp(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("background CatchUp: %v", err)
			}
		}
	}()
	const writers, writes = 8, 50
	var (
		seqMu sync.Mutex
		seq   int64
		wg    sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				key := fmt.Sprintf("w%d-%d", w, i)
				seqMu.Lock()
				seq++
				fd.commit(seq, "t", key)
				seqMu.Unlock()
				if err := f.CatchUp(context.Background()); err != nil {
					t.Errorf("local CatchUp: %v", err)
					return
				}
				mu.Lock()
				n := applied[key]
				mu.Unlock()
				if n != 1 {
					t.Errorf("%s applied %d times when its writer's CatchUp returned, want 1", key, n)
				}
			}
		}()
	}
	wg.Wait()
	stop()
	<-polled
	if err := f.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(applied) != writers*writes || f.Applied() != writers*writes {
		t.Fatalf("%d keys applied, Applied() = %d; want %d each", len(applied), f.Applied(), writers*writes)
	}
	for key, n := range applied {
		if n != 1 {
			t.Errorf("%s applied %d times, want once", key, n)
		}
	}
}

// TestSyncedOnlyAfterACompleteCatchUp: Synced (which clears a stale RBAC
// index) runs after a catch-up that read the feed to its end and applied
// it, and never after one that failed to read or to resync.
func TestSyncedOnlyAfterACompleteCatchUp(t *testing.T) {
	for _, c := range []struct {
		name       string
		readErr    error
		failApply  bool
		resyncErr  error
		wantSynced int
	}{
		{name: "applied", wantSynced: 1},
		{name: "feed unreadable", readErr: errors.New("down"), wantSynced: 0},
		{name: "a change failed, resync repaired it", failApply: true, wantSynced: 1},
		{name: "a change failed and so did the resync", failApply: true, resyncErr: errors.New("down"), wantSynced: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			fd := &feed{err: c.readErr}
			rec := &recorder{fail: map[string]bool{"k": c.failApply}}
			synced := 0
			f := New(Config{Feed: fd, Handlers: map[string]Handler{"t": rec.handler("t")},
				Resync: func(context.Context) error { return c.resyncErr }, Synced: func() { synced++ }}, 0)
			fd.commit(1, "t", "k")
			err := f.CatchUp(context.Background())
			if (err == nil) != (c.wantSynced == 1) || synced != c.wantSynced {
				t.Fatalf("CatchUp = %v, Synced ran %d times; want %d", err, synced, c.wantSynced)
			}
		})
	}
}
