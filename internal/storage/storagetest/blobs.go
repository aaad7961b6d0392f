package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// testBlobs covers storage accounts, containers, blobs and blocks: global
// account names, cascades, conditional writes, byte-ordered listing with
// prefixes and markers, and the digest references the file store's sweep
// relies on.
func testBlobs(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seed(t, s)
	seedGroup(t, s, "rg")
	seedGroup(t, s, "other")
	a := storage.StorageAccount{SubscriptionID: subID, ResourceGroup: "rg", Name: "wardacct", Location: "westeurope", Kind: "StorageV2", SKU: "Standard_LRS", CreatedAt: now, UpdatedAt: now}
	created, err := s.PutStorageAccount(ctx, a)
	must(t, err)
	if !created {
		t.Fatal("account not created")
	}
	a.Tags, a.UpdatedAt = map[string]string{"env": "dev"}, now.Add(time.Minute)
	if created, err = s.PutStorageAccount(ctx, a); err != nil || created {
		t.Fatalf("account update: created=%v err=%v", created, err)
	}
	got, err := s.GetStorageAccount(ctx, "WARDACCT")
	must(t, err)
	if got.Tags["env"] != "dev" || !got.CreatedAt.Equal(now) || got.Kind != "StorageV2" {
		t.Fatalf("account = %+v", got)
	}
	elsewhere := a
	elsewhere.ResourceGroup = "other"
	_, err = s.PutStorageAccount(ctx, elsewhere)
	wantErr(t, "account name taken in another group", err, storage.ErrAlreadyExists)
	nogroup := a
	nogroup.Name, nogroup.ResourceGroup = "wardacct2", "absent"
	_, err = s.PutStorageAccount(ctx, nogroup)
	wantErr(t, "account in a missing group", err, storage.ErrParentNotFound)
	list, next, err := s.ListStorageAccounts(ctx, subID, "rg", storage.Page{})
	must(t, err)
	if len(list) != 1 || next != "" {
		t.Fatalf("accounts = %+v next %q", list, next)
	}

	c := storage.BlobContainer{Account: "wardacct", Name: "data", ETag: `"0x1"`, CreatedAt: now, UpdatedAt: now}
	must(t, s.PutBlobContainer(ctx, c))
	wantErr(t, "container twice", s.PutBlobContainer(ctx, c), storage.ErrAlreadyExists)
	wantErr(t, "container of a missing account", s.PutBlobContainer(ctx, storage.BlobContainer{Account: "nope", Name: "x", ETag: `"1"`}), storage.ErrParentNotFound)
	must(t, s.PutBlobContainer(ctx, storage.BlobContainer{Account: "wardacct", Name: "logs", ETag: `"0x2"`, CreatedAt: now, UpdatedAt: now}))
	uc, err := s.UpdateBlobContainer(ctx, "wardacct", "data", func(old storage.BlobContainer) (storage.BlobContainer, error) {
		old.Metadata, old.ETag = map[string]string{"team": "a"}, `"0x3"`
		return old, nil
	})
	must(t, err)
	if uc.Metadata["team"] != "a" || uc.ETag != `"0x3"` {
		t.Fatalf("updated container = %+v", uc)
	}
	cs, err := s.ListBlobContainers(ctx, "wardacct", "", "", 10)
	must(t, err)
	if len(cs) != 2 || cs[0].Name != "data" || cs[1].Name != "logs" {
		t.Fatalf("containers = %+v", cs)
	}
	cs, err = s.ListBlobContainers(ctx, "wardacct", "", "data", 10)
	must(t, err)
	if len(cs) != 1 || cs[0].Name != "logs" {
		t.Fatalf("containers after data = %+v", cs)
	}
	cs, err = s.ListBlobContainers(ctx, "wardacct", "lo", "", 10)
	must(t, err)
	if len(cs) != 1 || cs[0].Name != "logs" {
		t.Fatalf("containers with prefix lo = %+v", cs)
	}

	put := func(name, digest, etag string) storage.Blob {
		t.Helper()
		b, err := s.PutBlob(ctx, storage.Blob{Account: "wardacct", Container: "data", Name: name, Size: 3, Digest: digest, ETag: etag,
			Props: storage.BlobProps{ContentType: "text/plain", ContentMD5: []byte{1, 2}}, Metadata: map[string]string{"k": "v"}, CreatedAt: now, UpdatedAt: now}, nil)
		must(t, err)
		return b
	}
	// Byte order: upper case sorts before lower case, '/' before letters.
	for _, n := range []string{"b/2", "B", "a", "b/1", "c", "b0"} {
		put(n, "d-"+n, `"e-`+n+`"`)
	}
	names := func(bs []storage.Blob) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.Name)
		}
		return out
	}
	bs, err := s.ListBlobs(ctx, "wardacct", "data", "", "", 100)
	must(t, err)
	if got, want := names(bs), []string{"B", "a", "b/1", "b/2", "b0", "c"}; !equalStrings(got, want) {
		t.Fatalf("blobs = %v, want %v", got, want)
	}
	bs, err = s.ListBlobs(ctx, "wardacct", "data", "b", "b/1", 2)
	must(t, err)
	if got, want := names(bs), []string{"b/2", "b0"}; !equalStrings(got, want) {
		t.Fatalf("blobs with prefix b after b/1 = %v, want %v", got, want)
	}
	if bs[0].Props.ContentType != "text/plain" || len(bs[0].Props.ContentMD5) != 2 || bs[0].Metadata["k"] != "v" {
		t.Fatalf("blob = %+v", bs[0])
	}

	// A conditional put sees the stored blob and may refuse.
	refused := errors.New("condition not met")
	_, err = s.PutBlob(ctx, storage.Blob{Account: "wardacct", Container: "data", Name: "a", Digest: "x", ETag: `"new"`}, func(old *storage.Blob) error {
		if old == nil || old.ETag != `"e-a"` {
			t.Errorf("check saw %+v", old)
		}
		return refused
	})
	wantErr(t, "refused put", err, refused)
	if b, err := s.GetBlob(ctx, "wardacct", "DATA", "a"); err != nil || b.Digest != "d-a" {
		t.Fatalf("blob after refused put = %+v %v", b, err)
	}
	_, err = s.GetBlob(ctx, "wardacct", "data", "A")
	wantErr(t, "blob names are case-sensitive", err, storage.ErrNotFound)
	ub, err := s.UpdateBlob(ctx, "wardacct", "data", "a", func(old storage.Blob) (storage.Blob, error) {
		old.Metadata, old.ETag, old.Digest = map[string]string{"new": "1"}, `"e2"`, "ignored"
		return old, nil
	})
	must(t, err)
	if ub.Metadata["new"] != "1" || ub.ETag != `"e2"` || ub.Digest != "d-a" {
		t.Fatalf("updated blob = %+v", ub)
	}

	// Blocks: replaced by ID, dropped when the blob is committed.
	for _, id := range []string{"AA==", "AQ==", "AA=="} {
		must(t, s.PutBlobBlock(ctx, storage.BlobBlock{Account: "wardacct", Container: "data", Blob: "big", BlockID: id, Digest: "blk-" + id, Size: 4, CreatedAt: now}))
	}
	wantErr(t, "block of a missing container", s.PutBlobBlock(ctx, storage.BlobBlock{Account: "wardacct", Container: "absent", Blob: "x", BlockID: "AA==", Digest: "q"}), storage.ErrParentNotFound)
	blocks, err := s.ListBlobBlocks(ctx, "wardacct", "data", "big")
	must(t, err)
	if len(blocks) != 2 {
		t.Fatalf("blocks = %+v", blocks)
	}
	if used, err := s.BlobDigestInUse(ctx, "blk-AA=="); err != nil || !used {
		t.Fatalf("block digest in use = %v %v", used, err)
	}
	put("big", "d-big", `"big"`)
	if blocks, _ = s.ListBlobBlocks(ctx, "wardacct", "data", "big"); len(blocks) != 0 {
		t.Fatalf("blocks after commit = %+v", blocks)
	}
	if used, err := s.BlobDigestInUse(ctx, "blk-AA=="); err != nil || used {
		t.Fatalf("committed block's digest still in use = %v %v", used, err)
	}

	wantErr(t, "refused delete", s.DeleteBlob(ctx, "wardacct", "data", "c", func(storage.Blob) error { return refused }), refused)
	must(t, s.DeleteBlob(ctx, "wardacct", "data", "c", nil))
	wantErr(t, "delete twice", s.DeleteBlob(ctx, "wardacct", "data", "c", nil), storage.ErrNotFound)
	if used, _ := s.BlobDigestInUse(ctx, "d-c"); used {
		t.Fatal("deleted blob's digest still in use")
	}

	// Deleting the container takes its blobs; the account, its containers.
	must(t, s.DeleteBlobContainer(ctx, "wardacct", "data"))
	if used, _ := s.BlobDigestInUse(ctx, "d-a"); used {
		t.Fatal("blob of a deleted container still in use")
	}
	wantErr(t, "delete container twice", s.DeleteBlobContainer(ctx, "wardacct", "data"), storage.ErrNotFound)
	must(t, s.DeleteStorageAccount(ctx, "wardacct"))
	_, err = s.GetBlobContainer(ctx, "wardacct", "logs")
	wantErr(t, "container of a deleted account", err, storage.ErrNotFound)
	wantErr(t, "delete account twice", s.DeleteStorageAccount(ctx, "wardacct"), storage.ErrNotFound)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
