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

// Cluster is a managed cluster as the management API returns it: the
// fields Ward's tools act on, typed, and the whole body in Raw (for
// display, and for properties this type does not name).
type Cluster struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Location   string            `json:"location"`
	Properties ClusterProperties `json:"properties"`
	Raw        map[string]any    `json:"-"`
}

// ClusterProperties are the typed properties of a Cluster.
type ClusterProperties struct {
	OIDCIssuerProfile struct {
		Enabled   bool   `json:"enabled"`
		IssuerURL string `json:"issuerURL"`
	} `json:"oidcIssuerProfile"`
	SecurityProfile struct {
		WorkloadIdentity struct {
			Enabled bool `json:"enabled"`
		} `json:"workloadIdentity"`
	} `json:"securityProfile"`
	// KubernetesVersion is the version the cluster reports (the guides'
	// clusters set it; Ward runs no control plane of its own).
	KubernetesVersion string `json:"kubernetesVersion"`
	// IdentityProfile holds the kubelet identity, as "kubeletidentity".
	IdentityProfile map[string]ClusterIdentity `json:"identityProfile"`
}

// ClusterIdentity is an identity of a cluster's identity profile.
type ClusterIdentity struct {
	ResourceID string `json:"resourceId"`
	ClientID   string `json:"clientId"`
	ObjectID   string `json:"objectId"`
}

// Kubelet is the cluster's kubelet identity, if it has one.
func (c Cluster) Kubelet() (ClusterIdentity, bool) {
	k, ok := c.Properties.IdentityProfile["kubeletidentity"]
	return k, ok
}

// UnmarshalJSON fills the typed fields and Raw from one body.
func (c *Cluster) UnmarshalJSON(b []byte) error {
	type plain Cluster
	return decodeWithRaw(b, (*plain)(c), &c.Raw)
}

// PutCluster creates or updates a managed cluster; body is the ARM shape.
func (c *Client) PutCluster(ctx context.Context, sub, rg, name string, body map[string]any) (Cluster, error) {
	var out Cluster
	_, err := c.do(ctx, http.MethodPut, clusterPath(sub, rg, name), APIVersionClusters, body, &out)
	return out, err
}

// GetCluster reads a managed cluster.
func (c *Client) GetCluster(ctx context.Context, sub, rg, name string) (Cluster, error) {
	var out Cluster
	_, err := c.do(ctx, http.MethodGet, clusterPath(sub, rg, name), APIVersionClusters, nil, &out)
	return out, err
}

// ListClusters lists managed clusters in a group or the subscription.
func (c *Client) ListClusters(ctx context.Context, sub, rg string) ([]Cluster, error) {
	path := "/subscriptions/" + esc(sub) + "/providers/Microsoft.ContainerService/managedClusters"
	if rg != "" {
		path = groupPath(sub, rg) + "/providers/Microsoft.ContainerService/managedClusters"
	}
	return listAll[Cluster](ctx, c, path, APIVersionClusters)
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
