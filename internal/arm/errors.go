package arm

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ward-id/ward/internal/msi"
)

// apiError is an ARM error response: {"error":{"code","message"}}.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError turns any error into ARM's envelope, once, at the edge. Errors
// that are not protocol or rule errors are logged and answered with a
// generic 500 that names the request ID, never with internals.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var me *msi.Error
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &me):
		status := http.StatusBadRequest
		switch me.Kind {
		case msi.KindNotFound:
			status = http.StatusNotFound
		case msi.KindConflict:
			status = http.StatusConflict
		case msi.KindForbidden:
			status = http.StatusForbidden
		}
		ae = newError(status, me.Code, me.Message)
	default:
		h.log.ErrorContext(r.Context(), "arm request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", w.Header().Get(HeaderRequestID), "err", err)
		ae = newError(http.StatusInternalServerError, CodeInternalServerError,
			"The server encountered an internal error. Request ID: "+w.Header().Get(HeaderRequestID))
	}
	var body errorBody
	body.Error.Code, body.Error.Message = ae.Code, ae.Message
	writeJSON(w, ae.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("marshal response", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalServerError","message":"failed to encode the response"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
