package audit

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/storage"
)

// ActivityRecorder stores activity log events.
type ActivityRecorder interface {
	RecordActivity(ctx context.Context, e storage.ActivityEvent) error
}

// Activity writes the activity log's record of a management write for
// every front that makes one (the management API, the console), so the
// records read the same whichever door the write came through.
type Activity struct {
	Store  ActivityRecorder
	Logger *slog.Logger     // default slog.Default()
	Now    func() time.Time // default time.Now
}

// Record stores e with a new ID, the time (when e has none) and its
// result from its status: Failed from 400 up, else Succeeded. It runs
// after the request's context may have ended (the write happened either
// way), and logs a failure to store rather than returning it: the answer
// has already gone.
func (a Activity) Record(ctx context.Context, e storage.ActivityEvent) {
	if a.Store == nil {
		return
	}
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.Time.IsZero() {
		now := time.Now
		if a.Now != nil {
			now = a.Now
		}
		e.Time = now().UTC()
	}
	e.Result = "Succeeded"
	if e.StatusCode >= http.StatusBadRequest {
		e.Result = "Failed"
	}
	if err := a.Store.RecordActivity(context.WithoutCancel(ctx), e); err != nil {
		log := a.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Error("record activity", "err", err, "action", e.Action)
	}
}
