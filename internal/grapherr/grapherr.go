// Package grapherr writes Microsoft Graph's error envelope,
// {"error":{"code","message"}}, and its JSON responses: the one place the
// Graph-shaped APIs (the directory and Ward's own /ward/v1 endpoints, which
// use Graph's codes such as Authorization_RequestDenied) write them.
package grapherr

import (
	"net/http"

	"github.com/ward-id/ward/internal/armerr"
)

type body struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Write answers status with Graph's error envelope.
func Write(w http.ResponseWriter, status int, code, msg string) {
	var b body
	b.Error.Code, b.Error.Message = code, msg
	WriteJSON(w, status, b)
}

// WriteJSON answers status with v as JSON. Graph and ARM encode their
// answers alike, so this is ARM's writer.
func WriteJSON(w http.ResponseWriter, status int, v any) { armerr.WriteJSON(w, status, v) }
