package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/ward-id/ward/internal/storage"
)

// catchUp brings this replica's in-memory views up to the database: the
// change feed follower's CatchUp.
type catchUp func(ctx context.Context) error

// localWrites makes a request's own writes take effect on this replica
// before its answer leaves. Every view (RBAC index, token service caches,
// vault cache, hosted issuers' keys, signing keys) follows the change
// feed, which a replica reads when notified or every poll interval (250 ms,
// and always so on SQLite, which has no notifications); without this a
// withdrawn key or a revoked grant kept working on the very replica that
// withdrew it until the next poll. A request whose context saw a committed
// write (storage.NoteWrite) makes the follower catch up, so the write's
// own change is applied by the same handler the other replicas run, when
// the handler first writes its answer (status line or body) and once more
// when it returns (a handler that wrote after answering). Requests that do
// not write cost a context value and a wrapper, no database read.
func localWrites(sync catchUp, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, mark := storage.WithWriteMark(r.Context())
		sw := &syncWriter{ResponseWriter: w, settle: func() {
			if !mark.Take() {
				return
			}
			// The answer waits for the views, even when the caller has gone:
			// the write is committed either way. The request's own context
			// without the mark: what the views' handlers write is not the
			// request's.
			if err := sync(context.WithoutCancel(r.Context())); err != nil {
				log.Warn("apply a local write to this replica's views; the change feed retries", "path", r.URL.Path, "err", err)
			}
		}}
		next.ServeHTTP(sw, r.WithContext(ctx))
		sw.settle()
	})
}

// syncWriter settles the request's writes before anything of the answer is
// written.
type syncWriter struct {
	http.ResponseWriter
	settle func()
}

func (s *syncWriter) WriteHeader(code int) {
	s.settle()
	s.ResponseWriter.WriteHeader(code)
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.settle()
	return s.ResponseWriter.Write(b)
}

// Flush keeps streaming answers (the console's live sign-ins) flushable by
// a plain http.Flusher assertion.
func (s *syncWriter) Flush() {
	s.settle()
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (s *syncWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
