package client

import (
	"context"
	"net/http"
	"net/url"
)

// Subscription is an ARM subscription.
type Subscription struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscriptionId"`
	TenantID       string `json:"tenantId"`
	DisplayName    string `json:"displayName"`
	State          string `json:"state"`
}

// ResourceGroup is an ARM resource group.
type ResourceGroup struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

// Identity is a user-assigned managed identity.
type Identity struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Location   string             `json:"location"`
	Tags       map[string]string  `json:"tags"`
	Properties IdentityProperties `json:"properties"`
}

// IdentityProperties are an identity's server-generated IDs.
type IdentityProperties struct {
	TenantID       string `json:"tenantId"`
	PrincipalID    string `json:"principalId"`
	ClientID       string `json:"clientId"`
	IsolationScope string `json:"isolationScope,omitempty"`
}

// FederatedCredential trusts an external issuer's tokens for an identity.
type FederatedCredential struct {
	ID         string                        `json:"id,omitempty"`
	Name       string                        `json:"name,omitempty"`
	Type       string                        `json:"type,omitempty"`
	Properties FederatedCredentialProperties `json:"properties"`
}

// FederatedCredentialProperties are the matched claims: the issuer, the
// audience and either the subject or, for a flexible credential, a claims
// matching expression (the subject is then empty).
type FederatedCredentialProperties struct {
	Issuer                   string                    `json:"issuer"`
	Subject                  string                    `json:"subject,omitempty"`
	Audiences                []string                  `json:"audiences"`
	ClaimsMatchingExpression *ClaimsMatchingExpression `json:"claimsMatchingExpression,omitempty"`
}

// ClaimsMatchingExpression is a flexible credential's expression, e.g.
// claims['sub'] matches 'system:serviceaccount:team-*:*' (languageVersion 1).
type ClaimsMatchingExpression struct {
	Value           string `json:"value"`
	LanguageVersion int    `json:"languageVersion"`
}

func esc(s string) string { return url.PathEscape(s) }

func groupPath(sub, rg string) string {
	return "/subscriptions/" + esc(sub) + "/resourcegroups/" + esc(rg)
}

func identityPath(sub, rg, name string) string {
	return groupPath(sub, rg) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + esc(name)
}

// ListSubscriptions lists the subscriptions the caller can see.
func (c *Client) ListSubscriptions(ctx context.Context) ([]Subscription, error) {
	return listAll[Subscription](ctx, c, "/subscriptions", APIVersionSubs)
}

// CreateOrUpdateGroup creates or updates a resource group; created is true
// for a new one.
func (c *Client) CreateOrUpdateGroup(ctx context.Context, sub, name, location string, tags map[string]string) (ResourceGroup, bool, error) {
	var out ResourceGroup
	status, err := c.do(ctx, http.MethodPut, groupPath(sub, name), APIVersionResources, map[string]any{"location": location, "tags": tags}, &out)
	return out, status == http.StatusCreated, err
}

// GetGroup reads a resource group.
func (c *Client) GetGroup(ctx context.Context, sub, name string) (ResourceGroup, error) {
	var out ResourceGroup
	_, err := c.do(ctx, http.MethodGet, groupPath(sub, name), APIVersionResources, nil, &out)
	return out, err
}

// ListGroups lists a subscription's resource groups.
func (c *Client) ListGroups(ctx context.Context, sub string) ([]ResourceGroup, error) {
	return listAll[ResourceGroup](ctx, c, "/subscriptions/"+esc(sub)+"/resourcegroups", APIVersionResources)
}

// DeleteGroup deletes a resource group and everything in it; deleted is
// false when there was no such group.
func (c *Client) DeleteGroup(ctx context.Context, sub, name string) (bool, error) {
	status, err := c.do(ctx, http.MethodDelete, groupPath(sub, name), APIVersionResources, nil, nil)
	return status == http.StatusOK, err
}

// CreateOrUpdateIdentity creates or updates a user-assigned identity.
func (c *Client) CreateOrUpdateIdentity(ctx context.Context, sub, rg, name, location string, tags map[string]string) (Identity, bool, error) {
	var out Identity
	status, err := c.do(ctx, http.MethodPut, identityPath(sub, rg, name), APIVersionMSI, map[string]any{"location": location, "tags": tags}, &out)
	return out, status == http.StatusCreated, err
}

// UpdateIdentityTags replaces an identity's tags (PATCH).
func (c *Client) UpdateIdentityTags(ctx context.Context, sub, rg, name string, tags map[string]string) (Identity, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	var out Identity
	_, err := c.do(ctx, http.MethodPatch, identityPath(sub, rg, name), APIVersionMSI, map[string]any{"tags": tags}, &out)
	return out, err
}

// GetIdentity reads a user-assigned identity.
func (c *Client) GetIdentity(ctx context.Context, sub, rg, name string) (Identity, error) {
	var out Identity
	_, err := c.do(ctx, http.MethodGet, identityPath(sub, rg, name), APIVersionMSI, nil, &out)
	return out, err
}

// ListIdentities lists identities in a group, or in the whole subscription
// when rg is empty.
func (c *Client) ListIdentities(ctx context.Context, sub, rg string) ([]Identity, error) {
	path := "/subscriptions/" + esc(sub) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
	if rg != "" {
		path = groupPath(sub, rg) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
	}
	return listAll[Identity](ctx, c, path, APIVersionMSI)
}

// DeleteIdentity deletes an identity and its federated credentials.
func (c *Client) DeleteIdentity(ctx context.Context, sub, rg, name string) (bool, error) {
	status, err := c.do(ctx, http.MethodDelete, identityPath(sub, rg, name), APIVersionMSI, nil, nil)
	return status == http.StatusOK, err
}

// CreateOrUpdateFederatedCredential writes a federated identity credential.
func (c *Client) CreateOrUpdateFederatedCredential(ctx context.Context, sub, rg, identity, name string, p FederatedCredentialProperties) (FederatedCredential, bool, error) {
	var out FederatedCredential
	version := APIVersionMSI
	if p.ClaimsMatchingExpression != nil {
		version = APIVersionMSIFlexible
	}
	status, err := c.do(ctx, http.MethodPut, identityPath(sub, rg, identity)+"/federatedIdentityCredentials/"+esc(name), version,
		FederatedCredential{Properties: p}, &out)
	return out, status == http.StatusCreated, err
}

// GetFederatedCredential reads one credential.
func (c *Client) GetFederatedCredential(ctx context.Context, sub, rg, identity, name string) (FederatedCredential, error) {
	var out FederatedCredential
	_, err := c.do(ctx, http.MethodGet, identityPath(sub, rg, identity)+"/federatedIdentityCredentials/"+esc(name), APIVersionMSI, nil, &out)
	return out, err
}

// ListFederatedCredentials lists an identity's credentials.
func (c *Client) ListFederatedCredentials(ctx context.Context, sub, rg, identity string) ([]FederatedCredential, error) {
	return listAll[FederatedCredential](ctx, c, identityPath(sub, rg, identity)+"/federatedIdentityCredentials", APIVersionMSI)
}

// DeleteFederatedCredential deletes one credential.
func (c *Client) DeleteFederatedCredential(ctx context.Context, sub, rg, identity, name string) (bool, error) {
	status, err := c.do(ctx, http.MethodDelete, identityPath(sub, rg, identity)+"/federatedIdentityCredentials/"+esc(name), APIVersionMSI, nil, nil)
	return status == http.StatusOK, err
}
