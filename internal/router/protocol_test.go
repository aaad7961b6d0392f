package router

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProtocol: the mux recovers a panic into the route's protocol's 500
// (plain text without one), sets request IDs only for protocols that send
// them, echoing the client's, and logs one access line per request.
func TestProtocol(t *testing.T) {
	var logs bytes.Buffer
	m := New()
	m.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	envelope := &Protocol{Name: "test", RequestIDs: true, Internal: func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"internal"}`))
	}}
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	var seenStatus int
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		seenStatus = Status(w)
	})
	m.Handle(Route{Method: "GET", Pattern: "/p/boom", Access: Public("t"), Handler: boom, Protocol: envelope})
	m.Handle(Route{Method: "GET", Pattern: "/plain/boom", Access: Public("t"), Handler: boom})
	m.Handle(Route{Method: "GET", Pattern: "/p/ok", Access: Public("t"), Handler: ok, Protocol: envelope})
	m.Handle(Route{Method: "GET", Pattern: "/plain/ok", Access: Public("t"), Handler: ok})
	m.NotFound("", "/p/", envelope.Fallback(func(w http.ResponseWriter, _ *http.Request, status int, _ []string) { w.WriteHeader(status) }))

	cases := []struct {
		name, path, corr string
		status           int
		body             string
		ids              bool
	}{
		{"panic in a protocol's envelope", "/p/boom", "", 500, `{"error":"internal"}`, true},
		{"panic without a protocol", "/plain/boom", "", 500, "Internal Server Error\n", false},
		{"ids echo the client's correlation id", "/p/ok", "c-1", 201, "", true},
		{"no ids without a protocol that sends them", "/plain/ok", "", 201, "", false},
		{"fallback of a protocol gets ids", "/p/none", "", 404, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			req.Header.Set(HeaderClientRequestID, "client-1")
			if tc.corr != "" {
				req.Header.Set(HeaderCorrelationRequestID, tc.corr)
			}
			rec := httptest.NewRecorder()
			m.ServeHTTP(rec, req)
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Fatalf("GET %s: %d %q; want %d %q", tc.path, rec.Code, rec.Body.String(), tc.status, tc.body)
			}
			h := rec.Header()
			if got := h.Get(HeaderRequestID) != ""; got != tc.ids {
				t.Fatalf("GET %s: request ID set %v; want %v", tc.path, got, tc.ids)
			}
			if tc.ids {
				wantCorr := tc.corr
				if wantCorr == "" {
					wantCorr = h.Get(HeaderRequestID)
				}
				if h.Get(HeaderCorrelationRequestID) != wantCorr || h.Get(HeaderClientRequestID) != "client-1" {
					t.Fatalf("GET %s: correlation %q client %q; want %q client-1", tc.path, h.Get(HeaderCorrelationRequestID), h.Get(HeaderClientRequestID), wantCorr)
				}
			}
		})
	}
	if seenStatus != http.StatusCreated {
		t.Errorf("Status inside a handler = %d; want 201", seenStatus)
	}
	if n := strings.Count(logs.String(), "msg=request "); n != len(cases) {
		t.Errorf("access log has %d request lines; want %d:\n%s", n, len(cases), logs.String())
	}
	if !strings.Contains(logs.String(), "handler panic") || !strings.Contains(logs.String(), "route=\"GET /p/boom\"") {
		t.Errorf("the panic is not logged with its route:\n%s", logs.String())
	}
}

func TestFailureLevel(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if got := FailureLevel(r); got != slog.LevelError {
		t.Fatalf("live request: %v, want error", got)
	}
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	if got := FailureLevel(r.WithContext(ctx)); got != slog.LevelDebug {
		t.Fatalf("client gone: %v, want debug", got)
	}
}

func TestSentPath(t *testing.T) {
	for _, tc := range []struct{ requestURI, urlPath, want string }{
		{"//subscriptions/x/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", "/subscriptions/x/providers/Microsoft.Authorization/roleAssignments", "//subscriptions/x/providers/Microsoft.Authorization/roleAssignments"},
		{"/healthz", "/healthz", "/healthz"},
		{"", "/built/in/a/test", "/built/in/a/test"},
		{"https://ward.example/x?y", "/x", "/x"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RequestURI, r.URL.Path = tc.requestURI, tc.urlPath
		if got := sentPath(r); got != tc.want {
			t.Errorf("sentPath(%q, %q) = %q, want %q", tc.requestURI, tc.urlPath, got, tc.want)
		}
	}
}
