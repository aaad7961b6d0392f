package grapherr

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		code, msg string
	}{
		{"denied", http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."},
		{"not found", http.StatusNotFound, "Request_ResourceNotFound", `Resource 'x"<y>' does not exist.`},
		{"empty message", http.StatusBadRequest, "Request_BadRequest", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, tt.status, tt.code, tt.msg)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct == "" || ct[:16] != "application/json" {
				t.Fatalf("Content-Type %q, want application/json", ct)
			}
			var got map[string]map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			if got["error"]["code"] != tt.code || got["error"]["message"] != tt.msg || len(got) != 1 || len(got["error"]) != 2 {
				t.Fatalf("body %s, want exactly {\"error\":{\"code\":%q,\"message\":%q}}", rec.Body, tt.code, tt.msg)
			}
		})
	}
}
