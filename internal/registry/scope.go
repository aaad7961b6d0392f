package registry

import (
	"fmt"
	"slices"
	"strings"
)

// ParseScopes reads the scope parameters of a token request: each may hold
// several space-separated scopes of the form type:name:actions (the name
// may itself hold colons, as a host:port does), actions comma-separated.
func ParseScopes(params []string) ([]ResourceActions, error) {
	var out []ResourceActions
	for _, p := range params {
		for _, s := range strings.Fields(p) {
			if len(out) == MaxScopes {
				return nil, fmt.Errorf("at most %d scopes may be asked for at once", MaxScopes)
			}
			if len(s) > 512 {
				return nil, fmt.Errorf("the scope '%.40s…' is longer than 512 characters", s)
			}
			first, last := strings.Index(s, ":"), strings.LastIndex(s, ":")
			if first <= 0 || last == first || last == len(s)-1 {
				return nil, fmt.Errorf("the scope '%s' is not of the form type:name:actions", s)
			}
			out = append(out, ResourceActions{Type: s[:first], Name: s[first+1 : last], Actions: strings.Split(s[last+1:], ",")})
		}
	}
	return out, nil
}

// actionRoles maps a registry action to the RBAC action that grants it.
var actionRoles = map[string]string{"pull": ActionPull, "push": ActionPush, "delete": ActionDelete}

// Grant is the access claim for principal at the registry's scope: of each
// asked resource, the actions RBAC grants. "*" stands for every action and
// is granted, with each action, only when all are; the catalog
// (registry:catalog:*) goes with pull. Resources with nothing granted are
// left out, so the registry answers insufficient_scope.
func Grant(a Access, principal, scope string, asked []ResourceActions) []ResourceActions {
	allowed := map[string]bool{}
	for action, rbacAction := range actionRoles {
		allowed[action] = principal != "" && a.Allowed(principal, rbacAction, scope)
	}
	out := []ResourceActions{}
	for _, ra := range asked {
		var got []string
		switch ra.Type {
		case "repository":
			for _, act := range ra.Actions {
				switch {
				case act == "*" && allowed["pull"] && allowed["push"] && allowed["delete"]:
					got = append(got, "*", "pull", "push", "delete")
				case allowed[act]:
					got = append(got, act)
				}
			}
		case "registry":
			if ra.Name == "catalog" && allowed["pull"] && slices.Contains(ra.Actions, "*") {
				got = []string{"*"}
			}
		}
		slices.Sort(got)
		got = slices.Compact(got)
		if len(got) > 0 {
			out = append(out, ResourceActions{Type: ra.Type, Name: ra.Name, Actions: got})
		}
	}
	return out
}
