package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/audience"
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
	// DataDir is the server's data directory when it is on this machine:
	// where the disk is measured for the blob scenarios' ratios.
	DataDir string
	// PID is the server's process when it runs apart from the load
	// (--pinned): its CPU time per request is measured too.
	PID int
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

func (t Target) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: t.TLS.Clone(), ForceAttemptHTTP2: true}, Timeout: 30 * time.Second}
}

func (t Target) secretForm(scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {t.ClientID}, "client_secret": {t.ClientSecret}, "scope": {scope}}
}

// credentials is the admin's client-credentials token source for resource.
func (t Target) credentials(hc *http.Client, resource string) *client.ClientCredentials {
	return &client.ClientCredentials{AuthorityHost: t.Base + "/", TenantID: t.TenantID, ClientID: t.ClientID, ClientSecret: t.ClientSecret,
		Resource: resource, HTTP: hc}
}

// Prepare creates, through the public management client, what the
// scenarios use: a resource group, an identity with a federated credential
// trusting a Ward cluster's issuer and a service-account token of it, and a
// vault with a secret. Names carry suffix so runs do not collide.
func Prepare(ctx context.Context, t Target, suffix string) (Fixture, error) {
	hc := t.httpClient()
	var f Fixture
	var err error
	arm := t.credentials(hc, audience.Management)
	if f.ARMToken, err = arm.Token(ctx); err != nil {
		return f, err
	}
	c, err := client.New(t.Base, arm, client.Options{HTTPClient: hc})
	if err != nil {
		return f, err
	}
	sub, rg := t.Subscription, "bench-"+suffix
	if _, _, err := c.CreateOrUpdateGroup(ctx, sub, rg, "westeurope", nil); err != nil {
		return f, err
	}
	id, _, err := c.CreateOrUpdateIdentity(ctx, sub, rg, "bench-id", "westeurope", nil)
	if err != nil {
		return f, err
	}
	f.IdentityPath, f.ClientID = id.ID, id.Properties.ClientID
	cl, err := c.PutCluster(ctx, sub, rg, "bench", map[string]any{"location": "westeurope",
		"properties": map[string]any{"oidcIssuerProfile": map[string]any{"enabled": true}}})
	if err != nil {
		return f, err
	}
	issuer := cl.Properties.OIDCIssuerProfile.IssuerURL
	sa, err := c.GetServiceAccountToken(ctx, sub, rg, "bench", "bench", "app", audience.TokenExchange, 3600)
	if err != nil {
		return f, err
	}
	f.SAToken = sa.Token
	if _, _, err := c.CreateOrUpdateFederatedCredential(ctx, sub, rg, "bench-id", "bench", client.FederatedCredentialProperties{
		Issuer: issuer, Subject: "system:serviceaccount:bench:app", Audiences: []string{audience.TokenExchange}}); err != nil {
		return f, err
	}
	v, _, err := c.CreateOrUpdateVault(ctx, sub, rg, "bench"+strings.ReplaceAll(suffix, "-", ""), "westeurope", t.TenantID, "standard", nil)
	if err != nil {
		return f, err
	}
	vu, err := url.Parse(v.Properties.VaultURI)
	if err != nil {
		return f, err
	}
	f.VaultHost = vu.Host
	if f.VaultToken, err = t.credentials(hc, audience.Vault).Token(ctx); err != nil {
		return f, err
	}
	// The secret is written on the loopback address with the vault's Host,
	// as the scenario reads it: no name resolution of *.localhost needed.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, t.Base+"/secrets/bench?api-version=7.4", strings.NewReader(`{"value":"s3cret"}`))
	if err != nil {
		return f, err
	}
	req.Host = f.VaultHost
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.VaultToken)
	resp, err := hc.Do(req)
	if err != nil {
		return f, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return f, fmt.Errorf("set the bench secret: HTTP %d", resp.StatusCode)
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
		"scope": {audience.DefaultScope(audience.Management)}})
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
		{Name: "federated exchange", New: exchange, Signs: true},
		{Name: "federated exchange, new TLS connection", New: exchange, NewConnection: true},
		{Name: "federated exchange, new TLS connection resumed (client session cache)", New: exchange, NewConnection: true, SessionCache: true},
		{Name: "client-secret grant", New: form(t.secretForm(audience.DefaultScope(audience.Management))), Signs: true},
		{Name: "ARM GET identity", New: get(t.Base+f.IdentityPath+"?api-version=2023-01-31", "", f.ARMToken)},
		{Name: "ARM PUT identity", New: armPut},
		{Name: "vault secret GET", New: get(t.Base+"/secrets/bench?api-version=7.4", f.VaultHost, f.VaultToken)},
	}
	return noop, all
}
