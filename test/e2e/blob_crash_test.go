package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/ward-id/ward/internal/rbac"
)

// TestBlobUploadsSurviveKill9: uploads run (single-shot and in blocks)
// while the server is killed with SIGKILL; after a restart on the same data
// directory every acknowledged blob reads back whole, and every blob that
// is listed at all holds exactly the bytes its name's hash says: no half
// blob is visible.
func TestBlobUploadsSurviveKill9(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "kills and restarts the server")
	dir := filepath.Join(t.TempDir(), "ward-data")
	w := startWard(t, dir)
	ctx := context.Background()
	acctID, endpoint := blobAccount(t, w, "crash", "crashblobs")
	writer := w.newPrincipal(t, "crash-writer")
	w.assign(t, writer.ObjectID, acctID, rbac.StorageBlobDataContributorID)
	wc := w.blobClient(t, endpoint, writer)
	if _, err := wc.CreateContainer(ctx, "crash", nil); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				size := 64<<10 + i*4096
				opts := &azblob.UploadBufferOptions{}
				if g%2 == 1 {
					size, opts.BlockSize = 600<<10, 256<<10 // three blocks and a list
				}
				data := make([]byte, size)
				rand.Read(data)
				sum := sha256.Sum256(data)
				name := hex.EncodeToString(sum[:])
				if _, err := wc.UploadBuffer(ctx, "crash", name, data, opts); err != nil {
					return // the server went away
				}
				mu.Lock()
				acked[name] = true
				mu.Unlock()
			}
		}(g)
	}
	time.Sleep(1500 * time.Millisecond)
	w.kill9()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no upload was acknowledged before the kill")
	}

	w2 := startWard(t, dir)
	endpoint2 := strings.Replace(endpoint, w.addr[strings.LastIndex(w.addr, ":"):], w2.addr[strings.LastIndex(w2.addr, ":"):], 1)
	wc2 := w2.blobClient(t, endpoint2, writer)
	read := func(name string) string {
		r, err := wc2.DownloadStream(ctx, "crash", name, nil)
		if err != nil {
			t.Errorf("read %s: %v", name, err)
			return ""
		}
		defer r.Body.Close()
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil {
			t.Errorf("read %s: %v", name, err)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	listed := map[string]bool{}
	pager := wc2.NewListBlobsFlatPager("crash", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			listed[*it.Name] = true
			if got := read(*it.Name); got != *it.Name {
				t.Errorf("listed blob %s holds bytes hashing to %s: a half blob is visible", *it.Name, got)
			}
		}
	}
	for name := range acked {
		if !listed[name] {
			t.Errorf("acknowledged blob %s is gone after kill -9", name)
		}
	}
	t.Logf("%d uploads acknowledged before kill -9, %d blobs listed after restart", len(acked), len(listed))
}

// TestBlobSizeCap: --blob-max-put-size caps a single upload with the
// service's 413 RequestBodyTooLarge; below it the upload succeeds.
func TestBlobSizeCap(t *testing.T) {
	t.Parallel()
	w := startWard(t, "", "--blob-max-put-size", "64Ki")
	ctx := context.Background()
	acctID, endpoint := blobAccount(t, w, "capped", "cappedblobs")
	writer := w.newPrincipal(t, "cap-writer")
	w.assign(t, writer.ObjectID, acctID, rbac.StorageBlobDataContributorID)
	wc := w.blobClient(t, endpoint, writer)
	if _, err := wc.CreateContainer(ctx, "cap", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := wc.UploadBuffer(ctx, "cap", "small", make([]byte, 64<<10), nil); err != nil {
		t.Fatalf("at the cap: %v", err)
	}
	_, err := wc.UploadBuffer(ctx, "cap", "big", make([]byte, 64<<10+1), nil)
	if !bloberror.HasCode(err, bloberror.RequestBodyTooLarge) {
		t.Fatalf("over the cap: %v", err)
	}
}
