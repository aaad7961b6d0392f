package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// APIVersionAuthorization is the Microsoft.Authorization api-version sent.
const APIVersionAuthorization = "2022-04-01"

// RoleAssignment is an ARM role assignment.
type RoleAssignment struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Scope            string `json:"scope"`
		CreatedOn        string `json:"createdOn"`
	} `json:"properties"`
}

// RoleDefinition is an ARM role definition.
type RoleDefinition struct {
	ID         string                   `json:"id,omitempty"`
	Name       string                   `json:"name,omitempty"`
	Type       string                   `json:"type,omitempty"`
	Properties RoleDefinitionProperties `json:"properties"`
}

// RoleDefinitionProperties are a role's name, permissions and scopes.
type RoleDefinitionProperties struct {
	RoleName         string       `json:"roleName"`
	Type             string       `json:"type,omitempty"`
	Description      string       `json:"description"`
	AssignableScopes []string     `json:"assignableScopes"`
	Permissions      []Permission `json:"permissions"`
}

// Permission is one set of allowed and excluded actions of a role.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

func authzPath(scope, rest string) string {
	return strings.TrimRight(scope, "/") + "/providers/Microsoft.Authorization/" + rest
}

// CreateRoleAssignment assigns a role (its resource ID) to a principal at scope.
func (c *Client) CreateRoleAssignment(ctx context.Context, scope, name, roleDefinitionID, principalID, principalType string) (RoleAssignment, error) {
	var out RoleAssignment
	props := map[string]string{"roleDefinitionId": roleDefinitionID, "principalId": principalID}
	if principalType != "" {
		props["principalType"] = principalType
	}
	_, err := c.do(ctx, http.MethodPut, authzPath(scope, "roleAssignments/"+esc(name)), APIVersionAuthorization, map[string]any{"properties": props}, &out)
	return out, err
}

// ListRoleAssignments lists assignments at scope with an ARM $filter.
func (c *Client) ListRoleAssignments(ctx context.Context, scope, filter string) ([]RoleAssignment, error) {
	path := authzPath(scope, "roleAssignments") + "?api-version=" + APIVersionAuthorization
	if filter != "" {
		path += "&$filter=" + url.QueryEscape(filter)
	}
	return listAll[RoleAssignment](ctx, c, c.base+path, "")
}

// DeleteRoleAssignment deletes an assignment by its full resource ID.
func (c *Client) DeleteRoleAssignment(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, id, APIVersionAuthorization, nil, nil)
	return err
}

// ListRoleDefinitions lists roles at scope, optionally with a $filter.
func (c *Client) ListRoleDefinitions(ctx context.Context, scope, filter string) ([]RoleDefinition, error) {
	path := authzPath(scope, "roleDefinitions") + "?api-version=" + APIVersionAuthorization
	if filter != "" {
		path += "&$filter=" + url.QueryEscape(filter)
	}
	return listAll[RoleDefinition](ctx, c, c.base+path, "")
}

// GetRoleDefinition reads a role by its GUID.
func (c *Client) GetRoleDefinition(ctx context.Context, scope, id string) (RoleDefinition, error) {
	var out RoleDefinition
	_, err := c.do(ctx, http.MethodGet, authzPath(scope, "roleDefinitions/"+esc(id)), APIVersionAuthorization, nil, &out)
	return out, err
}

// PutRoleDefinition creates or updates a custom role with the GUID id; the
// scope is where it is written, normally its first assignable scope.
func (c *Client) PutRoleDefinition(ctx context.Context, scope, id string, p RoleDefinitionProperties) (RoleDefinition, bool, error) {
	var out RoleDefinition
	p.Type = ""
	status, err := c.do(ctx, http.MethodPut, authzPath(scope, "roleDefinitions/"+esc(id)), APIVersionAuthorization, RoleDefinition{Properties: p}, &out)
	return out, status == http.StatusCreated, err
}

// DeleteRoleDefinition deletes a custom role; found is false when there
// was none.
func (c *Client) DeleteRoleDefinition(ctx context.Context, scope, id string) (bool, error) {
	status, err := c.do(ctx, http.MethodDelete, authzPath(scope, "roleDefinitions/"+esc(id)), APIVersionAuthorization, nil, nil)
	return status == http.StatusOK, err
}

// ActivityEvent is one activity log event (Azure Monitor's EventData shape).
type ActivityEvent struct {
	Authorization struct {
		Action string `json:"action"`
		Scope  string `json:"scope"`
	} `json:"authorization"`
	Caller         string `json:"caller"`
	CorrelationID  string `json:"correlationId"`
	EventTimestamp string `json:"eventTimestamp"`
	Status         struct {
		Value string `json:"value"`
	} `json:"status"`
	SubStatus struct {
		Value string `json:"value"`
	} `json:"subStatus"`
	ResourceGroupName string `json:"resourceGroupName"`
	HTTPRequest       struct {
		Method string `json:"method"`
	} `json:"httpRequest"`
}

// ListActivity lists a subscription's management writes since a time.
func (c *Client) ListActivity(ctx context.Context, sub string, since string) ([]ActivityEvent, error) {
	return listAll[ActivityEvent](ctx, c, activityPath(c.base, sub, "eventTimestamp ge '"+since+"'"), "")
}

// ListActivityEvents lists a subscription's management writes matching an
// activity-log $filter (eventTimestamp ge '<time>' [and ...], as az builds
// it), each event as ARM returns it.
func (c *Client) ListActivityEvents(ctx context.Context, sub, filter string) ([]map[string]any, error) {
	return listAll[map[string]any](ctx, c, activityPath(c.base, sub, filter), "")
}

func activityPath(base, sub, filter string) string {
	return base + "/subscriptions/" + esc(sub) + "/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=" +
		url.QueryEscape(filter)
}
