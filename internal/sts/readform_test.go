package sts

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/ward-id/ward/internal/router"
)

// brokenBody fails mid-read, as a connection that drops or a body that stops
// arriving before the read deadline.
type brokenBody struct{}

func (brokenBody) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestReadFormStatuses: only a body over the token routes' cap (which the
// mux applies) is 413; any other read failure is a 400 invalid_request,
// never "too large".
func TestReadFormStatuses(t *testing.T) {
	e := newEnv(t, jose.RS256)
	mux := router.New()
	NewHandler(HandlerConfig{Svc: e.svc}).Mount(mux)
	cases := []struct {
		name       string
		body       io.Reader
		wantStatus int
		wantOAuth  string
		wantText   string
	}{
		{"too large", strings.NewReader("a=" + strings.Repeat("x", maxFormBytes)), http.StatusRequestEntityTooLarge, errInvalidRequest, "larger than 65536 bytes"},
		{"broken read", brokenBody{}, http.StatusBadRequest, errInvalidRequest, "could not be read completely"},
		{"bad encoding", strings.NewReader("a=%zz"), http.StatusBadRequest, errInvalidRequest, "not valid form encoding"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/"+tenant+"/oauth2/v2.0/token", tc.body)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tc.wantStatus || body.Error != tc.wantOAuth || !strings.Contains(body.Description, tc.wantText) {
				t.Fatalf("got %d %s; want %d %s containing %q", w.Code, w.Body, tc.wantStatus, tc.wantOAuth, tc.wantText)
			}
		})
	}
}
