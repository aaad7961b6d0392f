package arm_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

// envelope is ARM's error body.
type envelope struct {
	Error struct{ Code, Message string } `json:"error"`
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %.200q is not ARM's envelope: %v", body, err)
	}
	return e.Error.Code
}

func TestARMOverHTTP(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	sub := "/subscriptions/" + s.Admin.SubscriptionID
	rg := sub + "/resourceGroups/rg"
	id := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
	const v = "?api-version=2023-01-31"
	cases := []struct {
		name, method, path, token, body string
		want                            int
		wantCode                        string
	}{
		{"subscription", "GET", sub + "?api-version=2022-12-01", tok, "", http.StatusOK, ""},
		{"no token", "GET", sub + "?api-version=2022-12-01", "", "", http.StatusUnauthorized, "AuthenticationFailed"},
		{"a token of another audience", "GET", sub + "?api-version=2022-12-01", s.Token(t, "https://vault.azure.net"), "", http.StatusUnauthorized, "InvalidAuthenticationToken"},
		{"group created", "PUT", rg + "?api-version=2021-04-01", tok, `{"location":"westeurope"}`, http.StatusCreated, ""},
		{"group updated", "PUT", rg + "?api-version=2021-04-01", tok, `{"location":"westeurope"}`, http.StatusOK, ""},
		{"identity without api-version", "PUT", id, tok, `{"location":"westeurope"}`, http.StatusBadRequest, "MissingApiVersionParameter"},
		{"identity created", "PUT", id + v, tok, `{"location":"westeurope"}`, http.StatusCreated, ""},
		{"identity read", "GET", id + v, tok, "", http.StatusOK, ""},
		{"identity read with path in another case", "GET", strings.Replace(id, "resourceGroups", "RESOURCEGROUPS", 1) + v, tok, "", http.StatusOK, ""},
		{"absent identity", "GET", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope" + v, tok, "", http.StatusNotFound, "ResourceNotFound"},
		{"bad JSON", "PUT", id + v, tok, `{"location":`, http.StatusBadRequest, ""},
		{"identity deleted", "DELETE", id + v, tok, "", http.StatusOK, ""},
		{"identity deleted again", "DELETE", id + v, tok, "", http.StatusNoContent, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			resp, b := do(t, s, tc.method, tc.path, tc.token, body)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, b, tc.want)
			}
			if tc.want >= 400 {
				if code := errorCode(t, b); code == "" || (tc.wantCode != "" && code != tc.wantCode) {
					t.Fatalf("%s %s: error code %q, want %q", tc.method, tc.path, code, tc.wantCode)
				}
			}
			if resp.Header.Get("x-ms-request-id") == "" {
				t.Errorf("%s %s: no x-ms-request-id", tc.method, tc.path)
			}
		})
	}

	// A storage failure is a clean 500 in ARM's envelope that does not
	// leak the storage error.
	s.Store.Fail("GetIdentity", errors.New("disk on fire"))
	s.Store.Fail("ListIdentities", errors.New("disk on fire"))
	defer s.Store.Heal()
	for _, p := range []string{id + v, rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities" + v} {
		resp, b := do(t, s, "GET", p, tok, nil)
		if resp.StatusCode != http.StatusInternalServerError || errorCode(t, b) == "" || strings.Contains(string(b), "disk on fire") {
			t.Fatalf("GET %s with a failing store = %d %s, want a 500 ARM error without the cause", p, resp.StatusCode, b)
		}
	}
}

func do(t *testing.T, s *servertest.Server, method, path, token string, body *strings.Reader) (*http.Response, []byte) {
	t.Helper()
	if body == nil {
		return s.Do(t, method, path, token, nil)
	}
	return s.Do(t, method, path, token, body)
}
