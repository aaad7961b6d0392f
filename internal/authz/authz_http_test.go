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

// TestCustomRoleScopesOverHTTP: a custom role is read, changed and deleted
// through any URL scope it is related to (an assignable scope, a parent or
// a child of one), the same rule for GET, PUT and DELETE, so a role widened
// through the URL it was created at stays deletable there.
func TestCustomRoleScopesOverHTTP(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	sub := "/subscriptions/" + s.Admin.SubscriptionID
	other := "/subscriptions/00000000-0000-0000-0000-00000000beef"
	const v = "?api-version=2022-04-01"
	rd := func(scope, id string) string {
		return scope + "/providers/Microsoft.Authorization/roleDefinitions/" + id + v
	}
	role := func(name string, scopes ...string) string {
		return `{"properties":{"roleName":"` + name + `","assignableScopes":["` + strings.Join(scopes, `","`) + `"],"permissions":[{"actions":["*/read"]}]}}`
	}
	const widened, az = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	rg := sub + "/resourceGroups/rg"
	s.RunCases(t, []servertest.Case{
		{Name: "create at the subscription", Method: "PUT", Path: rd(sub, widened), Token: tok, Body: role("widened", sub), Status: http.StatusCreated},
		{Name: "read there", Method: "GET", Path: rd(sub, widened), Token: tok, Status: http.StatusOK, Contains: `"widened"`},
		{Name: "read below", Method: "GET", Path: rd(rg, widened), Token: tok, Status: http.StatusOK},
		{Name: "read at the root", Method: "GET", Path: rd("", widened), Token: tok, Status: http.StatusOK},
		{Name: "read through an unrelated subscription", Method: "GET", Path: rd(other, widened), Token: tok, Status: http.StatusNotFound, Code: "RoleDefinitionDoesNotExist"},
		{Name: "delete through an unrelated subscription", Method: "DELETE", Path: rd(other, widened), Token: tok, Status: http.StatusBadRequest, Code: "InvalidRoleDefinitionScope"},
		{Name: "widen to the root through the subscription", Method: "PUT", Path: rd(sub, widened), Token: tok, Body: role("widened", "/"), Status: http.StatusOK},
		{Name: "read the widened role there", Method: "GET", Path: rd(sub, widened), Token: tok, Status: http.StatusOK, Contains: `"/"`},
		{Name: "read it anywhere now", Method: "GET", Path: rd(other, widened), Token: tok, Status: http.StatusOK},
		{Name: "delete through the URL it was made at", Method: "DELETE", Path: rd(sub, widened), Token: tok, Status: http.StatusOK},
		{Name: "gone", Method: "GET", Path: rd(sub, widened), Token: tok, Status: http.StatusNotFound, Code: "RoleDefinitionDoesNotExist"},

		{Name: "az's way: a group's role addressed at the subscription", Method: "PUT", Path: rd(sub, az), Token: tok, Body: role("az", rg), Status: http.StatusCreated},
		{Name: "read at the subscription", Method: "GET", Path: rd(sub, az), Token: tok, Status: http.StatusOK},
		{Name: "read at a sibling group", Method: "GET", Path: rd(sub+"/resourceGroups/rg2", az), Token: tok, Status: http.StatusNotFound, Code: "RoleDefinitionDoesNotExist"},
		{Name: "change through a sibling group", Method: "PUT", Path: rd(sub+"/resourceGroups/rg2", az), Token: tok, Body: role("az", rg), Status: http.StatusBadRequest, Code: "InvalidRoleDefinitionScope"},
		{Name: "delete at the group", Method: "DELETE", Path: rd(rg, az), Token: tok, Status: http.StatusOK},
		{Name: "built-ins everywhere", Method: "GET", Path: rd(other+"/resourceGroups/x", "acdd72a7-3385-48ef-bd42-f606fba81ae7"), Token: tok, Status: http.StatusOK},
	})
}
