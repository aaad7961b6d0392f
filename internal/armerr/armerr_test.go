package armerr

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestConstructorsAndWrite(t *testing.T) {
	cases := []struct {
		name     string
		err      *Error
		status   int
		body     string
		notFound bool
	}{
		{"not found", ResourceGroupNotFound("rg"), http.StatusNotFound, `{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'rg' could not be found."}}`, true},
		{"bad request keeps a literal % without args", InvalidRequestContent("100% wrong"), http.StatusBadRequest, `{"error":{"code":"InvalidRequestContent","message":"100% wrong"}}`, false},
		{"conflict formats", Conflict(CodeConflict, "'%s' changed", "x"), http.StatusConflict, `{"error":{"code":"Conflict","message":"'x' changed"}}`, false},
		{"forbidden", AuthorizationFailed("no"), http.StatusForbidden, `{"error":{"code":"AuthorizationFailed","message":"no"}}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, tc.err)
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Fatalf("Write(%v): %d %s; want %d %s", tc.err, rec.Code, rec.Body.String(), tc.status, tc.body)
			}
			wrapped := fmt.Errorf("wrapped: %w", tc.err)
			if IsNotFound(wrapped) != tc.notFound {
				t.Fatalf("IsNotFound(%v) = %v; want %v", wrapped, !tc.notFound, tc.notFound)
			}
			if e, ok := As(wrapped); !ok || e != tc.err {
				t.Fatalf("As(%v) = %v, %v", wrapped, e, ok)
			}
		})
	}
}
