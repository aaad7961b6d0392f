package audit

import (
	"context"
	"log/slog"
	"time"
)

// RetentionStore deletes old log records.
type RetentionStore interface {
	DeleteSignInsBefore(ctx context.Context, t time.Time) (int64, error)
	DeleteActivityBefore(ctx context.Context, t time.Time) (int64, error)
}

// DefaultRetention is how long the logs are kept by default: 30 days, as
// Entra keeps its sign-in log.
const DefaultRetention = 30 * 24 * time.Hour

// RetentionInterval is how often Retain deletes expired records.
const RetentionInterval = time.Hour

// Retention deletes sign-in and activity records older than Age.
type Retention struct {
	Store  RetentionStore
	Age    time.Duration // <= 0: keep everything
	Logger *slog.Logger
	Now    func() time.Time
}

// Run deletes expired records at once and then every interval (default
// RetentionInterval) until ctx ends. With Age <= 0 it returns at once.
func (r Retention) Run(ctx context.Context, interval time.Duration) {
	if r.Age <= 0 {
		return
	}
	if interval <= 0 {
		interval = RetentionInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once deletes the records older than Age from both logs, logging what it
// deleted or why it could not.
func (r Retention) Once(ctx context.Context) {
	if r.Age <= 0 {
		return
	}
	log, now := r.Logger, r.Now
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	cutoff := now().Add(-r.Age)
	signIns, err := r.Store.DeleteSignInsBefore(ctx, cutoff)
	if err != nil && ctx.Err() == nil {
		log.Error("sign-in log retention", "err", err, "before", cutoff)
	}
	activity, err := r.Store.DeleteActivityBefore(ctx, cutoff)
	if err != nil && ctx.Err() == nil {
		log.Error("activity log retention", "err", err, "before", cutoff)
	}
	if signIns > 0 || activity > 0 {
		log.Info("log retention", "before", cutoff, "sign_ins_deleted", signIns, "activity_deleted", activity)
	}
}
