package httpbody

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// jsonType is shared by every response: header values are only read.
var jsonType = []string{"application/json; charset=utf-8"}

// WriteJSON answers status with v as JSON, with its Content-Type and
// Content-Length, the one way every protocol writes a JSON response. A
// value that cannot be marshalled is Ward's bug, not the client's: it
// answers 500 with fallback, the protocol's own error body.
func WriteJSON(w http.ResponseWriter, status int, v any, fallback []byte) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, fallback
	}
	h := w.Header()
	h["Content-Type"] = jsonType
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
