package arm

import (
	"net/http"
	"strings"
)

// actionFor names the ARM action of a request, as ARM's RBAC does:
// {provider}/{type chain}/{read|write|delete}. Routes declare their action
// when mounted; this serves the routes whose handler authorizes itself.
func actionFor(method string, q *request) string {
	verb := "read"
	switch method {
	case http.MethodPut, http.MethodPatch, http.MethodPost:
		verb = "write"
	case http.MethodDelete:
		verb = "delete"
	}
	if q.isAuthz {
		t := "roleAssignments"
		if strings.EqualFold(q.authzType, "roleDefinitions") {
			t = "roleDefinitions"
		}
		return "Microsoft.Authorization/" + t + "/" + verb
	}
	if q.idErr != nil {
		return "*/" + verb
	}
	id := q.id
	var typ string
	switch {
	case id.Provider != "":
		parts := []string{id.Provider}
		for _, t := range id.Types {
			parts = append(parts, t.Type)
		}
		if id.Collection != "" {
			parts = append(parts, id.Collection)
		}
		typ = strings.Join(parts, "/")
	case id.ResourceGroup != "" || id.Collection == "resourceGroups":
		typ = "Microsoft.Resources/subscriptions/resourceGroups"
	default:
		typ = "Microsoft.Resources/subscriptions"
	}
	return typ + "/" + verb
}
