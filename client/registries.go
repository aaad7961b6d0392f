package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// APIVersionRegistries is the containerRegistry api-version sent.
const APIVersionRegistries = "2023-07-01"

// RegistryNullUsername is the user name that goes with a registry refresh
// token (docker login, containerd, the kubelet's credential provider).
const RegistryNullUsername = "00000000-0000-0000-0000-000000000000"

func registryPath(sub, rg, name string) string {
	return groupPath(sub, rg) + "/providers/Microsoft.ContainerRegistry/registries/" + esc(name)
}

// Registry is a container registry as the management API returns it: the
// fields Ward's tools act on, typed, and the whole body in Raw (for
// display, and for properties this type does not name).
type Registry struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	SKU      struct {
		Name string `json:"name"`
	} `json:"sku"`
	Properties RegistryProperties `json:"properties"`
	Raw        map[string]any     `json:"-"`
}

// RegistryProperties are the typed properties of a Registry.
type RegistryProperties struct {
	// LoginServer is the host docker and the kubelet pull from.
	LoginServer string `json:"loginServer"`
}

// UnmarshalJSON fills the typed fields and Raw from one body.
func (r *Registry) UnmarshalJSON(b []byte) error {
	type plain Registry
	return decodeWithRaw(b, (*plain)(r), &r.Raw)
}

// PutRegistry creates or updates a container registry; body is the ARM shape.
func (c *Client) PutRegistry(ctx context.Context, sub, rg, name string, body map[string]any) (Registry, error) {
	var out Registry
	_, err := c.do(ctx, http.MethodPut, registryPath(sub, rg, name), APIVersionRegistries, body, &out)
	return out, err
}

// GetRegistry reads a container registry.
func (c *Client) GetRegistry(ctx context.Context, sub, rg, name string) (Registry, error) {
	var out Registry
	_, err := c.do(ctx, http.MethodGet, registryPath(sub, rg, name), APIVersionRegistries, nil, &out)
	return out, err
}

// ListRegistries lists container registries in a group or the subscription.
func (c *Client) ListRegistries(ctx context.Context, sub, rg string) ([]Registry, error) {
	path := "/subscriptions/" + esc(sub) + "/providers/Microsoft.ContainerRegistry/registries"
	if rg != "" {
		path = groupPath(sub, rg) + "/providers/Microsoft.ContainerRegistry/registries"
	}
	return listAll[Registry](ctx, c, path, APIVersionRegistries)
}

// DeleteRegistry deletes a container registry.
func (c *Client) DeleteRegistry(ctx context.Context, sub, rg, name string) error {
	_, err := c.do(ctx, http.MethodDelete, registryPath(sub, rg, name), APIVersionRegistries, nil, nil)
	return err
}

// RegistryRefreshToken exchanges an Entra access token (for
// https://containerregistry.azure.net or ARM) at the login server's
// /oauth2/exchange for a registry refresh token, as az acr login does.
func RegistryRefreshToken(ctx context.Context, hc *http.Client, loginServer, tenantID, accessToken string) (string, error) {
	form := url.Values{"grant_type": {"access_token"}, "service": {loginServer}, "tenant": {tenantID}, "access_token": {accessToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+loginServer+"/oauth2/exchange", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("registry exchange at %s: %w", loginServer, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		RefreshToken string `json:"refresh_token"`
		Errors       []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(b, &out)
	if resp.StatusCode != http.StatusOK || out.RefreshToken == "" {
		msg := strings.TrimSpace(string(b))
		if len(out.Errors) > 0 {
			msg = out.Errors[0].Code + ": " + out.Errors[0].Message
		}
		return "", fmt.Errorf("registry exchange at %s: %s: %s", loginServer, resp.Status, msg)
	}
	return out.RefreshToken, nil
}
