package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// testBlobs covers storage accounts, containers, blobs and blocks: global
// account names, cascades, conditional writes, byte-ordered listing with
// prefixes and markers, and the digest references the file store's sweep
// relies on.
//
// The steps share one store and build on each other (the blobs live in
// the container the step before made, the cascades delete what every
// step made), so they run in order and the first that fails stops the
// rest, whose failures would only repeat it.
func testBlobs(t *testing.T, s storage.Storage) {
	seed(t, s)
	seedGroup(t, s, "rg")
	seedGroup(t, s, "other")
	for _, step := range []struct {
		name string
		fn   func(t *testing.T, s storage.Storage)
	}{
		{"Accounts", testBlobAccounts},
		{"Containers", testBlobContainers},
		{"Listing", testBlobListing},
		{"ConditionalWrites", testBlobConditionalWrites},
		{"Blocks", testBlobBlocks},
		{"Delete", testBlobDelete},
		{"Cascades", testBlobCascades},
	} {
		if !t.Run(step.name, func(t *testing.T) { step.fn(t, s) }) {
			return
		}
	}
}

// testBlobAccounts creates account "wardacct" in group rg: account names
// are global (case-insensitive), and an update keeps the creation time.
func testBlobAccounts(t *testing.T, s storage.Storage) {
	ctx := context.Background()
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

	// The echo: stored by a put, replaced in a transaction by an update
	// that keeps the name, group, location and creation time.
	a.Echo = json.RawMessage(`{"properties":{"minimumTlsVersion":"TLS1_0"}}`)
	_, err = s.PutStorageAccount(ctx, a)
	must(t, err)
	if got, err = s.GetStorageAccount(ctx, "wardacct"); err != nil || string(got.Echo) != string(a.Echo) {
		t.Fatalf("account echo = %s (err %v), want %s", got.Echo, err, a.Echo)
	}
	later := now.Add(2 * time.Minute)
	updated, err := s.UpdateStorageAccount(ctx, "WardAcct", func(old storage.StorageAccount) (storage.StorageAccount, error) {
		if string(old.Echo) != string(a.Echo) {
			t.Errorf("update read echo %s, want %s", old.Echo, a.Echo)
		}
		old.Tags, old.SKU, old.Kind, old.UpdatedAt = map[string]string{"env": "prod"}, "Standard_GRS", "BlobStorage", later
		old.Echo = json.RawMessage(`{"properties":{"minimumTlsVersion":"TLS1_1"}}`)
		old.BlobServiceEcho = json.RawMessage(`{"properties":{"isVersioningEnabled":true}}`)
		old.ResourceGroup, old.Location, old.CreatedAt = "ignored", "ignored", later
		return old, nil
	})
	must(t, err)
	if updated.Tags["env"] != "prod" || updated.SKU != "Standard_GRS" || updated.Kind != "BlobStorage" || updated.ResourceGroup != "rg" ||
		updated.Location != "westeurope" || !updated.CreatedAt.Equal(now) || !updated.UpdatedAt.Equal(later) ||
		string(updated.Echo) != `{"properties":{"minimumTlsVersion":"TLS1_1"}}` || string(updated.BlobServiceEcho) != `{"properties":{"isVersioningEnabled":true}}` {
		t.Fatalf("updated account = %+v", updated)
	}
	if got, err = s.GetStorageAccount(ctx, "wardacct"); err != nil || string(got.Echo) != string(updated.Echo) || got.SKU != "Standard_GRS" {
		t.Fatalf("account after update = %+v (err %v)", got, err)
	}
	boom := errors.New("boom")
	_, err = s.UpdateStorageAccount(ctx, "wardacct", func(storage.StorageAccount) (storage.StorageAccount, error) { return storage.StorageAccount{}, boom })
	wantErr(t, "account update fn error", err, boom)
	_, err = s.UpdateStorageAccount(ctx, "absentacct", func(old storage.StorageAccount) (storage.StorageAccount, error) { return old, nil })
	wantErr(t, "update missing account", err, storage.ErrNotFound)
	// A put of the account keeps its blob service's echo, as a PUT of an
	// account leaves its blob service properties alone.
	a.Echo = nil
	_, err = s.PutStorageAccount(ctx, a)
	must(t, err)
	if got, err = s.GetStorageAccount(ctx, "wardacct"); err != nil || len(got.Echo) != 0 || string(got.BlobServiceEcho) != `{"properties":{"isVersioningEnabled":true}}` {
		t.Fatalf("account after a put = %+v (err %v), want its blob service echo kept", got, err)
	}
}

// testBlobContainers creates containers "data" and "logs" in wardacct and
// lists them by name, after a marker and by prefix.
func testBlobContainers(t *testing.T, s storage.Storage) {
	ctx := context.Background()
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
	for _, tc := range []struct {
		prefix, marker string
		want           []string
	}{
		{"", "", []string{"data", "logs"}},
		{"", "data", []string{"logs"}},
		{"lo", "", []string{"logs"}},
	} {
		cs, err := s.ListBlobContainers(ctx, "wardacct", tc.prefix, tc.marker, 10)
		must(t, err)
		var got []string
		for _, c := range cs {
			got = append(got, c.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("containers with prefix %q after %q = %v, want %v", tc.prefix, tc.marker, got, tc.want)
		}
	}
}

// putBlob stores a blob of three bytes in wardacct/data, unconditionally.
func putBlob(t *testing.T, s storage.Storage, name, digest, etag string) storage.Blob {
	t.Helper()
	b, err := s.PutBlob(context.Background(), storage.Blob{Account: "wardacct", Container: "data", Name: name, Size: 3, Digest: digest, ETag: etag,
		Props: storage.BlobProps{ContentType: "text/plain", ContentMD5: []byte{1, 2}}, Metadata: map[string]string{"k": "v"}, CreatedAt: now, UpdatedAt: now}, nil)
	must(t, err)
	return b
}

func blobNames(bs []storage.Blob) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Name)
	}
	return out
}

// testBlobListing puts blobs a, B, b/1, b/2, b0 and c (digest "d-"+name,
// ETag "e-"+name) and lists them in byte order: upper case sorts before
// lower case, '/' before letters, as Azure's listing does.
func testBlobListing(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	for _, n := range []string{"b/2", "B", "a", "b/1", "c", "b0"} {
		putBlob(t, s, n, "d-"+n, `"e-`+n+`"`)
	}
	bs, err := s.ListBlobs(ctx, "wardacct", "data", "", "", 100)
	must(t, err)
	if got, want := blobNames(bs), []string{"B", "a", "b/1", "b/2", "b0", "c"}; !slices.Equal(got, want) {
		t.Fatalf("blobs = %v, want %v", got, want)
	}
	bs, err = s.ListBlobs(ctx, "wardacct", "data", "b", "b/1", 2)
	must(t, err)
	if got, want := blobNames(bs), []string{"b/2", "b0"}; !slices.Equal(got, want) {
		t.Fatalf("blobs with prefix b after b/1 = %v, want %v", got, want)
	}
	if bs[0].Props.ContentType != "text/plain" || len(bs[0].Props.ContentMD5) != 2 || bs[0].Metadata["k"] != "v" {
		t.Fatalf("blob = %+v", bs[0])
	}
}

// testBlobConditionalWrites: a conditional put sees the stored blob and
// may refuse; an update changes properties but never the content digest.
func testBlobConditionalWrites(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	refused := errors.New("condition not met")
	_, err := s.PutBlob(ctx, storage.Blob{Account: "wardacct", Container: "data", Name: "a", Digest: "x", ETag: `"new"`}, func(old *storage.Blob) error {
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
}

// testBlobBlocks: blocks are replaced by ID, hold their digest in use
// until the blob is committed, and are dropped then.
func testBlobBlocks(t *testing.T, s storage.Storage) {
	ctx := context.Background()
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
	putBlob(t, s, "big", "d-big", `"big"`)
	if blocks, _ = s.ListBlobBlocks(ctx, "wardacct", "data", "big"); len(blocks) != 0 {
		t.Fatalf("blocks after commit = %+v", blocks)
	}
	if used, err := s.BlobDigestInUse(ctx, "blk-AA=="); err != nil || used {
		t.Fatalf("committed block's digest still in use = %v %v", used, err)
	}
}

// testBlobDelete: a conditional delete may refuse; a deleted blob's
// digest is no longer in use, so the file store may sweep its content.
func testBlobDelete(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	refused := errors.New("condition not met")
	wantErr(t, "refused delete", s.DeleteBlob(ctx, "wardacct", "data", "c", func(storage.Blob) error { return refused }), refused)
	must(t, s.DeleteBlob(ctx, "wardacct", "data", "c", nil))
	wantErr(t, "delete twice", s.DeleteBlob(ctx, "wardacct", "data", "c", nil), storage.ErrNotFound)
	if used, _ := s.BlobDigestInUse(ctx, "d-c"); used {
		t.Fatal("deleted blob's digest still in use")
	}
}

// testBlobCascades: deleting the container takes its blobs; the account,
// its containers.
func testBlobCascades(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	must(t, s.DeleteBlobContainer(ctx, "wardacct", "data"))
	if used, _ := s.BlobDigestInUse(ctx, "d-a"); used {
		t.Fatal("blob of a deleted container still in use")
	}
	wantErr(t, "delete container twice", s.DeleteBlobContainer(ctx, "wardacct", "data"), storage.ErrNotFound)
	must(t, s.DeleteStorageAccount(ctx, "wardacct"))
	_, err := s.GetBlobContainer(ctx, "wardacct", "logs")
	wantErr(t, "container of a deleted account", err, storage.ErrNotFound)
	wantErr(t, "delete account twice", s.DeleteStorageAccount(ctx, "wardacct"), storage.ErrNotFound)

	// The group's delete takes its accounts and their containers: the
	// ARM GET of an account or container reads it first and its group
	// only on a miss, so one must never outlive its group.
	_, err = s.PutStorageAccount(ctx, storage.StorageAccount{SubscriptionID: subID, ResourceGroup: "other", Name: "otheracct", Location: "westeurope", Kind: "StorageV2", SKU: "Standard_LRS", CreatedAt: now, UpdatedAt: now})
	must(t, err)
	must(t, s.PutBlobContainer(ctx, storage.BlobContainer{Account: "otheracct", Name: "data", ETag: `"0x1"`, CreatedAt: now, UpdatedAt: now}))
	must(t, s.DeleteResourceGroup(ctx, subID, "OTHER"))
	_, err = s.GetStorageAccount(ctx, "otheracct")
	wantErr(t, "account of a deleted group", err, storage.ErrNotFound)
	_, err = s.GetBlobContainer(ctx, "otheracct", "data")
	wantErr(t, "container of a deleted group", err, storage.ErrNotFound)
}
