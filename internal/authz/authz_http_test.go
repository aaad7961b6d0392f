package authz_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

func TestRoleAssignmentsOverHTTP(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	sp, err := s.Client.CreateServicePrincipal(context.Background(), "reader-app")
	if err != nil {
		t.Fatal(err)
	}
	sub := "/subscriptions/" + s.Admin.SubscriptionID
	ra := sub + "/providers/Microsoft.Authorization/roleAssignments/"
	const v = "?api-version=2022-04-01"
	const name = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	reader := sub + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
	body := `{"properties":{"roleDefinitionId":"` + reader + `","principalId":"` + sp.ID + `","principalType":"ServicePrincipal"}}`
	s.RunCases(t, []servertest.Case{
		{Name: "assign", Method: "PUT", Path: ra + name + v, Token: tok, Body: body, Status: http.StatusCreated, Contains: sp.ID},
		{Name: "assign again", Method: "PUT", Path: ra + name + v, Token: tok, Body: body, Status: http.StatusOK},
		{Name: "unknown role", Method: "PUT", Path: ra + "1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" + v, Token: tok,
			Body: strings.Replace(body, "acdd72a7-3385-48ef-bd42-f606fba81ae7", "00000000-0000-0000-0000-0000000000aa", 1), Status: http.StatusNotFound, Code: "RoleDefinitionDoesNotExist"},
		{Name: "list at scope", Method: "GET", Path: ra + v + "&$filter=atScope()", Token: tok, Status: http.StatusOK, Contains: name},
		{Name: "read", Method: "GET", Path: ra + name + v, Token: tok, Status: http.StatusOK},
		{Name: "read through another scope", Method: "GET", Path: sub + "/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/" + name + v, Token: tok, Status: http.StatusNotFound},
		{Name: "check another's access", Method: "POST", Path: sub + "/providers/Microsoft.Authorization/checkAccess?api-version=2022-04-01", Token: tok,
			Body: `{"subject":{"principalId":"` + sp.ID + `"},"resource":{"id":"` + sub + `"},"actions":[{"id":"Microsoft.Resources/subscriptions/read"}]}`, Status: http.StatusOK, Contains: "Allowed"},
		{Name: "check access without a subject", Method: "POST", Path: sub + "/providers/Microsoft.Authorization/checkAccess?api-version=2022-04-01", Token: tok,
			Body: `{"actions":[{"id":"Microsoft.Resources/subscriptions/read"}]}`, Status: http.StatusBadRequest, Code: "InvalidRequestContent"},
		{Name: "anonymous", Method: "GET", Path: ra + v, Status: http.StatusUnauthorized},
		{Name: "delete", Method: "DELETE", Path: ra + name + v, Token: tok, Status: http.StatusOK},
		{Name: "delete again", Method: "DELETE", Path: ra + name + v, Token: tok, Status: http.StatusNoContent},
	})

	s.Store.Fail("CreateRoleAssignment", errors.New("disk on fire"))
	defer s.Store.Heal()
	resp, b := s.Do(t, "PUT", ra+name+v, tok, strings.NewReader(body))
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(b), "disk on fire") {
		t.Fatalf("assign with a failing store = %d %s, want a 500 without the cause", resp.StatusCode, b)
	}
	servertest.ErrorCode(t, b)
}
