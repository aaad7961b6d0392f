package sts

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// brokenBody fails mid-read, as a connection that drops or a body that stops
// arriving before the read deadline.
type brokenBody struct{}

func (brokenBody) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestReadFormStatuses: only a body over the cap is 413; any other read
// failure is a 400 invalid_request, never "too large".
func TestReadFormStatuses(t *testing.T) {
	cases := []struct {
		name       string
		body       io.Reader
		wantStatus int
		wantOAuth  string
		wantText   string
	}{
		{"too large", strings.NewReader("a=" + strings.Repeat("x", maxFormBytes)), http.StatusRequestEntityTooLarge, errInvalidRequest, "larger than"},
		{"broken read", brokenBody{}, http.StatusBadRequest, errInvalidRequest, "could not be read completely"},
		{"bad encoding", strings.NewReader("a=%zz"), http.StatusBadRequest, errInvalidRequest, "not valid form encoding"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/t/oauth2/v2.0/token", tc.body)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			_, e := readForm(httptest.NewRecorder(), r)
			if e == nil || e.Status != tc.wantStatus || e.OAuth != tc.wantOAuth || !strings.Contains(e.Message, tc.wantText) {
				t.Fatalf("readForm: got %+v; want %d %s containing %q", e, tc.wantStatus, tc.wantOAuth, tc.wantText)
			}
		})
	}
}
