package arm

import (
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
)

// actionFor names the ARM action of a request, as ARM's RBAC does:
// {provider}/{type chain}/{read|write|delete}.
func actionFor(r *http.Request) string {
	verb := "read"
	switch r.Method {
	case http.MethodPut, http.MethodPatch, http.MethodPost:
		verb = "write"
	case http.MethodDelete:
		verb = "delete"
	}
	if _, typ, _, ok := authorizationPath(r.URL.Path); ok {
		t := "roleAssignments"
		if strings.EqualFold(typ, "roleDefinitions") {
			t = "roleDefinitions"
		}
		return "Microsoft.Authorization/" + t + "/" + verb
	}
	id, err := resourceid.Parse(r.URL.Path)
	if err != nil {
		return "*/" + verb
	}
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

// scopeFor is the scope an action applies to: the request path without a
// trailing collection segment.
func scopeFor(path string) string {
	if scope, _, _, ok := authorizationPath(path); ok {
		return scope
	}
	id, err := resourceid.Parse(path)
	if err != nil || id.Subscription == "" {
		return "/"
	}
	switch {
	case id.Provider != "" && len(id.Types) > 0:
		s := "/subscriptions/" + id.Subscription
		if id.ResourceGroup != "" {
			s += "/resourceGroups/" + id.ResourceGroup
		}
		s += "/providers/" + id.Provider
		for _, t := range id.Types {
			s += "/" + t.Type + "/" + t.Name
		}
		return s
	case id.ResourceGroup != "":
		return resourceid.ResourceGroupID(id.Subscription, id.ResourceGroup)
	}
	return resourceid.SubscriptionID(id.Subscription)
}
