package audit

import (
	"context"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

func TestRetention(t *testing.T) {
	ctx := context.Background()
	st := wardtest.OpenSQLite(t)
	now := t0.Add(31 * 24 * time.Hour)
	if err := st.RecordSignIns(ctx, []storage.SignIn{
		{ID: "old", Time: t0, Result: "success"},
		{ID: "new", Time: now.Add(-time.Hour), Result: "success"},
		{ID: "old-but-repeated", Time: t0, LastSeen: now.Add(-time.Minute), Count: 9, Result: "failure"},
	}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []storage.ActivityEvent{{ID: "old", Time: t0, SubscriptionID: "s"}, {ID: "new", Time: now, SubscriptionID: "s"}} {
		if err := st.RecordActivity(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	// Age 0 keeps everything, and Run returns at once.
	done := make(chan struct{})
	go func() {
		Retention{Store: st, Now: func() time.Time { return now }}.Run(ctx, time.Millisecond)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run with Age 0 did not return")
	}
	if rows := list(t, st); len(rows) != 3 {
		t.Fatalf("age 0 deleted sign-ins: %d left", len(rows))
	}

	Retention{Store: st, Age: DefaultRetention, Logger: quiet(), Now: func() time.Time { return now }}.Once(ctx)
	rows := list(t, st)
	if len(rows) != 2 || rows[0].ID != "new" || rows[1].ID != "old-but-repeated" {
		t.Errorf("sign-ins kept: %+v, want new and old-but-repeated", rows)
	}
	evs, err := st.ListActivity(ctx, "s", time.Time{}, 10)
	if err != nil || len(evs) != 1 || evs[0].ID != "new" {
		t.Errorf("activity kept: %+v %v, want new", evs, err)
	}
}

func TestRetentionRunStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r := Retention{Store: wardtest.OpenSQLite(t), Age: time.Hour, Logger: quiet()}
	go func() { r.Run(ctx, time.Millisecond); close(done) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}
