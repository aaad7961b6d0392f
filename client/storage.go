package client

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ward-id/ward/internal/datahost"
)

// API versions of Azure Storage: the management (ARM) API and the Blob
// data plane (x-ms-version).
const (
	APIVersionStorage = "2023-05-01"
	APIVersionBlob    = "2025-01-05"
	// StorageResource is the audience of Blob data-plane tokens.
	StorageResource = "https://storage.azure.com"
)

// StorageAccount is a Microsoft.Storage/storageAccounts resource.
type StorageAccount struct {
	ID       string            `json:"id,omitempty"`
	Name     string            `json:"name,omitempty"`
	Type     string            `json:"type,omitempty"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	Kind     string            `json:"kind,omitempty"`
	SKU      struct {
		Name string `json:"name"`
		Tier string `json:"tier,omitempty"`
	} `json:"sku"`
	Properties map[string]any `json:"properties,omitempty"`
}

// BlobEndpoint is the account's primaryEndpoints.blob, "" when absent.
func (a StorageAccount) BlobEndpoint() string {
	if pe, ok := a.Properties["primaryEndpoints"].(map[string]any); ok {
		s, _ := pe["blob"].(string)
		return s
	}
	return ""
}

func storageAccountPath(sub, rg, name string) string {
	return groupPath(sub, rg) + "/providers/Microsoft.Storage/storageAccounts/" + esc(name)
}

// CreateOrUpdateStorageAccount creates or updates an account (shared key
// access off, the only mode Ward serves). Both answer 200, as Azure's
// storage accounts do, so whether it was created is not reported.
func (c *Client) CreateOrUpdateStorageAccount(ctx context.Context, sub, rg, name, location, kind, sku string, tags map[string]string) (StorageAccount, error) {
	body := StorageAccount{Location: location, Tags: tags, Kind: kind, Properties: map[string]any{"allowSharedKeyAccess": false}}
	body.SKU.Name = sku
	var out StorageAccount
	_, err := c.do(ctx, http.MethodPut, storageAccountPath(sub, rg, name), APIVersionStorage, body, &out)
	return out, err
}

// GetStorageAccount reads an account.
func (c *Client) GetStorageAccount(ctx context.Context, sub, rg, name string) (StorageAccount, error) {
	var out StorageAccount
	_, err := c.do(ctx, http.MethodGet, storageAccountPath(sub, rg, name), APIVersionStorage, nil, &out)
	return out, err
}

// ListStorageAccounts lists a group's accounts, or the subscription's when
// rg is empty.
func (c *Client) ListStorageAccounts(ctx context.Context, sub, rg string) ([]StorageAccount, error) {
	path := "/subscriptions/" + esc(sub) + "/providers/Microsoft.Storage/storageAccounts"
	if rg != "" {
		path = groupPath(sub, rg) + "/providers/Microsoft.Storage/storageAccounts"
	}
	return listAll[StorageAccount](ctx, c, path, APIVersionStorage)
}

// DeleteStorageAccount deletes an account with its containers and blobs.
func (c *Client) DeleteStorageAccount(ctx context.Context, sub, rg, name string) (bool, error) {
	status, err := c.do(ctx, http.MethodDelete, storageAccountPath(sub, rg, name), APIVersionStorage, nil, nil)
	return status == http.StatusOK, err
}

// BlobAccountURL is the blob endpoint Ward gives the account name when it
// serves at server: https://<name>.blob.localhost:<port>/ for a loopback
// server, else https://<name>.blob.<host>/. Prefer the account's
// primaryEndpoints.blob when it can be read.
func BlobAccountURL(server, name string) (string, error) {
	if u, err := url.Parse(server); err != nil || u.Host == "" {
		return "", fmt.Errorf("server URL %q has no host", server)
	}
	return "https://" + strings.ToLower(name) + "." + datahost.Suffix(server, "blob") + "/", nil
}

// BlobClient calls one account's Blob data plane with bearer tokens for
// StorageResource.
type BlobClient struct {
	base  string
	token TokenSource
	http  *http.Client
}

// NewBlobClient returns a client for the account at accountURL. hc must
// trust Ward's CA (NewHTTPClient).
func NewBlobClient(accountURL string, token TokenSource, hc *http.Client) (*BlobClient, error) {
	u, err := url.Parse(accountURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("account URL %q must be https://<account host>/", accountURL)
	}
	return &BlobClient{base: "https://" + u.Host, token: token, http: hc}, nil
}

// BlobError is a Blob service error (its XML body and x-ms-error-code).
type BlobError struct {
	StatusCode int
	Code       string
	Message    string
}

func (e *BlobError) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Code, e.StatusCode, e.Message)
}

func (b *BlobClient) do(ctx context.Context, method, path string, query url.Values, hdr http.Header, body io.Reader, size int64) (*http.Response, error) {
	u := b.base + "/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("x-ms-version", APIVersionBlob)
	tok, err := b.token.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("get token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		_ = xml.Unmarshal(data, &e)
		if e.Code == "" {
			e.Code = resp.Header.Get("x-ms-error-code")
		}
		msg, _, _ := strings.Cut(e.Message, "\n")
		return nil, &BlobError{StatusCode: resp.StatusCode, Code: e.Code, Message: msg}
	}
	return resp, nil
}

func blobPath(container, name string) string {
	p := url.PathEscape(container)
	if name != "" {
		parts := strings.Split(name, "/")
		for i := range parts {
			parts[i] = url.PathEscape(parts[i])
		}
		p += "/" + strings.Join(parts, "/")
	}
	return p
}

func drain(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// CreateContainer creates a container.
func (b *BlobClient) CreateContainer(ctx context.Context, name string) error {
	return drain(b.do(ctx, http.MethodPut, blobPath(name, ""), url.Values{"restype": {"container"}}, nil, nil, 0))
}

// DeleteContainer deletes a container and its blobs.
func (b *BlobClient) DeleteContainer(ctx context.Context, name string) error {
	return drain(b.do(ctx, http.MethodDelete, blobPath(name, ""), url.Values{"restype": {"container"}}, nil, nil, 0))
}

// ContainerItem is one container of a list.
type ContainerItem struct {
	Name       string `xml:"Name" json:"name"`
	Properties struct {
		LastModified string `xml:"Last-Modified" json:"lastModified"`
		ETag         string `xml:"Etag" json:"etag"`
	} `xml:"Properties" json:"properties"`
}

// ListContainers lists the account's containers, every page.
func (b *BlobClient) ListContainers(ctx context.Context, prefix string) ([]ContainerItem, error) {
	out := []ContainerItem{}
	marker := ""
	for {
		q := url.Values{"comp": {"list"}}
		if prefix != "" {
			q.Set("prefix", prefix)
		}
		if marker != "" {
			q.Set("marker", marker)
		}
		var page struct {
			Items      []ContainerItem `xml:"Containers>Container"`
			NextMarker string          `xml:"NextMarker"`
		}
		if err := b.getXML(ctx, "", q, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if marker = page.NextMarker; marker == "" {
			return out, nil
		}
	}
}

func (b *BlobClient) getXML(ctx context.Context, path string, q url.Values, v any) error {
	resp, err := b.do(ctx, http.MethodGet, path, q, nil, nil, 0)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return xml.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v)
}

// BlobItem is one blob of a list.
type BlobItem struct {
	Name       string `xml:"Name" json:"name"`
	Properties struct {
		LastModified  string `xml:"Last-Modified" json:"lastModified"`
		ETag          string `xml:"Etag" json:"etag"`
		ContentLength int64  `xml:"Content-Length" json:"contentLength"`
		ContentType   string `xml:"Content-Type" json:"contentType"`
		ContentMD5    string `xml:"Content-MD5" json:"contentMd5"`
		BlobType      string `xml:"BlobType" json:"blobType"`
	} `xml:"Properties" json:"properties"`
}

// ListBlobs lists a container's blobs whose names start with prefix, every
// page.
func (b *BlobClient) ListBlobs(ctx context.Context, container, prefix string) ([]BlobItem, error) {
	out := []BlobItem{}
	marker := ""
	for {
		q := url.Values{"restype": {"container"}, "comp": {"list"}}
		if prefix != "" {
			q.Set("prefix", prefix)
		}
		if marker != "" {
			q.Set("marker", marker)
		}
		var page struct {
			Items      []BlobItem `xml:"Blobs>Blob"`
			NextMarker string     `xml:"NextMarker"`
		}
		if err := b.getXML(ctx, blobPath(container, ""), q, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if marker = page.NextMarker; marker == "" {
			return out, nil
		}
	}
}

// UploadBlob writes a block blob in one request (Put Blob); overwrite
// false refuses an existing blob (BlobAlreadyExists).
func (b *BlobClient) UploadBlob(ctx context.Context, container, name string, body io.Reader, size int64, contentType string, overwrite bool) error {
	h := http.Header{}
	h.Set("x-ms-blob-type", "BlockBlob")
	if contentType != "" {
		h.Set("x-ms-blob-content-type", contentType)
	}
	if !overwrite {
		h.Set("If-None-Match", "*")
	}
	return drain(b.do(ctx, http.MethodPut, blobPath(container, name), nil, h, body, size))
}

// DownloadBlob copies a blob's content to w.
func (b *BlobClient) DownloadBlob(ctx context.Context, container, name string, w io.Writer) (int64, error) {
	resp, err := b.do(ctx, http.MethodGet, blobPath(container, name), nil, nil, nil, 0)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

// DeleteBlob deletes a blob.
func (b *BlobClient) DeleteBlob(ctx context.Context, container, name string) error {
	return drain(b.do(ctx, http.MethodDelete, blobPath(container, name), nil, nil, nil, 0))
}
