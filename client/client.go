// Package client is the public Go client for Ward's management API. It is
// what the ward CLI is built on; it speaks plain ARM REST, so everything it
// does can also be done with the Azure SDK's ARM clients.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

func itoa(n int) string { return strconv.Itoa(n) }

// API versions the client sends.
const (
	APIVersionResources = "2021-04-01"
	APIVersionMSI       = "2024-11-30"
	// APIVersionMSIFlexible is the first api-version of federated
	// credentials with claimsMatchingExpression; the client sends it only
	// for a credential that has one.
	APIVersionMSIFlexible = "2025-01-31-preview"
	APIVersionSubs        = "2022-12-01"
)

// TokenSource supplies bearer tokens for management calls.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a TokenSource that always returns the same token.
type StaticToken string

// Token returns the token.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// Client calls one Ward server.
type Client struct {
	base  string
	http  *http.Client
	token TokenSource
}

// Options configures New.
type Options struct {
	// CAFile is a PEM bundle to trust in addition to the system roots,
	// normally Ward's ca.pem.
	CAFile string
	// HTTPClient replaces the default client (CAFile is then ignored).
	HTTPClient *http.Client
}

// New returns a client for the server at baseURL (e.g. https://127.0.0.1:8443).
func New(baseURL string, token TokenSource, opts Options) (*Client, error) {
	hc := opts.HTTPClient
	if hc == nil {
		var err error
		if hc, err = NewHTTPClient(opts.CAFile); err != nil {
			return nil, err
		}
	}
	return &Client{base: strings.TrimSuffix(baseURL, "/"), http: hc, token: token}, nil
}

// Error is an error answer from the server, in ARM's envelope.
type Error struct {
	StatusCode int
	Code       string
	Message    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("(%s) %s", e.Code, e.Message)
}

// IsNotFound reports whether err is a 404 from the server.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// do sends one request; path may be a full nextLink URL.
func (c *Client) do(ctx context.Context, method, path, apiVersion string, body, out any) (int, error) {
	u := path
	if !strings.HasPrefix(path, "https://") && !strings.HasPrefix(path, "http://") {
		u = c.base + path
		if apiVersion != "" {
			u += "?api-version=" + url.QueryEscape(apiVersion)
		}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	tok, err := c.token.Token(ctx)
	if err != nil {
		return 0, fmt.Errorf("get token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 400 {
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(data, &env) != nil || env.Error.Code == "" {
			env.Error.Code, env.Error.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(data))
		}
		return resp.StatusCode, &Error{StatusCode: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message}
	}
	if out != nil && len(data) > 0 && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode response of %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// decodeWithRaw fills typed (a pointer to a type without an UnmarshalJSON
// of its own, so that this is not recursive) and raw from one body: the
// typed resources keep the whole body for display, where az prints
// properties no Go type names.
func decodeWithRaw(b []byte, typed any, raw *map[string]any) error {
	if err := json.Unmarshal(b, typed); err != nil {
		return err
	}
	return json.Unmarshal(b, raw)
}

// listAll follows nextLink until the last page.
func listAll[T any](ctx context.Context, c *Client, path, apiVersion string) ([]T, error) {
	out := []T{}
	next := path
	for next != "" {
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if _, err := c.do(ctx, http.MethodGet, next, apiVersion, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		next = page.NextLink
	}
	return out, nil
}
