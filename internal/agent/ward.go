package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/agentproto"
)

// WardClient talks to Ward's agent API.
type WardClient struct {
	base string
	http *http.Client
}

// NewWardClient returns a client of the Ward at base; caPEM, when set, is
// the only trusted root.
func NewWardClient(base string, caPEM []byte) (*WardClient, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the agent talks to Ward directly
	tr.MaxIdleConnsPerHost = 4
	tr.ForceAttemptHTTP2 = true
	if caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("the CA file holds no PEM certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &WardClient{base: strings.TrimSuffix(base, "/"), http: &http.Client{Transport: tr, Timeout: 15 * time.Second}}, nil
}

// WardError is an error answer of Ward's agent API.
type WardError struct {
	Status      int
	Code        string
	Description string
}

func (e *WardError) Error() string {
	return fmt.Sprintf("ward answered %d %s: %s", e.Status, e.Code, e.Description)
}

// Refused reports whether Ward refused the agent's attestation: the
// machine was deleted, its credential reset, or the node pool removed.
func (e *WardError) Refused() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// maxResponse bounds a Ward answer.
const maxResponse = 1 << 20

func (c *WardClient) do(ctx context.Context, method, path, attestation, etag string, body, out any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if attestation != "" {
		req.Header.Set("Authorization", "Bearer "+attestation)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, "", err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return resp.StatusCode, resp.Header.Get("ETag"), nil
	case resp.StatusCode >= 400:
		we := &WardError{Status: resp.StatusCode}
		var body agentproto.Error
		if json.Unmarshal(data, &body) != nil || body.Code == "" {
			body.Code, body.Description = http.StatusText(resp.StatusCode), strings.TrimSpace(string(data))
		}
		we.Code, we.Description = body.Code, body.Description
		return resp.StatusCode, "", we
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, "", fmt.Errorf("ward's answer to %s is not the JSON expected: %w", path, err)
		}
	}
	return resp.StatusCode, resp.Header.Get("ETag"), nil
}

// Join registers the machine's certificate with a join token.
func (c *WardClient) Join(ctx context.Context, req agentproto.JoinRequest) (agentproto.JoinResponse, error) {
	var out agentproto.JoinResponse
	_, _, err := c.do(ctx, http.MethodPost, agentproto.PathJoin, "", "", req, &out)
	return out, err
}

// Token asks for a token of one of the machine's identities.
func (c *WardClient) Token(ctx context.Context, attestation string, req agentproto.TokenRequest) (agentproto.TokenResponse, error) {
	var out agentproto.TokenResponse
	_, _, err := c.do(ctx, http.MethodPost, agentproto.PathToken, attestation, "", req, &out)
	return out, err
}

// State fetches the machine's state unless it still has etag; changed is
// false on 304.
func (c *WardClient) State(ctx context.Context, attestation, etag string) (st agentproto.State, newTag string, changed bool, err error) {
	status, tag, err := c.do(ctx, http.MethodGet, agentproto.PathState, attestation, etag, nil, &st)
	if err != nil {
		return st, "", false, err
	}
	if status == http.StatusNotModified {
		return st, etag, false, nil
	}
	return st, tag, true, nil
}
