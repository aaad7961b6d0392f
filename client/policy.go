package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// API versions of Azure Policy (the one az 2.45 sends) and Policy Insights.
const (
	APIVersionPolicy         = "2021-06-01"
	APIVersionPolicyInsights = "2019-10-01"
)

// PolicyDefinition is an Azure Policy definition, built-in or custom.
type PolicyDefinition struct {
	ID         string                     `json:"id,omitempty"`
	Name       string                     `json:"name,omitempty"`
	Type       string                     `json:"type,omitempty"`
	Properties PolicyDefinitionProperties `json:"properties"`
}

// PolicyDefinitionProperties are a definition's rule, parameters and names.
type PolicyDefinitionProperties struct {
	DisplayName string                     `json:"displayName,omitempty"`
	PolicyType  string                     `json:"policyType,omitempty"`
	Mode        string                     `json:"mode,omitempty"`
	Description string                     `json:"description,omitempty"`
	Metadata    json.RawMessage            `json:"metadata,omitempty"`
	Parameters  map[string]json.RawMessage `json:"parameters,omitempty"`
	PolicyRule  json.RawMessage            `json:"policyRule"`
}

// PolicyAssignment assigns a definition at a scope.
type PolicyAssignment struct {
	ID         string                     `json:"id,omitempty"`
	Name       string                     `json:"name,omitempty"`
	Type       string                     `json:"type,omitempty"`
	Location   string                     `json:"location,omitempty"`
	Properties PolicyAssignmentProperties `json:"properties"`
}

// PolicyAssignmentProperties are what an assignment applies, where and how.
type PolicyAssignmentProperties struct {
	DisplayName        string                     `json:"displayName,omitempty"`
	Description        string                     `json:"description,omitempty"`
	PolicyDefinitionID string                     `json:"policyDefinitionId"`
	Scope              string                     `json:"scope,omitempty"`
	NotScopes          []string                   `json:"notScopes,omitempty"`
	Parameters         map[string]json.RawMessage `json:"parameters,omitempty"`
	EnforcementMode    string                     `json:"enforcementMode,omitempty"`
}

// BuiltInPolicyPath is where the built-in definitions are served.
const BuiltInPolicyPath = "/providers/Microsoft.Authorization/policyDefinitions"

// ListPolicyDefinitions lists the built-in definitions and the
// subscription's custom ones.
func (c *Client) ListPolicyDefinitions(ctx context.Context, sub string) ([]PolicyDefinition, error) {
	return listAll[PolicyDefinition](ctx, c, "/subscriptions/"+url.PathEscape(sub)+BuiltInPolicyPath, APIVersionPolicy)
}

// GetPolicyDefinition reads a definition by name as az does: the
// subscription's custom one, else the built-in of that name; or by its
// resource ID.
func (c *Client) GetPolicyDefinition(ctx context.Context, sub, nameOrID string) (PolicyDefinition, error) {
	var out PolicyDefinition
	if strings.HasPrefix(nameOrID, "/") {
		_, err := c.do(ctx, http.MethodGet, nameOrID, APIVersionPolicy, nil, &out)
		return out, err
	}
	_, err := c.do(ctx, http.MethodGet, "/subscriptions/"+url.PathEscape(sub)+BuiltInPolicyPath+"/"+url.PathEscape(nameOrID), APIVersionPolicy, nil, &out)
	if IsNotFound(err) {
		out = PolicyDefinition{}
		_, err = c.do(ctx, http.MethodGet, BuiltInPolicyPath+"/"+url.PathEscape(nameOrID), APIVersionPolicy, nil, &out)
	}
	return out, err
}

// PutPolicyDefinition creates or replaces a custom definition.
func (c *Client) PutPolicyDefinition(ctx context.Context, sub, name string, p PolicyDefinitionProperties) (PolicyDefinition, error) {
	var out PolicyDefinition
	_, err := c.do(ctx, http.MethodPut, "/subscriptions/"+url.PathEscape(sub)+BuiltInPolicyPath+"/"+url.PathEscape(name), APIVersionPolicy,
		PolicyDefinition{Properties: p}, &out)
	return out, err
}

// ListPolicyAssignments lists the assignments related to scope (at it,
// above and below).
func (c *Client) ListPolicyAssignments(ctx context.Context, scope string) ([]PolicyAssignment, error) {
	return listAll[PolicyAssignment](ctx, c, authzPath(scope, "policyAssignments"), APIVersionPolicy)
}

// PutPolicyAssignment creates or replaces an assignment at scope.
func (c *Client) PutPolicyAssignment(ctx context.Context, scope, name string, a PolicyAssignment) (PolicyAssignment, error) {
	var out PolicyAssignment
	_, err := c.do(ctx, http.MethodPut, authzPath(scope, "policyAssignments/"+url.PathEscape(name)), APIVersionPolicy, a, &out)
	return out, err
}

// DeletePolicyAssignment deletes an assignment; false when there was none.
func (c *Client) DeletePolicyAssignment(ctx context.Context, scope, name string) (bool, error) {
	st, err := c.do(ctx, http.MethodDelete, authzPath(scope, "policyAssignments/"+url.PathEscape(name)), APIVersionPolicy, nil, nil)
	return st == http.StatusOK, err
}

// QueryPolicyStates runs the compliance scan of a subscription or group
// scope; filter is an OData $filter ("" for none), top 0 for no limit.
func (c *Client) QueryPolicyStates(ctx context.Context, scope, filter string, top int) ([]map[string]any, error) {
	q := url.Values{"api-version": {APIVersionPolicyInsights}}
	if filter != "" {
		q.Set("$filter", filter)
	}
	if top > 0 {
		q.Set("$top", strconv.Itoa(top))
	}
	var out struct {
		Value []map[string]any `json:"value"`
	}
	_, err := c.do(ctx, http.MethodPost, c.base+strings.TrimRight(scope, "/")+"/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?"+q.Encode(), "", nil, &out)
	if out.Value == nil {
		out.Value = []map[string]any{}
	}
	return out.Value, err
}
