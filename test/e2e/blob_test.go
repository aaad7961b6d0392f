package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/ward-id/ward/internal/rbac"
)

// blobAccount creates a resource group and a storage account through ARM
// and returns the account's ARM ID and blob endpoint.
func blobAccount(t *testing.T, w *ward, rg, name string) (id, endpoint string) {
	t.Helper()
	if st, b, _ := w.request("PUT", "/subscriptions/"+w.admin.SubscriptionID+"/resourceGroups/"+rg+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 && st != 200 {
		t.Fatalf("group: %d %v", st, b)
	}
	id = "/subscriptions/" + w.admin.SubscriptionID + "/resourceGroups/" + rg + "/providers/Microsoft.Storage/storageAccounts/" + name
	// 200 on create, as Azure: az and go-azure-sdk take only 200 or 202.
	st, b, _ := w.request("PUT", id+"?api-version=2023-05-01", `{"location":"westeurope","kind":"StorageV2","sku":{"name":"Standard_LRS"}}`)
	if st != 200 {
		t.Fatalf("create account: %d %v", st, b)
	}
	props := b["properties"].(map[string]any)
	endpoint = props["primaryEndpoints"].(map[string]any)["blob"].(string)
	if props["allowSharedKeyAccess"] != false {
		t.Errorf("allowSharedKeyAccess = %v, want false", props["allowSharedKeyAccess"])
	}
	return id, endpoint
}

func (w *ward) blobClient(t *testing.T, endpoint string, p principal) *azblob.Client {
	t.Helper()
	hc := w.hostsClient()
	cred, err := azidentity.NewClientSecretCredential(w.admin.TenantID, p.AppID, p.Secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: hc}, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClient(endpoint, cred, &azblob.ClientOptions{ClientOptions: policy.ClientOptions{Transport: hc}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBlobStorageWithGoSDK drives the Blob data plane with the Go SDK's
// azblob, unmodified, against `ward serve`: a storage account made through
// ARM, uploads large enough to use Put Block + Put Block List, ranged
// downloads, paged and hierarchical lists, metadata, conditional requests
// and deletes; then the refusals Azure gives: no role, a Reader writing,
// the account's control-plane Contributor (and Owner) reading data, and a
// role at another container.
func TestBlobStorageWithGoSDK(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	ctx := context.Background()
	acctID, endpoint := blobAccount(t, w, "blobs", "wardblobs")
	_, port, _ := net.SplitHostPort(w.addr)
	if endpoint != "https://wardblobs.blob.localhost:"+port+"/" {
		t.Fatalf("blob endpoint = %q", endpoint)
	}
	if st, b, _ := w.request("POST", "/subscriptions/"+w.admin.SubscriptionID+"/providers/Microsoft.Storage/checkNameAvailability?api-version=2023-05-01",
		`{"name":"wardblobs","type":"Microsoft.Storage/storageAccounts"}`); st != 200 || b["nameAvailable"] != false || b["reason"] != "AlreadyExists" {
		t.Fatalf("checkNameAvailability: %d %v", st, b)
	}
	if resp, err := w.http.Get(w.base + "/metadata/endpoints?api-version=2022-09-01"); err != nil {
		t.Fatal(err)
	} else {
		// 2022-09-01 is one object (go-azure-sdk decodes one).
		var md struct {
			Suffixes map[string]string `json:"suffixes"`
		}
		err := json.NewDecoder(resp.Body).Decode(&md)
		resp.Body.Close()
		if err != nil || md.Suffixes["storage"] != "localhost:"+port {
			t.Fatalf("metadata storage suffix: %v %+v", err, md)
		}
	}
	writer := w.newPrincipal(t, "blob-writer")
	reader := w.newPrincipal(t, "blob-reader")
	nobody := w.newPrincipal(t, "blob-nobody")
	manager := w.newPrincipal(t, "blob-manager")
	scoped := w.newPrincipal(t, "blob-scoped")
	w.assign(t, writer.ObjectID, acctID, rbac.StorageBlobDataContributorID)
	w.assign(t, reader.ObjectID, acctID, rbac.StorageBlobDataReaderID)
	w.assign(t, manager.ObjectID, acctID, rbac.ContributorID)
	w.assign(t, scoped.ObjectID, acctID+"/blobServices/default/containers/other", rbac.StorageBlobDataOwnerID)

	wc := w.blobClient(t, endpoint, writer)
	if _, err := wc.CreateContainer(ctx, "data", &azblob.CreateContainerOptions{Metadata: map[string]*string{"team": to.Ptr("a")}}); err != nil {
		t.Fatalf("create container: %v", err)
	}
	if _, err := wc.CreateContainer(ctx, "data", nil); !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Fatalf("create twice: %v", err)
	}
	if _, err := wc.CreateContainer(ctx, "other", nil); err != nil {
		t.Fatal(err)
	}

	// 5 MiB in 1 MiB blocks: Put Block ×5 + Put Block List.
	big := make([]byte, 5<<20+123)
	rand.Read(big)
	if _, err := wc.UploadBuffer(ctx, "data", "dir/big.bin", big, &azblob.UploadBufferOptions{BlockSize: 1 << 20, Concurrency: 3,
		Metadata: map[string]*string{"kind": to.Ptr("random")}, HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-test")}}); err != nil {
		t.Fatalf("upload in blocks: %v", err)
	}
	// Single shot, through UploadStream's small path and UploadBuffer.
	for _, name := range []string{"a.txt", "b.txt", "dir/c.txt", "dir/sub/d.txt", "e.txt"} {
		if _, err := wc.UploadBuffer(ctx, "data", name, []byte("hello "+name), nil); err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
	}
	got, err := wc.DownloadStream(ctx, "data", "dir/big.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(got.Body)
	if !bytes.Equal(all, big) || got.ContentType == nil || *got.ContentType != "application/x-test" || got.ETag == nil {
		t.Fatalf("download: %d bytes (want %d), type %v", len(all), len(big), got.ContentType)
	}
	rng, err := wc.DownloadStream(ctx, "data", "dir/big.bin", &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: 3 << 20, Count: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rng.Body)
	if !bytes.Equal(part, big[3<<20:3<<20+1000]) || rng.ContentRange == nil || *rng.ContentRange != "bytes 3145728-3146727/5243003" {
		t.Fatalf("range: %d bytes, Content-Range %v", len(part), rng.ContentRange)
	}
	// DownloadBuffer reads in parallel ranges.
	buf := make([]byte, len(big))
	if n, err := wc.DownloadBuffer(ctx, "data", "dir/big.bin", buf, &azblob.DownloadBufferOptions{BlockSize: 1 << 20, Concurrency: 4}); err != nil || n != int64(len(big)) || !bytes.Equal(buf, big) {
		t.Fatalf("download buffer: %d %v", n, err)
	}

	// Properties, metadata, conditional requests.
	bc := wc.ServiceClient().NewContainerClient("data").NewBlobClient("dir/big.bin")
	props, err := bc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *props.ContentLength != int64(len(big)) || props.Metadata == nil || lower(props.Metadata)["kind"] != "random" {
		t.Fatalf("properties: %d %v", *props.ContentLength, props.Metadata)
	}
	if _, err := bc.SetMetadata(ctx, map[string]*string{"stage": to.Ptr("two")}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = bc.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: props.ETag}}})
	if !bloberror.HasCode(err, bloberror.ConditionNotMet) {
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusPreconditionFailed {
			t.Fatalf("stale If-Match: %v", err)
		}
	}
	_, err = wc.UploadBuffer(ctx, "data", "a.txt", []byte("again"), &azblob.UploadBufferOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}})
	if !bloberror.HasCode(err, bloberror.BlobAlreadyExists) {
		t.Fatalf("If-None-Match * on an existing blob: %v", err)
	}

	// A flat list in pages of two, with metadata.
	var names []string
	pager := wc.NewListBlobsFlatPager("data", &azblob.ListBlobsFlatOptions{MaxResults: to.Ptr(int32(2)), Include: container.ListBlobsInclude{Metadata: true}})
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range page.Segment.BlobItems {
			names = append(names, *it.Name)
			if *it.Name == "dir/big.bin" && (*it.Properties.ContentLength != int64(len(big)) || lower(it.Metadata)["stage"] != "two") {
				t.Errorf("listed big.bin: %d %v", *it.Properties.ContentLength, it.Metadata)
			}
		}
	}
	if want := []string{"a.txt", "b.txt", "dir/big.bin", "dir/c.txt", "dir/sub/d.txt", "e.txt"}; strings.Join(names, ",") != strings.Join(want, ",") || pages != 3 {
		t.Fatalf("flat list in %d pages = %v, want %v", pages, names, want)
	}
	// A hierarchical list under dir/.
	cc := wc.ServiceClient().NewContainerClient("data")
	h := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: to.Ptr("dir/")})
	var items, prefixes []string
	for h.More() {
		page, err := h.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			items = append(items, *it.Name)
		}
		for _, p := range page.Segment.BlobPrefixes {
			prefixes = append(prefixes, *p.Name)
		}
	}
	if strings.Join(items, ",") != "dir/big.bin,dir/c.txt" || strings.Join(prefixes, ",") != "dir/sub/" {
		t.Fatalf("hierarchy: items %v prefixes %v", items, prefixes)
	}
	var containers []string
	cp := wc.NewListContainersPager(&azblob.ListContainersOptions{Include: azblob.ListContainersInclude{Metadata: true}})
	for cp.More() {
		page, err := cp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.ContainerItems {
			containers = append(containers, *c.Name)
		}
	}
	sort.Strings(containers)
	if strings.Join(containers, ",") != "data,other" {
		t.Fatalf("containers = %v", containers)
	}

	// Deletes and the not-found codes.
	if _, err := wc.DeleteBlob(ctx, "data", "e.txt", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := wc.DeleteBlob(ctx, "data", "e.txt", nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := wc.DownloadStream(ctx, "nope", "x", nil); !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Fatalf("missing container: %v", err)
	}

	// Refusals.
	denied := func(what string, err error) {
		t.Helper()
		if !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
			t.Errorf("%s: got %v, want 403 AuthorizationPermissionMismatch", what, err)
		}
	}
	rc := w.blobClient(t, endpoint, reader)
	if r, err := rc.DownloadStream(ctx, "data", "a.txt", nil); err != nil {
		t.Errorf("reader download: %v", err)
	} else {
		r.Body.Close()
	}
	_, err = rc.UploadBuffer(ctx, "data", "reader.txt", []byte("x"), nil)
	denied("reader uploads", err)
	_, err = rc.DeleteBlob(ctx, "data", "a.txt", nil)
	denied("reader deletes", err)
	_, err = w.blobClient(t, endpoint, nobody).DownloadStream(ctx, "data", "a.txt", nil)
	denied("no role downloads", err)
	_, err = w.blobClient(t, endpoint, manager).DownloadStream(ctx, "data", "a.txt", nil)
	denied("the account's Contributor downloads", err)
	_, err = w.blobClient(t, endpoint, principal{AppID: w.admin.ClientID, Secret: w.admin.ClientSecret}).DownloadStream(ctx, "data", "a.txt", nil)
	denied("Owner at / downloads", err)
	sc := w.blobClient(t, endpoint, scoped)
	if _, err := sc.UploadBuffer(ctx, "other", "mine.txt", []byte("ok"), nil); err != nil {
		t.Errorf("owner of container other uploads there: %v", err)
	}
	_, err = sc.DownloadStream(ctx, "data", "a.txt", nil)
	denied("a role at container other reads container data", err)

	// Without a token: the challenge the SDKs follow; a shared key: refused.
	hc := w.hostsClient()
	req, _ := http.NewRequest("GET", endpoint+"data/a.txt", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || resp.Header.Get("x-ms-error-code") != "NoAuthenticationInformation" ||
		ch != "Bearer authorization_uri="+w.base+"/"+w.admin.TenantID+"/oauth2/authorize resource_id=https://storage.azure.com" {
		t.Fatalf("anonymous: %d %q %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), ch)
	}
	req, _ = http.NewRequest("GET", endpoint+"data/a.txt", nil)
	req.Header.Set("Authorization", "SharedKey wardblobs:c2lnbmF0dXJl")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>KeyBasedAuthenticationNotPermitted</Code>") {
		t.Fatalf("shared key: %d %s", resp.StatusCode, body)
	}

	// Containers through ARM, and the account's deletion.
	if st, b, _ := w.request("GET", acctID+"/blobServices/default/containers?api-version=2023-05-01", ""); st != 200 || len(b["value"].([]any)) != 2 {
		t.Fatalf("ARM containers: %d %v", st, b)
	}
	if _, err := wc.DeleteContainer(ctx, "other", nil); err != nil {
		t.Fatal(err)
	}
	if st, b, _ := w.request("DELETE", acctID+"?api-version=2023-05-01", ""); st != 200 {
		t.Fatalf("delete account: %d %v", st, b)
	}
	_, err = wc.DownloadStream(ctx, "data", "a.txt", nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 404 {
		t.Fatalf("after the account's deletion: %v", err)
	}
}

// lower keys metadata by lower-case name: HTTP/2 carries header names in
// lower case, so the service cannot keep their case.
func lower(md map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range md {
		if v != nil {
			out[strings.ToLower(k)] = *v
		}
	}
	return out
}
