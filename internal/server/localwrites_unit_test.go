package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

// TestLocalWritesOrder: the views catch up exactly when the request wrote,
// before any byte of the answer, and once per batch of writes.
func TestLocalWritesOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request, log *[]string)
		syncErr error // what the catch-up returns
		want    []string
	}{
		{"no write, no catch-up", func(w http.ResponseWriter, r *http.Request, log *[]string) {
			*log = append(*log, "answer")
			w.WriteHeader(http.StatusOK)
		}, nil, []string{"answer", "header sent"}},
		{"write, then answer", func(w http.ResponseWriter, r *http.Request, log *[]string) {
			storage.NoteWrite(r.Context())
			*log = append(*log, "answer")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("{}"))
		}, nil, []string{"answer", "catch-up", "header sent"}},
		{"write, catch-up fails: the caches are dropped before the answer", func(w http.ResponseWriter, r *http.Request, log *[]string) {
			storage.NoteWrite(r.Context())
			w.WriteHeader(http.StatusOK)
		}, errors.New("database is locked"), []string{"catch-up", "forget", "header sent"}},
		{"write, body without a status", func(w http.ResponseWriter, r *http.Request, log *[]string) {
			storage.NoteWrite(r.Context())
			_, _ = w.Write([]byte("{}"))
		}, nil, []string{"catch-up", "header sent"}},
		{"write, no answer at all", func(w http.ResponseWriter, r *http.Request, log *[]string) {
			storage.NoteWrite(r.Context())
			storage.NoteWrite(r.Context())
		}, nil, []string{"catch-up"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []string
			sync := func(ctx context.Context) error {
				log = append(log, "catch-up")
				storage.NoteWrite(ctx) // a view's own write is not the request's
				return tc.syncErr
			}
			forget := func() { log = append(log, "forget") }
			h := router.New()
			h.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			h.Settle = localWrites(sync, forget, h.Logger)
			h.Handle(router.Route{Method: http.MethodPut, Pattern: "/x", Access: router.Public("test"),
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.handler(w, r, &log) })})
			rec := &headerLog{ResponseRecorder: httptest.NewRecorder(), log: &log}
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/x", nil))
			if len(log) != len(tc.want) {
				t.Fatalf("events %v, want %v", log, tc.want)
			}
			for i := range log {
				if log[i] != tc.want[i] {
					t.Fatalf("events %v, want %v", log, tc.want)
				}
			}
		})
	}
}

// headerLog notes when the status line would leave.
type headerLog struct {
	*httptest.ResponseRecorder
	log  *[]string
	sent bool
}

func (h *headerLog) WriteHeader(code int) {
	if !h.sent {
		h.sent = true
		*h.log = append(*h.log, "header sent")
	}
	h.ResponseRecorder.WriteHeader(code)
}

func (h *headerLog) Write(b []byte) (int, error) {
	if !h.sent {
		h.WriteHeader(http.StatusOK)
	}
	return h.ResponseRecorder.Write(b)
}
