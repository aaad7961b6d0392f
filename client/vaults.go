package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ward-id/ward/internal/datahost"
)

// API versions of Key Vault: the management (ARM) API and the data plane.
const (
	APIVersionKeyVault = "2023-07-01"
	APIVersionSecrets  = "7.5"
)

// Vault is a Key Vault–compatible vault (Microsoft.KeyVault/vaults).
type Vault struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties VaultProperties   `json:"properties"`
}

// VaultProperties are a vault's settings; VaultURI is its data plane.
type VaultProperties struct {
	TenantID string `json:"tenantId"`
	SKU      struct {
		Family string `json:"family"`
		Name   string `json:"name"`
	} `json:"sku"`
	AccessPolicies          []any  `json:"accessPolicies"`
	EnableRbacAuthorization bool   `json:"enableRbacAuthorization"`
	VaultURI                string `json:"vaultUri,omitempty"`
	ProvisioningState       string `json:"provisioningState,omitempty"`
	PublicNetworkAccess     string `json:"publicNetworkAccess,omitempty"`
}

func vaultPath(sub, rg, name string) string {
	return groupPath(sub, rg) + "/providers/Microsoft.KeyVault/vaults/" + esc(name)
}

// CreateOrUpdateVault creates or updates a vault (RBAC authorization, as
// Ward's vaults always use); sku is "standard" or "premium".
func (c *Client) CreateOrUpdateVault(ctx context.Context, sub, rg, name, location, tenantID, sku string, tags map[string]string) (Vault, bool, error) {
	if sku == "" {
		sku = "standard"
	}
	body := Vault{Location: location, Tags: tags}
	body.Properties.TenantID, body.Properties.SKU.Family, body.Properties.SKU.Name = tenantID, "A", sku
	body.Properties.EnableRbacAuthorization, body.Properties.AccessPolicies = true, []any{}
	var out Vault
	status, err := c.do(ctx, http.MethodPut, vaultPath(sub, rg, name), APIVersionKeyVault, body, &out)
	return out, status == http.StatusCreated, err
}

// GetVault reads a vault.
func (c *Client) GetVault(ctx context.Context, sub, rg, name string) (Vault, error) {
	var out Vault
	_, err := c.do(ctx, http.MethodGet, vaultPath(sub, rg, name), APIVersionKeyVault, nil, &out)
	return out, err
}

// ListVaults lists the vaults of a resource group, or of the subscription
// when rg is empty.
func (c *Client) ListVaults(ctx context.Context, sub, rg string) ([]Vault, error) {
	path := "/subscriptions/" + esc(sub) + "/providers/Microsoft.KeyVault/vaults"
	if rg != "" {
		path = groupPath(sub, rg) + "/providers/Microsoft.KeyVault/vaults"
	}
	return listAll[Vault](ctx, c, path, APIVersionKeyVault)
}

// DeleteVault deletes a vault and its secrets; found is false when there
// was none.
func (c *Client) DeleteVault(ctx context.Context, sub, rg, name string) (bool, error) {
	status, err := c.do(ctx, http.MethodDelete, vaultPath(sub, rg, name), APIVersionKeyVault, nil, nil)
	return status == http.StatusOK, err
}

// VaultURL is the data-plane URL Ward gives the vault name when it serves
// at server: https://<name>.vault.localhost:<port>/ for a loopback server,
// else https://<name>.vault.<host>/. Prefer a vault's properties.vaultUri
// when it can be read.
func VaultURL(server, name string) (string, error) {
	if u, err := url.Parse(server); err != nil || u.Host == "" {
		return "", fmt.Errorf("server URL %q has no host", server)
	}
	return "https://" + strings.ToLower(name) + "." + datahost.Suffix(server, "vault") + "/", nil
}

// Secret is a Key Vault secret bundle (the data plane's shape).
type Secret struct {
	ID          string            `json:"id"`
	Value       *string           `json:"value,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Attributes  SecretAttributes  `json:"attributes"`
	// Set on a deleted secret.
	RecoveryID  string `json:"recoveryId,omitempty"`
	DeletedDate int64  `json:"deletedDate,omitempty"`
}

// SecretAttributes are a secret's times (Unix seconds) and state.
type SecretAttributes struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created,omitempty"`
	Updated         int64  `json:"updated,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
	RecoverableDays int    `json:"recoverableDays,omitempty"`
}

// Name is the secret's name, from its ID (…/secrets/<name>[/<version>]).
func (s Secret) Name() string {
	_, rest, ok := strings.Cut(s.ID, "/secrets/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// Version is the secret's version, from its ID; empty in lists.
func (s Secret) Version() string {
	_, rest, _ := strings.Cut(s.ID, "/secrets/")
	_, v, _ := strings.Cut(rest, "/")
	return v
}

// SecretsClient calls one vault's secrets data plane. It authenticates as
// the Azure SDKs do: a first request without a token draws the vault's 401
// challenge, whose resource must be a parent domain of the vault's host;
// then every request carries a token for that resource.
type SecretsClient struct {
	c *Client
}

// TokenFor returns a token source for a resource (audience), e.g. a
// ClientCredentials with that Resource.
type TokenFor func(resource string) TokenSource

// NewSecretsClient returns a client for the vault at vaultURL (its
// vaultUri). hc must trust Ward's CA (NewHTTPClient).
func NewSecretsClient(vaultURL string, tokenFor TokenFor, hc *http.Client) (*SecretsClient, error) {
	u, err := url.Parse(vaultURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("vault URL %q must be https://<vault host>/", vaultURL)
	}
	base := "https://" + u.Host
	ch := &challengeToken{vault: base, http: hc, tokenFor: tokenFor}
	return &SecretsClient{c: &Client{base: base, http: hc, token: ch}}, nil
}

// challengeToken learns the vault's resource from its 401 challenge once.
type challengeToken struct {
	vault    string
	http     *http.Client
	tokenFor TokenFor

	mu  sync.Mutex
	src TokenSource
}

func (t *challengeToken) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.src == nil {
		resource, err := t.discover(ctx)
		if err != nil {
			return "", err
		}
		t.src = t.tokenFor(resource)
	}
	return t.src.Token(ctx)
}

func (t *challengeToken) discover(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.vault+"/secrets?api-version="+APIVersionSecrets, nil)
	if err != nil {
		return "", err
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusUnauthorized {
		return "", fmt.Errorf("%s answered %d without a token instead of a 401 challenge: is it a vault?", t.vault, resp.StatusCode)
	}
	resource := challengeParam(resp.Header.Get("WWW-Authenticate"), "resource")
	if resource == "" {
		resource = challengeParam(resp.Header.Get("WWW-Authenticate"), "scope")
		resource = strings.TrimSuffix(resource, "/.default")
	}
	if resource == "" {
		return "", fmt.Errorf("%s sent no resource in its challenge", t.vault)
	}
	if err := verifyChallengeResource(t.vault, resource); err != nil {
		return "", err
	}
	return resource, nil
}

// verifyChallengeResource checks, as azsecrets does, that the challenge's
// resource names a parent domain of the vault's host, so that a vault
// cannot obtain a token for an unrelated service.
func verifyChallengeResource(vault, resource string) error {
	vu, err1 := url.Parse(vault)
	ru, err2 := url.Parse(resource)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	vh, rh := strings.ToLower(vu.Hostname()), strings.ToLower(ru.Hostname())
	if rh == "" || !strings.HasSuffix(vh, "."+rh) {
		return fmt.Errorf("the vault %s asked for a token for %s, which is not a parent domain of the vault's host; refusing", vault, resource)
	}
	return nil
}

// challengeParam reads one quoted parameter of a Bearer challenge.
func challengeParam(header, name string) string {
	for _, part := range strings.Split(strings.TrimPrefix(strings.TrimSpace(header), "Bearer "), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(k, name) {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// SetSecretParameters are what a set writes besides the value.
type SetSecretParameters struct {
	ContentType string
	Tags        map[string]string
	Enabled     *bool
	NotBefore   *time.Time
	Expires     *time.Time
}

// SetSecret writes a new version of a secret.
func (s *SecretsClient) SetSecret(ctx context.Context, name, value string, p SetSecretParameters) (Secret, error) {
	body := Secret{Value: &value, ContentType: p.ContentType, Tags: p.Tags}
	body.Attributes.Enabled = p.Enabled
	if p.NotBefore != nil {
		u := p.NotBefore.Unix()
		body.Attributes.NotBefore = &u
	}
	if p.Expires != nil {
		u := p.Expires.Unix()
		body.Attributes.Expires = &u
	}
	var out Secret
	_, err := s.c.do(ctx, http.MethodPut, "/secrets/"+esc(name), APIVersionSecrets, body, &out)
	return out, err
}

// GetSecret reads a secret's value: the latest version when version is empty.
func (s *SecretsClient) GetSecret(ctx context.Context, name, version string) (Secret, error) {
	path := "/secrets/" + esc(name)
	if version != "" {
		path += "/" + esc(version)
	}
	var out Secret
	_, err := s.c.do(ctx, http.MethodGet, path, APIVersionSecrets, nil, &out)
	return out, err
}

// ListSecrets lists the vault's secrets, without values.
func (s *SecretsClient) ListSecrets(ctx context.Context) ([]Secret, error) {
	return listAll[Secret](ctx, s.c, "/secrets", APIVersionSecrets)
}

// DeleteSecret deletes a secret with all its versions.
func (s *SecretsClient) DeleteSecret(ctx context.Context, name string) (Secret, error) {
	var out Secret
	_, err := s.c.do(ctx, http.MethodDelete, "/secrets/"+esc(name), APIVersionSecrets, nil, &out)
	return out, err
}
