package storage

import (
	"context"
	"encoding/json"
	"time"
)

// StorageAccount is a Microsoft.Storage/storageAccounts resource. Names are
// global, as the blob host names <account>.blob.<suffix> are.
type StorageAccount struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
	Location       string
	Tags           map[string]string
	Kind           string // StorageV2
	SKU            string // Standard_LRS
	// Echo is the rest of the JSON the account's PUT sent, merged with
	// later PATCHes (a JSON object, or empty), answered back where Ward's
	// answer has no value of its own.
	Echo json.RawMessage
	// BlobServiceEcho is the JSON the account's blobServices/default PUTs
	// declared, merged (a JSON object, or empty); set only by
	// UpdateStorageAccount, kept by PutStorageAccount.
	BlobServiceEcho json.RawMessage
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// BlobContainer is a container of a storage account.
type BlobContainer struct {
	Account   string
	Name      string
	Metadata  map[string]string
	ETag      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// BlobProps are a blob's standard HTTP properties, set on upload and by Set
// Blob Properties.
type BlobProps struct {
	ContentType        string
	ContentEncoding    string
	ContentLanguage    string
	ContentDisposition string
	CacheControl       string
	ContentMD5         []byte // as the client sent it or as computed on a single-shot upload
}

// Blob is a committed block blob. Its bytes live in the blob package's
// content-addressed file store under Digest; the database only says which
// blobs exist, so every replica agrees.
type Blob struct {
	Account   string
	Container string
	Name      string // case-sensitive
	Size      int64
	Digest    string // hex SHA-256 of the content: the file's name in the store
	Props     BlobProps
	Metadata  map[string]string
	ETag      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// BlobBlock is an uncommitted block of a blob (Put Block), until Put Block
// List commits the blob and drops its blocks.
type BlobBlock struct {
	Account   string
	Container string
	Blob      string
	BlockID   string // base64, as the client sent it
	Digest    string
	Size      int64
	CreatedAt time.Time
}

// BlobStore holds storage accounts, containers, blobs and uncommitted
// blocks. Keys are case-insensitive for accounts and containers (their
// names are lower case on the wire) and exact for blob names.
type BlobStore interface {
	// PutStorageAccount creates or updates an account (tags, SKU, kind);
	// ErrAlreadyExists when the name is taken in another group,
	// ErrParentNotFound when the group does not exist.
	PutStorageAccount(ctx context.Context, a StorageAccount) (created bool, err error)
	GetStorageAccount(ctx context.Context, name string) (StorageAccount, error)
	// UpdateStorageAccount applies fn to the stored account inside a
	// transaction and stores its tags, kind, SKU and echoes (the name, group,
	// location and creation time stay); ErrNotFound when absent.
	UpdateStorageAccount(ctx context.Context, name string, fn func(old StorageAccount) (StorageAccount, error)) (StorageAccount, error)
	// ListStorageAccounts lists one page of a group's accounts, or a
	// subscription's when rg is "".
	ListStorageAccounts(ctx context.Context, sub, rg string, p Page) (items []StorageAccount, next string, err error)
	// DeleteStorageAccount deletes an account with its containers, blobs and
	// blocks.
	DeleteStorageAccount(ctx context.Context, name string) error

	// PutBlobContainer creates a container; ErrAlreadyExists when it
	// exists, ErrParentNotFound when the account does not.
	PutBlobContainer(ctx context.Context, c BlobContainer) error
	// UpdateBlobContainer applies fn to a stored container in a transaction
	// (metadata, ETag, update time are written).
	UpdateBlobContainer(ctx context.Context, account, name string, fn func(old BlobContainer) (BlobContainer, error)) (BlobContainer, error)
	GetBlobContainer(ctx context.Context, account, name string) (BlobContainer, error)
	// ListBlobContainers lists up to limit containers whose names start
	// with prefix and sort after after, by name.
	ListBlobContainers(ctx context.Context, account, prefix, after string, limit int) ([]BlobContainer, error)
	// DeleteBlobContainer deletes a container with its blobs and blocks.
	DeleteBlobContainer(ctx context.Context, account, name string) error

	// PutBlob creates or replaces a blob and drops its uncommitted blocks,
	// in one transaction. check gets the stored blob (nil when there is
	// none) and may refuse the write (a failed If-Match); it may run more
	// than once. ErrParentNotFound when the container does not exist.
	PutBlob(ctx context.Context, b Blob, check func(old *Blob) error) (Blob, error)
	// UpdateBlob applies fn to a stored blob in a transaction (properties,
	// metadata, ETag, update time are written; the content stays).
	UpdateBlob(ctx context.Context, account, container, name string, fn func(old Blob) (Blob, error)) (Blob, error)
	GetBlob(ctx context.Context, account, container, name string) (Blob, error)
	// ListBlobs lists up to limit blobs whose names start with prefix and
	// sort after after, by name in byte order.
	ListBlobs(ctx context.Context, account, container, prefix, after string, limit int) ([]Blob, error)
	// DeleteBlob deletes a blob and its uncommitted blocks; check gets the
	// stored blob and may refuse.
	DeleteBlob(ctx context.Context, account, container, name string, check func(old Blob) error) error
	// PutBlobBlock stores an uncommitted block, replacing one of the same
	// ID; ErrParentNotFound when the container does not exist.
	PutBlobBlock(ctx context.Context, b BlobBlock) error
	// ListBlobBlocks lists a blob's uncommitted blocks.
	ListBlobBlocks(ctx context.Context, account, container, blob string) ([]BlobBlock, error)
	// BlobDigestInUse reports whether any blob or block refers to digest:
	// a file nothing refers to may be removed from the file store.
	BlobDigestInUse(ctx context.Context, digest string) (bool, error)
}
