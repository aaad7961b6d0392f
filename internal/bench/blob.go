package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/audience"
)

// storageBlobDataContributor is Azure's built-in role ID (a wire fact: the
// same GUID in every tenant).
const storageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

// BlobSizes are the payloads the blob scenarios move: a small object, where
// the per-request cost (token check, authorization, database row, fsync)
// dominates, and a large one, where moving the bytes does.
var BlobSizes = []int64{4 << 10, 4 << 20}

// BlobFixture is a storage account the admin may write blobs to, with a
// container and one blob per size to read.
type BlobFixture struct {
	Host     string // <account>.blob.localhost:<port>
	Token    string // audience https://storage.azure.com
	payloads map[int64][]byte
}

func sizeName(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

func blobName(op string, n int64) string {
	return op + "-" + strings.ReplaceAll(sizeName(n), " ", "")
}

// PrepareBlob creates, through the public management client, a resource
// group and a storage account, gives the admin Storage Blob Data
// Contributor on it (Owner at / grants no data access, as in Azure), and
// through the Blob endpoint a container and the blobs the GET scenarios
// read. Names carry suffix so runs do not collide.
func PrepareBlob(ctx context.Context, t Target, suffix string) (BlobFixture, error) {
	hc := t.httpClient()
	var f BlobFixture
	arm := t.credentials(hc, audience.Management)
	armToken, err := arm.Token(ctx)
	if err != nil {
		return f, err
	}
	c, err := client.New(t.Base, arm, client.Options{HTTPClient: hc})
	if err != nil {
		return f, err
	}
	sub, rg := t.Subscription, "bench-blob-"+suffix
	if _, _, err := c.CreateOrUpdateGroup(ctx, sub, rg, "westeurope", nil); err != nil {
		return f, err
	}
	name := "bench" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.ToLower(suffix))
	if len(name) > 24 {
		name = name[:24]
	}
	acct, err := c.CreateOrUpdateStorageAccount(ctx, sub, rg, name, "westeurope", "StorageV2", "Standard_LRS", nil)
	if err != nil {
		return f, err
	}
	ep, err := url.Parse(acct.BlobEndpoint())
	if err != nil || ep.Host == "" {
		return f, fmt.Errorf("storage account %s has no blob endpoint: %q", name, acct.BlobEndpoint())
	}
	f.Host = ep.Host
	oid, err := tokenObjectID(armToken)
	if err != nil {
		return f, err
	}
	if _, err := c.CreateRoleAssignment(ctx, acct.ID, uuid.NewString(), "/providers/Microsoft.Authorization/roleDefinitions/"+storageBlobDataContributor,
		oid, "ServicePrincipal"); err != nil {
		return f, fmt.Errorf("assign Storage Blob Data Contributor: %w", err)
	}
	if f.Token, err = t.credentials(hc, client.StorageResource).Token(ctx); err != nil {
		return f, err
	}
	f.payloads = map[int64][]byte{}
	for _, n := range BlobSizes {
		p := make([]byte, n)
		if _, err := rand.Read(p); err != nil {
			return f, err
		}
		f.payloads[n] = p
	}
	// The container and the blobs to read, on the loopback address with the
	// account's Host, as the scenarios send.
	do := func(path string, body []byte, extra http.Header) error {
		r, err := f.request(ctx, t, http.MethodPut, path, body)
		if err != nil {
			return err
		}
		for k, v := range extra {
			r.Header[k] = v
		}
		resp, err := hc.Do(r)
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("PUT %s: HTTP %d %s", path, resp.StatusCode, msg)
		}
		return nil
	}
	if err := do("/bench?restype=container", nil, nil); err != nil {
		return f, err
	}
	for _, n := range BlobSizes {
		if err := do("/bench/"+blobName("get", n), f.payloads[n], nil); err != nil {
			return f, err
		}
	}
	return f, nil
}

// request is a Blob request to the account, sent to t.Base with the
// account's Host: no name resolution of *.localhost needed.
func (f BlobFixture) request(ctx context.Context, t Target, method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, method, t.Base+path, rd)
	if err != nil {
		return nil, err
	}
	r.Host = f.Host
	r.Header.Set("Authorization", "Bearer "+f.Token)
	r.Header.Set("x-ms-version", client.APIVersionBlob)
	if method == http.MethodPut && body != nil {
		r.Header.Set("x-ms-blob-type", "BlockBlob")
		r.Header.Set("Content-Type", "application/octet-stream")
	}
	return r, nil
}

// BlobScenarios are Get Blob and Put Blob (single shot) of each of
// BlobSizes. Every PUT of a size writes the same bytes to the same name:
// the server still streams, hashes, syncs and records each one, and the
// content-addressed store keeps one copy, so a run's disk use stays flat.
func BlobScenarios(t Target, f BlobFixture) []Scenario {
	var out []Scenario
	for _, n := range BlobSizes {
		path := "/bench/" + blobName("get", n)
		out = append(out, Scenario{Name: "blob GET " + sizeName(n), Bytes: n, Disk: DiskRead,
			New: func(ctx context.Context) (*http.Request, error) { return f.request(ctx, t, http.MethodGet, path, nil) }})
	}
	for _, n := range BlobSizes {
		path, body := "/bench/"+blobName("put", n), f.payloads[n]
		out = append(out, Scenario{Name: "blob PUT " + sizeName(n), Bytes: n, Disk: DiskWrite, Want: http.StatusCreated,
			New: func(ctx context.Context) (*http.Request, error) { return f.request(ctx, t, http.MethodPut, path, body) }})
	}
	return out
}

// tokenObjectID reads the oid claim of a token this run was just issued
// (no verification needed: it came from the server over TLS).
func tokenObjectID(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("the admin's token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("the admin's token: %w", err)
	}
	var c struct {
		OID string `json:"oid"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.OID == "" {
		return "", fmt.Errorf("the admin's token has no oid claim")
	}
	return c.OID, nil
}
