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
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		RoleName         string   `json:"roleName"`
		Type             string   `json:"type"`
		Description      string   `json:"description"`
		AssignableScopes []string `json:"assignableScopes"`
		Permissions      []struct {
			Actions        []string `json:"actions"`
			NotActions     []string `json:"notActions"`
			DataActions    []string `json:"dataActions"`
			NotDataActions []string `json:"notDataActions"`
		} `json:"permissions"`
	} `json:"properties"`
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
	path := c.base + "/subscriptions/" + esc(sub) + "/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=" +
		url.QueryEscape("eventTimestamp ge '"+since+"'")
	return listAll[ActivityEvent](ctx, c, path, "")
}
