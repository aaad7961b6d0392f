package sts

import (
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/ward-id/ward/internal/httpbody"
)

// Error is a token-service error: an OAuth error value, an AADSTS code and
// a description, returned as Entra returns them.
type Error struct {
	Status int
	OAuth  string
	Code   int
	// Message is the full description; the sign-in log records it.
	Message string
	// Public, when set, is the description the caller gets instead of
	// Message: Entra's plain text, where Message adds what only the
	// identity's administrators may read (which issuers and subjects the
	// identity trusts, or why an issuer could not be reached).
	Public string
}

func (e *Error) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.Code, e.Message) }

// description is the text the caller gets.
func (e *Error) description() string {
	if e.Public != "" {
		return e.Public
	}
	return e.Message
}

func newErr(status int, oauth string, code int, format string, args ...any) *Error {
	return &Error{Status: status, OAuth: oauth, Code: code, Message: fmt.Sprintf(format, args...)}
}

func errMissing(name string) *Error {
	return newErr(http.StatusBadRequest, errInvalidRequest, CodeMissingParameter, "The request body must contain the following parameter: '%s'.", name)
}

type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

// writeError writes e in Entra's JSON shape.
func writeError(w http.ResponseWriter, r *http.Request, e *Error, now time.Time, errorURIBase string) {
	ts := now.UTC().Format("2006-01-02 15:04:05Z")
	trace := uuid.NewString()
	corr := r.Header.Get(headerClientRequestID)
	if corr == "" {
		corr = r.URL.Query().Get(headerClientRequestID)
	}
	if _, err := uuid.Parse(corr); err != nil {
		corr = uuid.NewString()
	}
	body := errorBody{
		Error:            e.OAuth,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", e.Code, e.description(), trace, corr, ts),
		ErrorCodes:       []int{e.Code},
		Timestamp:        ts,
		TraceID:          trace,
		CorrelationID:    corr,
		ErrorURI:         fmt.Sprintf("%s/error?code=%d", errorURIBase, e.Code),
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	httpbody.WriteJSON(w, status, v, []byte(`{"error":"server_error"}`))
}
