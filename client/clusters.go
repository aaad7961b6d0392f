package client

import (
	"context"
	"net/http"
)

// APIVersionClusters is the managedClusters api-version sent.
const APIVersionClusters = "2025-02-01"

func clusterPath(sub, rg, name string) string {
	return groupPath(sub, rg) + "/providers/Microsoft.ContainerService/managedClusters/" + esc(name)
}

// PutCluster creates or updates a managed cluster; body is the ARM shape.
func (c *Client) PutCluster(ctx context.Context, sub, rg, name string, body map[string]any) (map[string]any, error) {
	var out map[string]any
	_, err := c.do(ctx, http.MethodPut, clusterPath(sub, rg, name), APIVersionClusters, body, &out)
	return out, err
}

// GetCluster reads a managed cluster in its ARM shape.
func (c *Client) GetCluster(ctx context.Context, sub, rg, name string) (map[string]any, error) {
	var out map[string]any
	_, err := c.do(ctx, http.MethodGet, clusterPath(sub, rg, name), APIVersionClusters, nil, &out)
	return out, err
}

// ListClusters lists managed clusters in a group or the subscription.
func (c *Client) ListClusters(ctx context.Context, sub, rg string) ([]map[string]any, error) {
	path := "/subscriptions/" + esc(sub) + "/providers/Microsoft.ContainerService/managedClusters"
	if rg != "" {
		path = groupPath(sub, rg) + "/providers/Microsoft.ContainerService/managedClusters"
	}
	return listAll[map[string]any](ctx, c, path, APIVersionClusters)
}

// DeleteCluster deletes a managed cluster.
func (c *Client) DeleteCluster(ctx context.Context, sub, rg, name string) error {
	_, err := c.do(ctx, http.MethodDelete, clusterPath(sub, rg, name), APIVersionClusters, nil, nil)
	return err
}

// ServiceAccountToken is a token from a cluster's hosted issuer.
type ServiceAccountToken struct {
	Token               string `json:"token"`
	ExpirationTimestamp string `json:"expirationTimestamp"`
}

// GetServiceAccountToken mints a service-account token for local development.
func (c *Client) GetServiceAccountToken(ctx context.Context, sub, rg, name, namespace, sa, audience string, seconds int64) (ServiceAccountToken, error) {
	var out ServiceAccountToken
	_, err := c.do(ctx, http.MethodPost, clusterPath(sub, rg, name)+"/getServiceAccountToken", APIVersionClusters,
		map[string]any{"namespace": namespace, "serviceAccount": sa, "audience": audience, "expirationSeconds": seconds}, &out)
	return out, err
}

// SigningKey is a cluster issuer's key for kube-apiserver.
type SigningKey struct {
	PrivateKeyPEM string `json:"privateKeyPem"`
	PublicKeyPEM  string `json:"publicKeyPem"`
	KID           string `json:"kid"`
	IssuerURL     string `json:"issuerURL"`
}

// GetServiceAccountSigningKey returns the Ward-managed issuer key of a cluster.
func (c *Client) GetServiceAccountSigningKey(ctx context.Context, sub, rg, name string) (SigningKey, error) {
	var out SigningKey
	_, err := c.do(ctx, http.MethodPost, clusterPath(sub, rg, name)+"/getServiceAccountSigningKey", APIVersionClusters, map[string]any{}, &out)
	return out, err
}

// RotateServiceAccountSigningKey rotates a cluster's Ward-managed issuer key.
func (c *Client) RotateServiceAccountSigningKey(ctx context.Context, sub, rg, name string) (map[string]string, error) {
	var out map[string]string
	_, err := c.do(ctx, http.MethodPost, clusterPath(sub, rg, name)+"/rotateServiceAccountSigningKey", APIVersionClusters, map[string]any{}, &out)
	return out, err
}
