package client

import (
	"context"
	"net/http"
)

// API versions of resource-provider registration and preview features.
const (
	APIVersionProviders = "2021-04-01"
	APIVersionFeatures  = "2021-07-01"
)

// Provider is a resource provider's registration in a subscription
// (Microsoft.Resources/providers). Ward serves every namespace it knows
// registered.
type Provider struct {
	ID                 string                 `json:"id"`
	Namespace          string                 `json:"namespace"`
	RegistrationState  string                 `json:"registrationState"`
	RegistrationPolicy string                 `json:"registrationPolicy,omitempty"`
	ResourceTypes      []ProviderResourceType `json:"resourceTypes"`
}

// ProviderResourceType is one resource type of a provider, with the
// api-versions it takes.
type ProviderResourceType struct {
	ResourceType string   `json:"resourceType"`
	Locations    []string `json:"locations"`
	APIVersions  []string `json:"apiVersions"`
}

// Feature is a preview feature's registration (Microsoft.Features);
// Ward has every feature on.
type Feature struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		State string `json:"state"`
	} `json:"properties"`
}

func providerPath(sub, namespace string) string {
	return "/subscriptions/" + esc(sub) + "/providers/" + esc(namespace)
}

func featurePath(sub, namespace, name string) string {
	return "/subscriptions/" + esc(sub) + "/providers/Microsoft.Features/providers/" + esc(namespace) + "/features/" + esc(name)
}

// ListProviders lists the resource providers of a subscription.
func (c *Client) ListProviders(ctx context.Context, sub string) ([]Provider, error) {
	return listAll[Provider](ctx, c, "/subscriptions/"+esc(sub)+"/providers", APIVersionProviders)
}

// GetProvider reads one provider's registration.
func (c *Client) GetProvider(ctx context.Context, sub, namespace string) (Provider, error) {
	var out Provider
	_, err := c.do(ctx, http.MethodGet, providerPath(sub, namespace), APIVersionProviders, nil, &out)
	return out, err
}

// RegisterProvider registers a resource provider in a subscription.
func (c *Client) RegisterProvider(ctx context.Context, sub, namespace string) (Provider, error) {
	var out Provider
	_, err := c.do(ctx, http.MethodPost, providerPath(sub, namespace)+"/register", APIVersionProviders, nil, &out)
	return out, err
}

// ListFeatures lists the preview features of a subscription, or of one
// provider namespace when namespace is not "".
func (c *Client) ListFeatures(ctx context.Context, sub, namespace string) ([]Feature, error) {
	path := "/subscriptions/" + esc(sub) + "/providers/Microsoft.Features/features"
	if namespace != "" {
		path = "/subscriptions/" + esc(sub) + "/providers/Microsoft.Features/providers/" + esc(namespace) + "/features"
	}
	return listAll[Feature](ctx, c, path, APIVersionFeatures)
}

// GetFeature reads one feature's registration.
func (c *Client) GetFeature(ctx context.Context, sub, namespace, name string) (Feature, error) {
	var out Feature
	_, err := c.do(ctx, http.MethodGet, featurePath(sub, namespace, name), APIVersionFeatures, nil, &out)
	return out, err
}

// RegisterFeature registers a preview feature.
func (c *Client) RegisterFeature(ctx context.Context, sub, namespace, name string) (Feature, error) {
	var out Feature
	_, err := c.do(ctx, http.MethodPost, featurePath(sub, namespace, name)+"/register", APIVersionFeatures, nil, &out)
	return out, err
}

// UnregisterProvider unregisters a resource provider in a subscription
// (Ward keeps the state and gates nothing on it).
func (c *Client) UnregisterProvider(ctx context.Context, sub, namespace string) (Provider, error) {
	var out Provider
	_, err := c.do(ctx, http.MethodPost, providerPath(sub, namespace)+"/unregister", APIVersionProviders, nil, &out)
	return out, err
}

// UnregisterFeature unregisters a preview feature (Ward keeps the state
// and gates nothing on it).
func (c *Client) UnregisterFeature(ctx context.Context, sub, namespace, name string) (Feature, error) {
	var out Feature
	_, err := c.do(ctx, http.MethodPost, featurePath(sub, namespace, name)+"/unregister", APIVersionFeatures, nil, &out)
	return out, err
}
