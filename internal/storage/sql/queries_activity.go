package sql

import (
	"context"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

const activityCols = `id, created_at, sub_key, caller_app_id, caller_oid, method, action, scope, status_code, result, correlation_id`

// RecordActivity appends to the activity log, its fields capped.
func (s *DB) RecordActivity(ctx context.Context, e storage.ActivityEvent) error {
	e = e.Bounded()
	_, err := s.exec(ctx, `INSERT INTO activity_log (`+activityCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, micros(e.Time), strings.ToLower(e.SubscriptionID), e.CallerAppID, e.CallerObjectID, e.Method, e.Action, e.Scope, e.StatusCode, e.Result, e.CorrelationID)
	return err
}

// ListActivity lists a subscription's events since a time, newest first.
func (s *DB) ListActivity(ctx context.Context, sub string, since time.Time, limit int) ([]storage.ActivityEvent, error) {
	limit = pageLimit(storage.Page{Limit: limit})
	rows, err := s.db.QueryContext(ctx, s.fl.rebind(`SELECT `+activityCols+` FROM activity_log WHERE sub_key = ? AND created_at >= ? ORDER BY created_at DESC, id DESC LIMIT ?`),
		strings.ToLower(sub), micros(since), limit)
	if err != nil {
		return nil, s.classify(err)
	}
	return collect(rows, func(sc scanner) (storage.ActivityEvent, error) {
		var e storage.ActivityEvent
		var t int64
		err := sc.Scan(&e.ID, &t, &e.SubscriptionID, &e.CallerAppID, &e.CallerObjectID, &e.Method, &e.Action, &e.Scope, &e.StatusCode, &e.Result, &e.CorrelationID)
		e.Time = fromMicros(t)
		return e, err
	})
}
