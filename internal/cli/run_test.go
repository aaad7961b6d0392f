package cli

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestKeepFreshRefreshesAtEightyPercent(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := start
	var waits []time.Duration
	after := func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		clock = clock.Add(d)
		ch := make(chan time.Time, 1)
		ch <- clock
		return ch
	}
	ctx, cancel := context.WithCancel(context.Background())
	fetches := 0
	fetch := func() (time.Time, error) {
		fetches++
		switch fetches {
		case 2:
			return time.Time{}, errors.New("server down")
		case 4:
			cancel()
		}
		return clock.Add(10 * time.Minute), nil
	}
	var errs []error
	keepFresh(ctx, start.Add(10*time.Minute), fetch, func() time.Time { return clock }, after, func(err error) { errs = append(errs, err) })
	want := []time.Duration{8 * time.Minute, 8 * time.Minute, time.Minute, 8 * time.Minute}
	if len(waits) < len(want) {
		t.Fatalf("waits = %v, want at least %v", waits, want)
	}
	for i, w := range want {
		if waits[i] != w {
			t.Fatalf("wait %d = %v, want %v (all: %v)", i, waits[i], w, waits)
		}
	}
	if len(errs) != 1 || fetches != 4 {
		t.Fatalf("errors %v, fetches %d", errs, fetches)
	}
}
