package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Request and correlation ID headers, as ARM sends them.
const (
	HeaderRequestID            = "x-ms-request-id"
	HeaderCorrelationRequestID = "x-ms-correlation-request-id"
	HeaderClientRequestID      = "x-ms-client-request-id"
)

// Protocol is how a part answers on the wire, for what the mux itself
// writes: a recovered panic as a 500 in the part's error envelope, and the
// request ID headers the protocol sends. A route declares its protocol when
// it is mounted; a route without one gets a plain-text 500.
type Protocol struct {
	// Name labels the protocol in logs ("arm", "keyvault", "graph", ...).
	Name string
	// Internal writes a 500 in the protocol's error envelope.
	Internal func(w http.ResponseWriter, r *http.Request)
	// RequestIDs sets x-ms-request-id on every answer, and
	// x-ms-correlation-request-id to the client's or the request ID, and
	// echoes x-ms-client-request-id, as ARM does. A request without a
	// correlation ID gets the request ID in its header too, so handlers
	// (the activity log) read one value.
	RequestIDs bool
}

// Fallback wraps fb so unmatched requests under a prefix get the
// protocol's request IDs too.
func (p *Protocol) Fallback(fb Fallback) Fallback {
	return func(w http.ResponseWriter, r *http.Request, status int, allowed []string) {
		p.setRequestIDs(w, r)
		fb(w, r, status, allowed)
	}
}

func (p *Protocol) setRequestIDs(w http.ResponseWriter, r *http.Request) {
	if p == nil || !p.RequestIDs {
		return
	}
	reqID := uuid.NewString()
	w.Header().Set(HeaderRequestID, reqID)
	corr := r.Header.Get(HeaderCorrelationRequestID)
	if corr == "" {
		corr = reqID
		r.Header.Set(HeaderCorrelationRequestID, corr)
	}
	w.Header().Set(HeaderCorrelationRequestID, corr)
	if c := r.Header.Get(HeaderClientRequestID); c != "" {
		w.Header().Set(HeaderClientRequestID, c)
	}
}

// serve runs a matched route: request IDs, then the handler with panics
// recovered into the route's protocol's 500.
func (m *Mux) serve(rt *Route, w http.ResponseWriter, r *http.Request) {
	rt.Protocol.setRequestIDs(w, r)
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler { // net/http's way to abort a response: let it
			panic(v)
		}
		m.logger().ErrorContext(r.Context(), "handler panic", "route", rt.Key(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		if rt.Protocol != nil && rt.Protocol.Internal != nil {
			rt.Protocol.Internal(w, r)
			return
		}
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}()
	rt.Handler.ServeHTTP(w, r)
}

func (m *Mux) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

// recorder remembers the status a handler wrote, for the access log, the
// metrics and the activity log (Status), so there is one.
// It also settles the request's writes (Mux.Settle) before anything of the
// answer leaves.
type recorder struct {
	http.ResponseWriter
	status int
	req    *request
}

func (s *recorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.req.settleWrites()
	s.ResponseWriter.WriteHeader(code)
}

func (s *recorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	s.req.settleWrites()
	return s.ResponseWriter.Write(b)
}

// Flush settles the request's writes and flushes what is written, so a
// streamed answer (the console's live sign-ins) is flushable by a plain
// http.Flusher assertion too.
func (s *recorder) Flush() { _ = s.FlushError() }

// FlushError is Flush with the connection's error, which
// http.ResponseController.Flush returns.
func (s *recorder) FlushError() error {
	s.req.settleWrites()
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (read
// deadlines, flushing) through the recorder.
func (s *recorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Status is the status written so far to w, a writer the mux passed to a
// handler: 0 before anything is written, or when w did not come from the mux.
func Status(w http.ResponseWriter) int {
	for {
		switch x := w.(type) {
		case *recorder:
			return x.status
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return 0
		}
	}
}

// accessLog logs one line per request: method, path, status, duration. It
// never logs headers or bodies, which carry tokens and secrets.
func (m *Mux) accessLog(rec *recorder, r *http.Request, start time.Time) {
	l := m.AccessLog
	if l == nil {
		l = m.Logger
	}
	if l == nil || !l.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	// Attrs, not key-value pairs: no value is boxed into an interface.
	l.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("path", sentPath(r)),
		slog.Int("status", status), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.String("proto", r.Proto))
}

// sentPath is the request's path as the client sent it, before the server
// collapsed doubled slashes for routing: the log shows what arrived (an
// SDK's "//subscriptions/..." included). The query is left out.
func sentPath(r *http.Request) string {
	sent, _, _ := strings.Cut(r.RequestURI, "?")
	if !strings.HasPrefix(sent, "/") { // absolute-form, or a request built in a test
		return r.URL.Path
	}
	return sent
}

// FailureLevel is the level to log a request's failure at: an error after
// the client stopped waiting (it closed the connection or canceled, as a
// load generator does when it stops) is the client's doing, not a server
// fault, so it is a debug line rather than an error.
func FailureLevel(r *http.Request) slog.Level {
	if errors.Is(r.Context().Err(), context.Canceled) {
		return slog.LevelDebug
	}
	return slog.LevelError
}
