package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// ServicePrincipal is a service principal as the directory API returns it.
type ServicePrincipal struct {
	ID                  string               `json:"id"`
	AppID               string               `json:"appId"`
	DisplayName         string               `json:"displayName"`
	AppOwnerTenantID    string               `json:"appOwnerOrganizationId"`
	PasswordCredentials []PasswordCredential `json:"passwordCredentials"`
	KeyCredentials      []KeyCredential      `json:"keyCredentials"`
}

// PasswordCredential is a client secret; SecretText is set only at creation.
type PasswordCredential struct {
	KeyID         string `json:"keyId"`
	DisplayName   string `json:"displayName"`
	Hint          string `json:"hint"`
	StartDateTime string `json:"startDateTime"`
	EndDateTime   string `json:"endDateTime"`
	SecretText    string `json:"secretText,omitempty"`
}

// KeyCredential is a certificate credential.
type KeyCredential struct {
	KeyID               string `json:"keyId,omitempty"`
	Type                string `json:"type"`
	Usage               string `json:"usage"`
	CustomKeyIdentifier string `json:"customKeyIdentifier,omitempty"`
	EndDateTime         string `json:"endDateTime,omitempty"`
	Key                 string `json:"key,omitempty"`
}

// SignIn is one sign-in log record.
type SignIn struct {
	ID                        string `json:"id"`
	CreatedDateTime           string `json:"createdDateTime"`
	AppID                     string `json:"appId"`
	ServicePrincipalID        string `json:"servicePrincipalId"`
	ManagedIdentityResourceID string `json:"managedIdentityResourceId,omitempty"`
	ResourceID                string `json:"resourceId"`
	ClientCredentialType      string `json:"clientCredentialType"`
	Result                    string `json:"result"`
	Status                    struct {
		ErrorCode     int    `json:"errorCode"`
		FailureReason string `json:"failureReason,omitempty"`
	} `json:"status"`
	FederatedTokenIssuer string `json:"federatedTokenIssuer,omitempty"`
	FederatedTokenID     string `json:"federatedTokenId,omitempty"`
}

// CreateServicePrincipal creates a service principal with a new client ID.
func (c *Client) CreateServicePrincipal(ctx context.Context, displayName string) (ServicePrincipal, error) {
	var out ServicePrincipal
	_, err := c.do(ctx, http.MethodPost, "/v1.0/servicePrincipals", "", map[string]string{"displayName": displayName}, &out)
	return out, err
}

// GetServicePrincipal reads one by object ID or client ID.
func (c *Client) GetServicePrincipal(ctx context.Context, id string) (ServicePrincipal, error) {
	var out ServicePrincipal
	_, err := c.do(ctx, http.MethodGet, "/v1.0/servicePrincipals/"+esc(id), "", nil, &out)
	return out, err
}

// ListServicePrincipals lists them, optionally filtered by display name.
func (c *Client) ListServicePrincipals(ctx context.Context, displayName string) ([]ServicePrincipal, error) {
	path := "/v1.0/servicePrincipals"
	if displayName != "" {
		path += "?$filter=" + url.QueryEscape("displayName eq '"+displayName+"'")
	}
	var out struct {
		Value []ServicePrincipal `json:"value"`
	}
	_, err := c.do(ctx, http.MethodGet, path, "", nil, &out)
	return out.Value, err
}

// DeleteServicePrincipal deletes one and its credentials.
func (c *Client) DeleteServicePrincipal(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1.0/servicePrincipals/"+esc(id), "", nil, nil)
	return err
}

// AddPassword creates a client secret; the returned SecretText is shown once.
func (c *Client) AddPassword(ctx context.Context, id, displayName string, end time.Time) (PasswordCredential, error) {
	pc := map[string]string{"displayName": displayName}
	if !end.IsZero() {
		pc["endDateTime"] = end.UTC().Format(time.RFC3339)
	}
	var out PasswordCredential
	_, err := c.do(ctx, http.MethodPost, "/v1.0/servicePrincipals/"+esc(id)+"/addPassword", "", map[string]any{"passwordCredential": pc}, &out)
	return out, err
}

// RemovePassword deletes a client secret.
func (c *Client) RemovePassword(ctx context.Context, id, keyID string) error {
	_, err := c.do(ctx, http.MethodPost, "/v1.0/servicePrincipals/"+esc(id)+"/removePassword", "", map[string]string{"keyId": keyID}, nil)
	return err
}

// SetCertificates replaces the certificates (base64 DER each).
func (c *Client) SetCertificates(ctx context.Context, id string, certsDER []string) error {
	kc := []KeyCredential{}
	for _, d := range certsDER {
		kc = append(kc, KeyCredential{Type: "AsymmetricX509Cert", Usage: "Verify", Key: d})
	}
	_, err := c.do(ctx, http.MethodPatch, "/v1.0/servicePrincipals/"+esc(id), "", map[string]any{"keyCredentials": kc}, nil)
	return err
}

// ListSignIns lists sign-ins since a time, newest first.
func (c *Client) ListSignIns(ctx context.Context, since time.Time, top int) ([]SignIn, error) {
	q := url.Values{"$filter": {"createdDateTime ge " + since.UTC().Format(time.RFC3339)}}
	if top > 0 {
		q.Set("$top", itoa(top))
	}
	var out struct {
		Value []SignIn `json:"value"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1.0/auditLogs/signIns?"+q.Encode(), "", nil, &out)
	return out.Value, err
}

// RotateSigningKey makes the server sign with a new key from now on.
func (c *Client) RotateSigningKey(ctx context.Context) (map[string]any, error) {
	var out map[string]any
	_, err := c.do(ctx, http.MethodPost, "/ward/v1/keys/rotate", "", nil, &out)
	return out, err
}
