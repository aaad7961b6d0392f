package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Target is a Ward to drive: its base URL, the bootstrap admin's
// credentials (admin.json) and a TLS configuration trusting its CA.
type Target struct {
	Base         string // https://127.0.0.1:8443
	TenantID     string
	Subscription string
	ClientID     string
	ClientSecret string
	TLS          *tls.Config
}

// Fixture is what Prepare created for the scenarios.
type Fixture struct {
	IdentityPath string // ARM path of the identity
	ClientID     string // the identity's client ID
	SAToken      string // a cluster service-account token its FIC trusts
	VaultHost    string
	ARMToken     string
	VaultToken   string
}

func (t Target) client() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: t.TLS.Clone(), ForceAttemptHTTP2: true}, Timeout: 30 * time.Second}
}

// token gets an app token for scope with the admin's secret.
func (t Target) token(ctx context.Context, hc *http.Client, scope string) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	status, err := call(ctx, hc, http.MethodPost, t.Base+"/"+t.TenantID+"/oauth2/v2.0/token", "", "", t.secretForm(scope), &out)
	if err != nil {
		return "", err
	}
	if status != 200 || out.AccessToken == "" {
		return "", fmt.Errorf("admin token: HTTP %d", status)
	}
	return out.AccessToken, nil
}

func (t Target) secretForm(scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {t.ClientID}, "client_secret": {t.ClientSecret}, "scope": {scope}}
}

// call sends JSON (or a form) and decodes a JSON answer into out.
func call(ctx context.Context, hc *http.Client, method, u, host, token string, body any, out any) (int, error) {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, err
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	if host != "" {
		req.Host = host
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		_ = json.Unmarshal(b, out)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d: %s", method, u, resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

// Prepare creates, through the real APIs, what the scenarios use: a
// resource group, an identity with a federated credential trusting a Ward
// cluster's issuer and a service-account token of it, and a vault with a
// secret. Names carry suffix so runs do not collide.
func Prepare(ctx context.Context, t Target, suffix string) (Fixture, error) {
	hc := t.client()
	var f Fixture
	var err error
	if f.ARMToken, err = t.token(ctx, hc, "https://management.azure.com/.default"); err != nil {
		return f, err
	}
	rg := "/subscriptions/" + t.Subscription + "/resourceGroups/bench-" + suffix
	put := func(path, apiVersion string, body, out any) error {
		_, err := call(ctx, hc, http.MethodPut, t.Base+path+"?api-version="+apiVersion, "", f.ARMToken, body, out)
		return err
	}
	if err := put(rg, "2021-04-01", map[string]any{"location": "westeurope"}, nil); err != nil {
		return f, err
	}
	f.IdentityPath = rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/bench-id"
	var id struct {
		Properties struct {
			ClientID string `json:"clientId"`
		} `json:"properties"`
	}
	if err := put(f.IdentityPath, "2023-01-31", map[string]any{"location": "westeurope"}, &id); err != nil {
		return f, err
	}
	f.ClientID = id.Properties.ClientID
	cluster := rg + "/providers/Microsoft.ContainerService/managedClusters/bench"
	var cl struct {
		Properties struct {
			OIDC struct {
				IssuerURL string `json:"issuerURL"`
			} `json:"oidcIssuerProfile"`
		} `json:"properties"`
	}
	if err := put(cluster, "2024-05-01", map[string]any{"location": "westeurope", "properties": map[string]any{"oidcIssuerProfile": map[string]any{"enabled": true}}}, &cl); err != nil {
		return f, err
	}
	var sa struct {
		Token string `json:"token"`
	}
	if _, err := call(ctx, hc, http.MethodPost, t.Base+cluster+"/getServiceAccountToken?api-version=2024-05-01", "", f.ARMToken,
		map[string]any{"namespace": "bench", "serviceAccount": "app", "audience": "api://AzureADTokenExchange", "expirationSeconds": 3600}, &sa); err != nil {
		return f, err
	}
	f.SAToken = sa.Token
	if err := put(f.IdentityPath+"/federatedIdentityCredentials/bench", "2023-01-31", map[string]any{"properties": map[string]any{
		"issuer": cl.Properties.OIDC.IssuerURL, "subject": "system:serviceaccount:bench:app", "audiences": []string{"api://AzureADTokenExchange"}}}, nil); err != nil {
		return f, err
	}
	vault := "bench" + strings.ReplaceAll(suffix, "-", "")
	var v struct {
		Properties struct {
			VaultURI string `json:"vaultUri"`
		} `json:"properties"`
	}
	if err := put(rg+"/providers/Microsoft.KeyVault/vaults/"+vault, "2023-07-01", map[string]any{"location": "westeurope",
		"properties": map[string]any{"tenantId": t.TenantID, "sku": map[string]any{"family": "A", "name": "standard"}}}, &v); err != nil {
		return f, err
	}
	vu, err := url.Parse(v.Properties.VaultURI)
	if err != nil {
		return f, err
	}
	f.VaultHost = vu.Host
	if f.VaultToken, err = t.token(ctx, hc, "https://vault.azure.net/.default"); err != nil {
		return f, err
	}
	if _, err := call(ctx, hc, http.MethodPut, t.Base+"/secrets/bench?api-version=7.4", f.VaultHost, f.VaultToken, map[string]any{"value": "s3cret"}, nil); err != nil {
		return f, err
	}
	return f, nil
}

// Scenarios returns the no-op baseline and the scenarios on a prepared
// target. exchange is the federated exchange (a minted token unless the
// server reuses tokens).
func Scenarios(t Target, f Fixture) (noop Scenario, all []Scenario) {
	get := func(u, host, token string) Request {
		return func(ctx context.Context) (*http.Request, error) {
			r, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return nil, err
			}
			if host != "" {
				r.Host = host
			}
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
			return r, nil
		}
	}
	form := func(v url.Values) Request {
		body := v.Encode()
		return func(ctx context.Context) (*http.Request, error) {
			r, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Base+"/"+t.TenantID+"/oauth2/v2.0/token", strings.NewReader(body))
			if err != nil {
				return nil, err
			}
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r, nil
		}
	}
	exchange := form(url.Values{"grant_type": {"client_credentials"}, "client_id": {f.ClientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {f.SAToken},
		"scope": {"https://management.azure.com/.default"}})
	putBody := []byte(`{"location":"westeurope"}`)
	armPut := func(ctx context.Context) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodPut, t.Base+f.IdentityPath+"?api-version=2023-01-31", bytes.NewReader(putBody))
		if err != nil {
			return nil, err
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+f.ARMToken)
		return r, nil
	}
	noop = Scenario{Name: "noop /healthz", New: get(t.Base+"/healthz", "", "")}
	all = []Scenario{
		{Name: "federated exchange", New: exchange},
		{Name: "federated exchange, new TLS connection", New: exchange, NewConnection: true},
		{Name: "client-secret grant", New: form(t.secretForm("https://management.azure.com/.default"))},
		{Name: "ARM GET identity", New: get(t.Base+f.IdentityPath+"?api-version=2023-01-31", "", f.ARMToken)},
		{Name: "ARM PUT identity", New: armPut},
		{Name: "vault secret GET", New: get(t.Base+"/secrets/bench?api-version=7.4", f.VaultHost, f.VaultToken)},
	}
	return noop, all
}
