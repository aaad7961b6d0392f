package audit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// gatedStore embeds the real store and counts batches; while gate is
// non-nil, each write waits for it to close.
type gatedStore struct {
	storage.Storage
	mu      sync.Mutex
	gate    chan struct{}
	batches int
	started chan struct{} // receives once per write that began
}

func (g *gatedStore) RecordSignIns(ctx context.Context, batch []storage.SignIn) error {
	g.mu.Lock()
	g.batches++
	gate := g.gate
	g.mu.Unlock()
	if g.started != nil {
		select {
		case g.started <- struct{}{}:
		default:
		}
	}
	if gate != nil {
		<-gate
	}
	return g.Storage.RecordSignIns(ctx, batch)
}

// success is a workload identity's successful sign-in, the same but for
// its ID and time whatever i.
func success(i int, at time.Time) storage.SignIn {
	return storage.SignIn{ID: fmt.Sprint("s", i), Time: at, Source: "192.0.2.7", ClientID: "c", PrincipalID: "p", IdentityID: "/subscriptions/s/id",
		Resource: "https://management.azure.com", Credential: "federated", Issuer: "https://issuer", Subject: "system:serviceaccount:ns:app", Verified: true, Result: "success"}
}

func refusal(i int, at time.Time, source, client string, code int) storage.SignIn {
	return storage.SignIn{ID: fmt.Sprint("r", i), Time: at, Source: source, ClientID: client, Result: "failure", ErrorCode: code, Reason: "refused " + client}
}

func list(t *testing.T, s storage.Storage) []storage.SignIn {
	t.Helper()
	got, err := s.ListSignIns(context.Background(), time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func total(rows []storage.SignIn) int {
	n := 0
	for _, r := range rows {
		n += r.Count
	}
	return n
}

func TestAggregation(t *testing.T) {
	const src = "192.0.2.7"
	cases := []struct {
		name      string
		records   func() []storage.SignIn
		wantRows  int
		wantCount int // sum of counts
		check     func(t *testing.T, rows []storage.SignIn)
	}{
		{
			name: "repeats of one refusal are one row",
			records: func() []storage.SignIn {
				var out []storage.SignIn
				for i := 0; i < 200; i++ {
					out = append(out, refusal(i, t0.Add(time.Duration(i)*100*time.Millisecond), src, "bad", 700016))
				}
				return out
			},
			wantRows: 1, wantCount: 200,
			check: func(t *testing.T, rows []storage.SignIn) {
				if !rows[0].Time.Equal(t0) || !rows[0].LastSeen.Equal(t0.Add(19900*time.Millisecond)) {
					t.Errorf("first %v last %v, want %v and %v", rows[0].Time, rows[0].LastSeen, t0, t0.Add(19900*time.Millisecond))
				}
			},
		},
		{
			name: "repeats of one success are one row",
			records: func() []storage.SignIn {
				var out []storage.SignIn
				for i := 0; i < 20; i++ {
					out = append(out, success(i, t0.Add(time.Duration(i)*time.Second)))
				}
				return out
			},
			wantRows: 1, wantCount: 20,
			check: func(t *testing.T, rows []storage.SignIn) {
				if rows[0].ID != "s0" || !rows[0].Time.Equal(t0) || !rows[0].LastSeen.Equal(t0.Add(19*time.Second)) {
					t.Errorf("row %s first %v last %v, want s0 first %v last %v", rows[0].ID, rows[0].Time, rows[0].LastSeen, t0, t0.Add(19*time.Second))
				}
			},
		},
		{
			name: "distinct successes are their own rows",
			records: func() []storage.SignIn {
				var out []storage.SignIn
				for i, change := range []func(*storage.SignIn){
					func(*storage.SignIn) {},
					func(s *storage.SignIn) { s.Source = "192.0.2.99" },
					func(s *storage.SignIn) { s.ClientID = "other" },
					func(s *storage.SignIn) { s.PrincipalID = "other" },
					func(s *storage.SignIn) { s.IdentityID = "other" },
					func(s *storage.SignIn) { s.Resource = "https://vault.azure.net" },
					func(s *storage.SignIn) { s.Credential = "clientSecret" },
					func(s *storage.SignIn) { s.Issuer = "https://other" },
					func(s *storage.SignIn) { s.Subject = "system:serviceaccount:a:b" },
					func(s *storage.SignIn) { s.Verified = false },
				} {
					r := success(i, t0)
					change(&r)
					out = append(out, r)
				}
				return out
			},
			wantRows: 10, wantCount: 10,
		},
		{
			name: "a success a window after the first is a new row",
			records: func() []storage.SignIn {
				var out []storage.SignIn
				for i := 0; i < 5; i++ { // every 30 s for two minutes
					out = append(out, success(i, t0.Add(time.Duration(i)*30*time.Second)))
				}
				return out
			},
			wantRows: 3, wantCount: 5,
		},
		{
			name: "a success and a refusal of the same client are two rows",
			records: func() []storage.SignIn {
				r := refusal(1, t0, src, "c", 700016)
				return []storage.SignIn{success(1, t0), r, success(2, t0), r}
			},
			wantRows: 2, wantCount: 4,
		},
		{
			name: "different codes and clients are different rows",
			records: func() []storage.SignIn {
				return []storage.SignIn{refusal(1, t0, src, "a", 700016), refusal(2, t0, src, "a", 7000215), refusal(3, t0, src, "b", 700016),
					refusal(4, t0, "192.0.2.8", "a", 700016)}
			},
			wantRows: 4, wantCount: 4,
		},
		{
			name: "a different explanation is a new row",
			records: func() []storage.SignIn {
				a, b := refusal(1, t0, src, "a", 700213), refusal(2, t0, src, "a", 700213)
				b.Reason = "subject 'x' is 1 character from 'y'"
				c := a
				c.ID = "r3"
				return []storage.SignIn{a, b, c}
			},
			wantRows: 2, wantCount: 3,
		},
		{
			name: "a window slides with the repeats",
			records: func() []storage.SignIn {
				return []storage.SignIn{refusal(1, t0, src, "a", 700016), refusal(2, t0.Add(50*time.Second), src, "a", 700016),
					refusal(3, t0.Add(100*time.Second), src, "a", 700016), refusal(4, t0.Add(200*time.Second), src, "a", 700016)}
			},
			wantRows: 2, wantCount: 4,
		},
		{
			name: "one source over its budget is counted per code",
			records: func() []storage.SignIn {
				var out []storage.SignIn
				for i := 0; i < 50; i++ {
					out = append(out, refusal(i, t0, src, fmt.Sprint("client-", i), 700016))
				}
				out = append(out, refusal(100, t0, "192.0.2.8", "other", 700016))
				return out
			},
			wantRows: 10 + 1 + 1, wantCount: 51,
			check: func(t *testing.T, rows []storage.SignIn) {
				for _, r := range rows {
					if r.Count > 1 && (r.Count != 40 || !strings.Contains(r.Reason, "refusals from "+src+" exceed 10")) {
						t.Errorf("aggregated row: count %d reason %q", r.Count, r.Reason)
					}
				}
			},
		},
		{
			name: "all sources over the total are counted per code",
			records: func() []storage.SignIn {
				var out []storage.SignIn
				for i := 0; i < 400; i++ {
					out = append(out, refusal(i, t0, fmt.Sprintf("198.51.100.%d", i), "x", 700016))
				}
				return out
			},
			wantRows: 300 + 1, wantCount: 400,
		},
		{
			name: "budgets renew each window",
			records: func() []storage.SignIn {
				var out []storage.SignIn
				for i := 0; i < 30; i++ {
					out = append(out, refusal(i, t0.Add(time.Duration(i/15)*2*time.Minute), src, fmt.Sprint("c", i), 700016))
				}
				return out
			},
			wantRows: 2 * (10 + 1), wantCount: 30,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := wardtest.OpenSQLite(t)
			l := New(Config{Store: st, Logger: quiet()})
			for _, r := range tc.records() {
				l.Record(r)
			}
			l.Close()
			rows := list(t, st)
			if len(rows) != tc.wantRows || total(rows) != tc.wantCount {
				t.Fatalf("%d rows counting %d requests, want %d rows counting %d", len(rows), total(rows), tc.wantRows, tc.wantCount)
			}
			if s := l.Stats(); s.Dropped != 0 || s.Failed != 0 || s.Aggregated != int64(tc.wantCount-tc.wantRows) {
				t.Errorf("stats %+v, want %d aggregated and none lost", s, tc.wantCount-tc.wantRows)
			}
			if tc.check != nil {
				tc.check(t, rows)
			}
		})
	}
}

func TestRepeatAfterWriteIsAddedToTheStoredRow(t *testing.T) {
	st := &gatedStore{Storage: wardtest.OpenSQLite(t)}
	l := New(Config{Store: st, Logger: quiet()})
	defer l.Close()
	l.Record(refusal(1, t0, "192.0.2.1", "a", 700016))
	waitFor(t, func() bool { return l.Stats().Written == 1 })
	l.Record(refusal(2, t0.Add(10*time.Second), "192.0.2.1", "a", 700016))
	l.Record(refusal(3, t0.Add(20*time.Second), "192.0.2.1", "a", 700016))
	waitFor(t, func() bool { return l.Stats().Written == 2 })
	rows := list(t, st)
	if len(rows) != 1 || rows[0].Count != 3 || rows[0].ID != "r1" || !rows[0].LastSeen.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("rows = %+v, want r1 with count 3 last seen +20s", rows)
	}
}

func TestBatchesAndFullQueue(t *testing.T) {
	gate := make(chan struct{})
	st := &gatedStore{Storage: wardtest.OpenSQLite(t), gate: gate, started: make(chan struct{}, 1)}
	l := New(Config{Store: st, Logger: quiet(), Queue: 50, BlockFor: 20 * time.Millisecond})
	distinct := func(i int) storage.SignIn { // a success no other counts
		return storage.SignIn{ID: fmt.Sprint("s", i), Time: t0, ClientID: "c", Resource: fmt.Sprint("r", i), Result: "success"}
	}
	l.Record(distinct(0))
	<-st.started // the writer holds record s0 and waits at the gate
	for i := 1; i <= 50; i++ {
		l.Record(distinct(i))
	}
	// The queue is full: a repeat of a queued success is counted in it at
	// once; a new one waits, then is dropped and counted.
	start := time.Now()
	again := distinct(50)
	again.ID = "s50-again"
	l.Record(again)
	if waited := time.Since(start); waited > 10*time.Millisecond {
		t.Errorf("full queue: a repeat of a queued success waited %v", waited)
	}
	start = time.Now()
	l.Record(distinct(51))
	if waited := time.Since(start); waited < 20*time.Millisecond || waited > 5*time.Second {
		t.Errorf("full queue: Record returned after %v, want about 20ms", waited)
	}
	// Refusals are aggregated however full the queue.
	for i := 0; i < 100; i++ {
		l.Record(refusal(i, t0, fmt.Sprint("203.0.113.", i), fmt.Sprint("c", i), 700016))
	}
	st.mu.Lock()
	st.gate = nil
	st.mu.Unlock()
	close(gate)
	l.Close()

	s := l.Stats()
	if s.Dropped != 1 || s.Waited != 1 || s.Failed != 0 {
		t.Errorf("stats %+v, want 1 waited and dropped", s)
	}
	rows := list(t, st)
	// 51 successes (one counting two), one row counting all 100 refusals.
	if len(rows) != 52 || total(rows) != 152 {
		t.Errorf("%d rows counting %d, want 52 rows counting 152", len(rows), total(rows))
	}
	if st.batches > 3 {
		t.Errorf("%d transactions for 52 rows, want them batched", st.batches)
	}
}

func TestFieldsAreCappedBeforeQueueing(t *testing.T) {
	st := wardtest.OpenSQLite(t)
	l := New(Config{Store: st, Logger: quiet()})
	huge := strings.Repeat("x", 60_000)
	for i := 0; i < 200; i++ {
		l.Record(storage.SignIn{ID: fmt.Sprint(i), Time: t0, Source: "127.0.0.1", ClientID: huge, Resource: huge, Result: "failure", ErrorCode: 700016, Reason: huge})
	}
	l.mu.Lock()
	if p := l.pending; len(p) > 0 && len(p[0].ClientID) > storage.MaxLogIDBytes {
		t.Errorf("queued client ID of %d bytes", len(p[0].ClientID))
	}
	l.mu.Unlock()
	l.Close()
	rows := list(t, st)
	if len(rows) != 1 || rows[0].Count != 200 || len(rows[0].ClientID) > storage.MaxLogIDBytes || len(rows[0].Reason) > storage.MaxLogReasonBytes {
		t.Fatalf("%d rows; first: count %d, client ID %d bytes", len(rows), rows[0].Count, len(rows[0].ClientID))
	}
}

func TestRecordAfterCloseIsCounted(t *testing.T) {
	l := New(Config{Store: wardtest.OpenSQLite(t), Logger: quiet()})
	l.Close()
	l.Record(refusal(1, t0, "", "a", 700016))
	if l.Dropped() != 1 {
		t.Errorf("dropped %d, want 1", l.Dropped())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSuccessRepeatAfterWriteIsAddedToTheStoredRow(t *testing.T) {
	st := &gatedStore{Storage: wardtest.OpenSQLite(t)}
	l := New(Config{Store: st, Logger: quiet()})
	defer l.Close()
	first := success(1, t0)
	first.ID = "" // the log names a new row
	l.Record(first)
	waitFor(t, func() bool { return l.Stats().Written == 1 })
	l.Record(success(2, t0.Add(10*time.Second)))
	l.Record(success(3, t0.Add(20*time.Second)))
	waitFor(t, func() bool { return l.Stats().Written == 2 })
	rows := list(t, st)
	if len(rows) != 1 || rows[0].Count != 3 || rows[0].ID == "" || !rows[0].LastSeen.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("rows = %+v, want one with an ID, count 3, last seen +20s", rows)
	}
}

// TestSustainedRepeatsLinger: a pod's token refreshed in a tight loop (a
// reuse hit's sign-in, again and again) is one row whose count the writer
// adds to once per Linger, not once per transaction it can fit: each
// write used to find the deltas queued during it and write again at once,
// back to back for as long as the load lasted.
func TestSustainedRepeatsLinger(t *testing.T) {
	st := &gatedStore{Storage: wardtest.OpenSQLite(t)}
	l := New(Config{Store: st, Logger: quiet(), Linger: 20 * time.Millisecond})
	const d = 300 * time.Millisecond
	n := 0
	for start := time.Now(); time.Since(start) < d; n++ {
		l.Record(success(n, time.Now()))
		time.Sleep(20 * time.Microsecond)
	}
	l.Close()
	st.mu.Lock()
	batches := st.batches
	st.mu.Unlock()
	// One transaction per linger at most, and a last one at Close.
	if limit := int(d/(20*time.Millisecond)) + 3; batches > limit {
		t.Errorf("%d repeats written in %d transactions over %v, want at most %d (one per 20 ms linger)", n, batches, d, limit)
	}
	rows := list(t, st)
	if len(rows) != 1 || rows[0].Count != n {
		t.Errorf("rows %+v, want one counting all %d", rows, n)
	}
}
