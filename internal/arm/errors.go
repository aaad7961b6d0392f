package arm

import (
	"errors"
	"net/http"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

// newError is an ARM error with a message as it is (no formatting).
func newError(status int, code, message string) *armerr.Error {
	return &armerr.Error{Status: status, Code: code, Message: message}
}

// writeError turns any error into ARM's envelope, once, at the edge. Errors
// that are not protocol or rule errors are logged and answered with a
// generic 500 that names the request ID, never with internals.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var denial *policyDenial
	if errors.As(err, &denial) {
		writeJSON(w, http.StatusForbidden, denial.body())
		return
	}
	if errors.Is(err, storage.ErrInvalidCursor) {
		err = errInvalidSkipToken
	}
	e, ok := armerr.As(err)
	if !ok {
		h.log.Log(r.Context(), router.FailureLevel(r), "arm request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", w.Header().Get(router.HeaderRequestID), "err", err)
		e = armerr.Internal(w.Header().Get(router.HeaderRequestID))
	}
	armerr.Write(w, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) { armerr.WriteJSON(w, status, v) }
