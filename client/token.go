package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// NewHTTPClient returns an HTTP client that trusts the system roots plus
// the PEM bundle in caFile (Ward's ca.pem), if given.
func NewHTTPClient(caFile string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.ForceAttemptHTTP2 = true
	tr.DialContext = dialLocalhost(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second})
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}, nil
}

// dialLocalhost dials names under .localhost (a vault's
// <name>.vault.localhost) at localhost, as RFC 6761 asks of resolvers and
// as browsers do; many system resolvers, and Go's, do not.
func dialLocalhost(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".localhost") {
			addr = net.JoinHostPort("localhost", port)
		}
		return d.DialContext(ctx, network, addr)
	}
}

// Admin is the content of the admin.json a server writes into its data
// directory on first start: the bootstrap admin service principal.
type Admin struct {
	TenantID        string `json:"tenantId"`
	SubscriptionID  string `json:"subscriptionId"`
	ClientID        string `json:"clientId"`
	ClientSecret    string `json:"clientSecret"`
	AuthorityHost   string `json:"authorityHost"`
	ResourceManager string `json:"resourceManager"`
}

// PublicURLFile is the file in a server's data directory that records the
// public URL its hosted issuers were published at: the first start's, kept
// when a later start serves another URL by accident (another --addr without
// --public-url), so that the server and the CLI can say which issuer URLs
// federated credentials still name.
const PublicURLFile = "public-url.json"

// PublicURLRecord is the content of PublicURLFile.
type PublicURLRecord struct {
	PublicURL  string    `json:"publicUrl"`
	RecordedAt time.Time `json:"recordedAt"`
}

// Token is an access token with its expiry.
type Token struct {
	AccessToken string
	ExpiresOn   time.Time
}

// ClientCredentials is a TokenSource that gets app-only tokens from Ward's
// token endpoint with a client secret (OAuth 2 client credentials), caching
// each until five minutes before it expires.
type ClientCredentials struct {
	AuthorityHost string // e.g. https://127.0.0.1:8443/
	TenantID      string
	ClientID      string
	ClientSecret  string
	Resource      string // the token's audience; the scope is <Resource>/.default
	HTTP          *http.Client

	mu  sync.Mutex
	tok Token
}

// Token returns a cached or new access token.
func (c *ClientCredentials) Token(ctx context.Context) (string, error) {
	t, err := c.Get(ctx)
	return t.AccessToken, err
}

// Get returns a cached or new token with its expiry.
func (c *ClientCredentials) Get(ctx context.Context) (Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.AccessToken != "" && time.Until(c.tok.ExpiresOn) > 5*time.Minute {
		return c.tok, nil
	}
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"scope": {strings.TrimSuffix(c.Resource, "/") + "/.default"},
	}
	endpoint := strings.TrimSuffix(c.AuthorityHost, "/") + "/" + url.PathEscape(c.TenantID) + "/oauth2/v2.0/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Token{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Token{}, err
	}
	var out struct {
		AccessToken      string `json:"access_token"`
		ExpiresIn        int64  `json:"expires_in"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorCodes       []int  `json:"error_codes"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return Token{}, fmt.Errorf("token endpoint answered %d with non-JSON: %.200s", resp.StatusCode, body)
	}
	if resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		code := "AADSTS"
		if len(out.ErrorCodes) > 0 {
			code = fmt.Sprintf("AADSTS%d", out.ErrorCodes[0])
		}
		desc, _, _ := strings.Cut(out.ErrorDescription, "\r\n")
		return Token{}, &Error{StatusCode: resp.StatusCode, Code: code, Message: desc}
	}
	c.tok = Token{AccessToken: out.AccessToken, ExpiresOn: time.Now().Add(time.Duration(out.ExpiresIn) * time.Second)}
	return c.tok, nil
}
