package arm

import (
	"net/http"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/authz"
	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

const (
	authorizationSegment    = "/providers/microsoft.authorization/"
	TypeRoleAssignment      = resourceid.TypeRoleAssignment
	TypeRoleDefinition      = resourceid.TypeRoleDefinition
	authorizationAPIVersion = "2022-04-01"
)

var authorizationAPIVersions = []string{"2015-07-01", "2017-05-01", "2018-01-01-preview", "2018-07-01", "2018-09-01-preview",
	"2020-03-01-preview", "2020-04-01-preview", "2020-08-01-preview", "2020-10-01-preview", "2021-04-01-preview", "2022-01-01-preview",
	"2022-04-01", "2022-05-01-preview"}

// authorizationPath splits {scope}/providers/Microsoft.Authorization/{type}[/{name}].
func authorizationPath(path string) (scope, typ, name string, ok bool) {
	i := strings.LastIndex(strings.ToLower(path), authorizationSegment)
	if i < 0 {
		return "", "", "", false
	}
	scope = path[:i]
	if scope == "" {
		scope = "/"
	}
	rest := strings.Split(strings.Trim(path[i+len(authorizationSegment):], "/"), "/")
	switch len(rest) {
	case 1:
		return scope, rest[0], "", true
	case 2:
		return scope, rest[0], rest[1], true
	}
	return "", "", "", false
}

func roleDefinitionResourceID(scope, guid string) string {
	id, err := resourceid.Parse(scope)
	if err == nil && id.Subscription != "" {
		return "/subscriptions/" + id.Subscription + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
	}
	return "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

func scopePrefix(scope string) string {
	if scope == "/" {
		return ""
	}
	return strings.TrimRight(scope, "/")
}

type roleAssignmentJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		RoleDefinitionID                   string  `json:"roleDefinitionId"`
		PrincipalID                        string  `json:"principalId"`
		PrincipalType                      string  `json:"principalType"`
		Scope                              string  `json:"scope"`
		Condition                          *string `json:"condition"`
		ConditionVersion                   *string `json:"conditionVersion"`
		CreatedOn                          string  `json:"createdOn"`
		UpdatedOn                          string  `json:"updatedOn"`
		CreatedBy                          string  `json:"createdBy"`
		UpdatedBy                          string  `json:"updatedBy"`
		DelegatedManagedIdentityResourceID *string `json:"delegatedManagedIdentityResourceId"`
		Description                        *string `json:"description"`
	} `json:"properties"`
}

func toRoleAssignment(a storage.RoleAssignment) roleAssignmentJSON {
	j := roleAssignmentJSON{ID: scopePrefix(a.Scope) + "/providers/Microsoft.Authorization/roleAssignments/" + a.ID, Name: a.ID, Type: TypeRoleAssignment}
	p := &j.Properties
	p.RoleDefinitionID = roleDefinitionResourceID(a.Scope, a.RoleDefinitionID)
	p.PrincipalID, p.PrincipalType, p.Scope = a.PrincipalID, a.PrincipalType, a.Scope
	p.CreatedOn, p.UpdatedOn = a.CreatedAt.Format(time.RFC3339Nano), a.UpdatedAt.Format(time.RFC3339Nano)
	p.CreatedBy, p.UpdatedBy = a.CreatedBy, a.CreatedBy
	if a.Description != "" {
		p.Description = &a.Description
	}
	return j
}

type roleDefinitionJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		RoleName         string            `json:"roleName"`
		Type             string            `json:"type"`
		Description      string            `json:"description"`
		AssignableScopes []string          `json:"assignableScopes"`
		Permissions      []rbac.Permission `json:"permissions"`
	} `json:"properties"`
}

func toRoleDefinition(scope string, r rbac.RoleDefinition) roleDefinitionJSON {
	j := roleDefinitionJSON{ID: roleDefinitionResourceID(scope, r.ID), Name: r.ID, Type: TypeRoleDefinition}
	j.Properties.RoleName, j.Properties.Type, j.Properties.Description = r.Name, r.Type, r.Description
	j.Properties.AssignableScopes, j.Properties.Permissions = r.AssignableScopes, r.Permissions
	return j
}

// roleRoute serves a Microsoft.Authorization route after its api-version
// check; the route table picks the handler, so nothing routes by hand.
func roleRoute(fn func(q *request) error) func(*request) error {
	return func(q *request) error {
		if err := checkAPIVersion(q.r, authorizationAPIVersions, "Microsoft.Authorization/"+q.authzType); err != nil {
			return err
		}
		return fn(q)
	}
}

func (h *Handler) listAssignments(w http.ResponseWriter, r *http.Request, scope string) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r, http.MethodGet)
	}
	f, err := authz.ParseFilter(r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	items, err := h.rbac.ListAssignments(r.Context(), scope, f)
	if err != nil {
		return err
	}
	writeList(w, r, mapList(items, toRoleAssignment), "")
	return nil
}

type assignmentBody struct {
	Properties *struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Description      string `json:"description"`
		// Ward evaluates no ABAC conditions and delegates to no other
		// tenant's identity: an assignment that names either is refused,
		// since storing and echoing it would grant, unconditionally, what
		// the user meant to constrain.
		Condition                          string `json:"condition"`
		DelegatedManagedIdentityResourceID string `json:"delegatedManagedIdentityResourceId"`
	} `json:"properties"`
}

func (h *Handler) assignment(w http.ResponseWriter, r *http.Request, scope, name string) error {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		a, err := h.rbac.Assignment(ctx, scope, name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toRoleAssignment(a))
	case http.MethodPut:
		var b assignmentBody
		if err := decodeBody(r, &b); err != nil {
			return err
		}
		if b.Properties == nil || b.Properties.RoleDefinitionID == "" || b.Properties.PrincipalID == "" {
			return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "properties.roleDefinitionId and properties.principalId are required.")
		}
		if strings.TrimSpace(b.Properties.Condition) != "" {
			return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "Ward does not evaluate role assignment conditions (properties.condition): "+
				"the assignment would grant its role without the condition. Assign a narrower role or scope instead.")
		}
		if strings.TrimSpace(b.Properties.DelegatedManagedIdentityResourceID) != "" {
			return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "Ward has no delegated managed identities (properties.delegatedManagedIdentityResourceId); leave it out.")
		}
		if err := h.enforceOnRoleAssignment(r, scope, name, b.Properties.RoleDefinitionID, b.Properties.PrincipalID, b.Properties.PrincipalType, b.Properties.Description); err != nil {
			return err
		}
		p, _ := r.Context().Value(principalKey{}).(authn.Principal)
		a, created, err := h.rbac.CreateAssignment(ctx, scope, name, authz.AssignmentSpec{RoleDefinitionID: b.Properties.RoleDefinitionID,
			PrincipalID: b.Properties.PrincipalID, PrincipalType: b.Properties.PrincipalType, Description: b.Properties.Description}, p.ObjectID)
		if err != nil {
			return err
		}
		writePut(w, created, toRoleAssignment(a))
	case http.MethodDelete:
		a, found, err := h.rbac.DeleteAssignmentAt(ctx, scope, name)
		if err != nil {
			return err
		}
		if !found {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		writeJSON(w, http.StatusOK, toRoleAssignment(a))
	default:
		return methodNotAllowed(r, "GET", "PUT", "DELETE")
	}
	return nil
}

var roleNameFilter = strings.NewReplacer("''", "'")

func (h *Handler) listRoles(w http.ResponseWriter, r *http.Request, scope string) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r, http.MethodGet)
	}
	var name, typ string
	if f := strings.TrimSpace(r.URL.Query().Get("$filter")); f != "" {
		k, v, ok := strings.Cut(f, " eq ")
		v = strings.TrimSpace(v)
		if !ok || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
			return newError(http.StatusBadRequest, armerr.CodeInvalidFilter, "The filter '"+f+"' is not supported: use roleName eq '{name}' or type eq 'BuiltInRole'|'CustomRole'.")
		}
		v = roleNameFilter.Replace(v[1 : len(v)-1])
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "rolename":
			name = v
		case "type":
			typ = v
		default:
			return newError(http.StatusBadRequest, armerr.CodeInvalidFilter, "The filter '"+f+"' is not supported: use roleName eq '{name}' or type eq 'BuiltInRole'|'CustomRole'.")
		}
	}
	roles, err := h.rbac.Roles(r.Context(), name, typ)
	if err != nil {
		return err
	}
	out := make([]roleDefinitionJSON, 0, len(roles))
	for _, role := range roles {
		out = append(out, toRoleDefinition(scope, role))
	}
	writeList(w, r, out, "")
	return nil
}

type roleBody struct {
	Properties *struct {
		RoleName         string            `json:"roleName"`
		Description      string            `json:"description"`
		AssignableScopes []string          `json:"assignableScopes"`
		Permissions      []rbac.Permission `json:"permissions"`
	} `json:"properties"`
}

func (h *Handler) role(w http.ResponseWriter, r *http.Request, scope, id string) error {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		role, err := h.rbac.RoleAt(ctx, scope, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toRoleDefinition(scope, role))
	case http.MethodPut:
		var b roleBody
		if err := decodeBody(r, &b); err != nil {
			return err
		}
		if b.Properties == nil {
			return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "properties are required.")
		}
		p, _ := r.Context().Value(principalKey{}).(authn.Principal)
		role, created, err := h.rbac.PutCustomRoleAs(ctx, p.ObjectID, scope, rbac.RoleDefinition{ID: id, Name: b.Properties.RoleName, Description: b.Properties.Description,
			AssignableScopes: b.Properties.AssignableScopes, Permissions: b.Properties.Permissions})
		if err != nil {
			return err
		}
		writePut(w, created, toRoleDefinition(scope, role))
	case http.MethodDelete:
		p, _ := r.Context().Value(principalKey{}).(authn.Principal)
		role, found, err := h.rbac.DeleteCustomRoleAs(ctx, p.ObjectID, scope, id)
		if err != nil {
			return err
		}
		if !found {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		writeJSON(w, http.StatusOK, toRoleDefinition(scope, role))
	default:
		return methodNotAllowed(r, "GET", "PUT", "DELETE")
	}
	return nil
}
