package router

import (
	"context"
	"net/http"

	"github.com/ward-id/ward/internal/storage"
)

// request is what the mux keeps for one request: the status recorder, the
// matched route and its params, the caller its authenticator found and the
// request's write mark. It is one allocation and one context value (the
// request's context is the request itself), where a value per layer cost a
// context, a boxed value and a copy of the http.Request each.
type request struct {
	context.Context // the request's context as the mux received it

	rec    recorder
	route  *Route
	params Params
	// captured holds the route's captures, so that matching allocates
	// nothing (Ward's routes capture four at most, docs/routes.md); a
	// route with more outgrows it into a fresh slice.
	captured [6]Param
	caller   Caller
	// hasCaller: the route's authenticator ran and found caller.
	hasCaller bool

	// marked: the mux keeps a write mark for this request (Mux.Settle is
	// set), so storage.NoteWrite finds mark.
	marked bool
	mark   storage.WriteMark
	// in is the request as the mux received it, for Settle: its context
	// has no mark, since what Settle writes is not the request's.
	in     *http.Request
	settle func(*http.Request)
}

type ctxKey struct{}

// Value answers the mux's own key and the write mark's from the request
// state, and every other key from the context the mux received.
func (q *request) Value(key any) any {
	switch key.(type) {
	case ctxKey:
		return q
	case storage.WriteMarkKey:
		if q.marked {
			return &q.mark
		}
	}
	return q.Context.Value(key)
}

// stateOf returns the mux's state of the request ctx belongs to, or nil.
func stateOf(ctx context.Context) *request {
	q, _ := ctx.Value(ctxKey{}).(*request)
	return q
}

// derive returns a state on ctx for a handler tested outside the mux,
// keeping what an earlier WithRoute or WithCaller put in ctx.
func derive(ctx context.Context) *request {
	q := &request{Context: ctx}
	if old := stateOf(ctx); old != nil {
		q.route, q.params, q.caller, q.hasCaller = old.route, old.params, old.caller, old.hasCaller
	}
	return q
}

// settleWrites runs Settle when the request wrote since it last ran:
// before the first byte of the answer, and when the handler returns.
func (q *request) settleWrites() {
	if q.marked && q.mark.Take() {
		q.settle(q.in)
	}
}
