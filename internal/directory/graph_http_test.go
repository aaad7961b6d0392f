package directory_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

func TestGraphOverHTTP(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://graph.microsoft.com")
	arm := s.Token(t, "https://management.azure.com/")
	s.RunCases(t, []servertest.Case{
		{Name: "list", Method: "GET", Path: "/v1.0/servicePrincipals", Token: tok, Status: http.StatusOK, Contains: s.Admin.ClientID},
		{Name: "no token", Method: "GET", Path: "/v1.0/servicePrincipals", Status: http.StatusUnauthorized},
		{Name: "a management token", Method: "GET", Path: "/v1.0/servicePrincipals", Token: arm, Status: http.StatusUnauthorized},
		{Name: "create", Method: "POST", Path: "/v1.0/servicePrincipals", Token: tok, Body: `{"displayName":"app-one"}`, Status: http.StatusCreated, Contains: `"displayName":"app-one"`},
		{Name: "create without a body", Method: "POST", Path: "/v1.0/servicePrincipals", Token: tok, Body: `{`, Status: http.StatusBadRequest},
		{Name: "absent principal", Method: "GET", Path: "/v1.0/servicePrincipals/00000000-0000-0000-0000-0000000000ff", Token: tok, Status: http.StatusNotFound},
		{Name: "sign-in log", Method: "GET", Path: "/v1.0/auditLogs/signIns", Token: tok, Status: http.StatusOK, Contains: `"value"`},
	})

	s.Store.Fail("ListServicePrincipals", errors.New("disk on fire"))
	defer s.Store.Heal()
	resp, b := s.Do(t, "GET", "/v1.0/servicePrincipals", tok, nil)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(b), "disk on fire") {
		t.Fatalf("list with a failing store = %d %s, want a 500 without the cause", resp.StatusCode, b)
	}
	servertest.ErrorCode(t, b)
}
