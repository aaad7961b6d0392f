package server

import (
	"context"
	"log/slog"
	"net/http"
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
// withdrew it until the next poll. It is the mux's Settle: a request whose
// context saw a committed write (storage.NoteWrite) makes the follower
// catch up, so the write's own change is applied by the same handler the
// other replicas run, when the handler first writes its answer (status
// line or body) and once more when it returns (a handler that wrote after
// answering). Requests that do not write cost nothing: the write mark is
// part of the mux's state of the request.
//
// If the catch-up fails (the database could not be read just after the
// write committed), forget drops the views that are caches and marks the
// RBAC index stale (every decision a denial), so a revoked credential, a
// deleted identity or a withdrawn grant is not honoured until the feed
// has caught up.
func localWrites(sync catchUp, forget func(), log *slog.Logger) func(r *http.Request) {
	return func(r *http.Request) {
		// The answer waits for the views, even when the caller has gone:
		// the write is committed either way. The request's context has no
		// mark: what the views' handlers write is not the request's.
		if err := sync(context.WithoutCancel(r.Context())); err != nil {
			forget()
			log.Warn("apply a local write to this replica's views: dropped its caches; the change feed retries", "path", r.URL.Path, "err", err)
		}
	}
}
