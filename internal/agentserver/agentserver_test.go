package agentserver_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/agentproto"
	"github.com/ward-id/ward/internal/server/servertest"
)

// TestRefusals: every way an agent request can be wrong gets the agent API's
// error body with the status and code the agent branches on, and never a
// server error; a Ward bearer token is not an attestation.
func TestRefusals(t *testing.T) {
	s := servertest.Start(t)
	admin := s.Token(t, s.URL)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
		inMessage                       string
	}{
		{"join: not JSON", http.MethodPost, agentproto.PathJoin, "", "{", http.StatusBadRequest, agentproto.CodeInvalidRequest, "not the JSON"},
		{"join: certificate not base64", http.MethodPost, agentproto.PathJoin, "", `{"joinToken":"wj1.x.y","certificate":"%%%"}`, http.StatusBadRequest, agentproto.CodeInvalidRequest, "base64"},
		{"join: malformed token", http.MethodPost, agentproto.PathJoin, "", `{"joinToken":"nope","certificate":"AAAA"}`, http.StatusUnauthorized, agentproto.CodeJoinRefused, "malformed"},
		{"join: token of no machine", http.MethodPost, agentproto.PathJoin, "", `{"joinToken":"wj1.6f2c7e0a-3c1d-4d5e-9f00-1a2b3c4d5e6f.secret","certificate":"AAAA"}`, http.StatusUnauthorized, agentproto.CodeJoinRefused, "certificate"},
		{"join: body over the cap", http.MethodPost, agentproto.PathJoin, "", `{"joinToken":"` + strings.Repeat("a", 20<<10) + `"}`, http.StatusBadRequest, agentproto.CodeInvalidRequest, "larger than 16384 bytes"},
		{"token: no attestation", http.MethodPost, agentproto.PathToken, "", `{"resource":"https://vault.azure.net"}`, http.StatusUnauthorized, agentproto.CodeUnauthorized, ""},
		{"token: garbage attestation", http.MethodPost, agentproto.PathToken, "not-a-jwt", `{"resource":"https://vault.azure.net"}`, http.StatusUnauthorized, agentproto.CodeUnauthorized, ""},
		{"token: an admin bearer token is no attestation", http.MethodPost, agentproto.PathToken, admin, `{"resource":"https://vault.azure.net"}`, http.StatusUnauthorized, agentproto.CodeUnauthorized, ""},
		{"state: no attestation", http.MethodGet, agentproto.PathState, "", "", http.StatusUnauthorized, agentproto.CodeUnauthorized, ""},
		{"state: an admin bearer token is no attestation", http.MethodGet, agentproto.PathState, admin, "", http.StatusUnauthorized, agentproto.CodeUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body *strings.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			var resp *http.Response
			var b []byte
			if body == nil {
				resp, b = s.Do(t, tt.method, tt.path, tt.token, nil)
			} else {
				resp, b = s.Do(t, tt.method, tt.path, tt.token, body)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", tt.method, tt.path, resp.StatusCode, tt.status, b)
			}
			if tt.code == "" {
				return
			}
			var e agentproto.Error
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("body %q is not the agent API's error: %v", b, err)
			}
			if e.Code != tt.code || e.Description == "" || !strings.Contains(e.Description, tt.inMessage) {
				t.Fatalf("error %+v, want code %q with a description mentioning %q", e, tt.code, tt.inMessage)
			}
		})
	}
}
