package audit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

func TestActivityRecord(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name       string
		status     int
		wantResult string
	}{
		{"created", http.StatusCreated, "Succeeded"},
		{"refused", http.StatusForbidden, "Failed"},
		{"failed", http.StatusInternalServerError, "Failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := wardtest.NewStore(t)
			// A cancelled request context: the record is stored all the same.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			a := Activity{Store: st, Now: func() time.Time { return now }}
			a.Record(ctx, storage.ActivityEvent{SubscriptionID: wardtest.SubscriptionID, Method: http.MethodPut, Action: "a/write", Scope: "/x", StatusCode: tc.status})
			got, err := st.ListActivity(context.Background(), wardtest.SubscriptionID, now.Add(-time.Minute), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].ID == "" || !got[0].Time.Equal(now) || got[0].Result != tc.wantResult || got[0].StatusCode != tc.status {
				t.Fatalf("stored %+v, want one event at %v with result %s", got, now, tc.wantResult)
			}
		})
	}
}

func TestActivityRecordFailureIsLogged(t *testing.T) {
	st := wardtest.NewStore(t)
	st.Fail("RecordActivity", errors.New("disk full"))
	var buf bytes.Buffer
	a := Activity{Store: st, Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	a.Record(context.Background(), storage.ActivityEvent{SubscriptionID: wardtest.SubscriptionID, Action: "a/write", StatusCode: http.StatusOK})
	if got := buf.String(); !strings.Contains(got, "record activity") || !strings.Contains(got, "disk full") {
		t.Fatalf("log = %q, want the failure logged", got)
	}
}
