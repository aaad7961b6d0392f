// Package blob is Ward's Azure Blob Storage–compatible data plane:
// Microsoft.Storage/storageAccounts (an ARM resource, served by package
// arm through Service) and the Blob REST API on the account's own host,
// <account>.blob.<suffix>, protected by Ward's bearer tokens and the
// Storage Blob Data roles' dataActions as Azure Storage is with shared keys
// turned off. Bytes live in a content-addressed file store under the data
// directory (Files); what exists (accounts, containers, blobs, blocks) is
// in the database, so replicas sharing a database and a volume agree.
package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/datahost"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
)

// Hosts derives the blob host names from Ward's public URL: loopback
// deployments use <account>.blob.localhost, others <account>.blob.<host>;
// the port is kept.
type Hosts struct {
	Suffix string // e.g. blob.localhost:8443
}

// NewHosts builds Hosts for a public URL.
func NewHosts(publicURL string) Hosts {
	return Hosts{Suffix: datahost.Suffix(publicURL, "blob")}
}

// StorageSuffix is the cloud's storage endpoint suffix (az and the SDKs
// build https://<account>.blob.<suffix>): the blob suffix without "blob.".
func (h Hosts) StorageSuffix() string { return strings.TrimPrefix(h.Suffix, "blob.") }

// URL is an account's primary blob endpoint.
func (h Hosts) URL(account string) string {
	return "https://" + strings.ToLower(account) + "." + h.Suffix + "/"
}

// AccountFromHost returns the account a request host addresses.
func (h Hosts) AccountFromHost(host string) (string, bool) {
	return datahost.Name(host, h.Suffix)
}

// Config configures a Service. Zero values are usable.
type Config struct {
	Store storage.Storage
	Files *Files
	Hosts Hosts
	Now   func() time.Time
	// MaxPutBytes caps a single-shot Put Blob (default 256 MiB, the SDKs'
	// single-upload limit); MaxBlockBytes one Put Block (default 100 MiB);
	// MaxBlobBytes a committed blob (default 16 GiB).
	MaxPutBytes, MaxBlockBytes, MaxBlobBytes int64
	// MaxBlocks caps a blob's uncommitted blocks and a block list (default
	// 50,000, as Azure).
	MaxBlocks int
}

// Service holds storage accounts, containers and blobs.
type Service struct {
	cfg   Config
	store storage.Storage
	files *Files
	now   func() time.Time
	Hosts Hosts
}

// Default caps.
const (
	DefaultMaxPutBytes   = 256 << 20
	DefaultMaxBlockBytes = 100 << 20
	DefaultMaxBlobBytes  = 16 << 30
	DefaultMaxBlocks     = 50_000
)

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxPutBytes <= 0 {
		cfg.MaxPutBytes = DefaultMaxPutBytes
	}
	if cfg.MaxBlockBytes <= 0 {
		cfg.MaxBlockBytes = DefaultMaxBlockBytes
	}
	if cfg.MaxBlobBytes <= 0 {
		cfg.MaxBlobBytes = DefaultMaxBlobBytes
	}
	if cfg.MaxBlocks <= 0 {
		cfg.MaxBlocks = DefaultMaxBlocks
	}
	return &Service{cfg: cfg, store: cfg.Store, files: cfg.Files, now: cfg.Now, Hosts: cfg.Hosts}
}

// MaxPutBytes is the largest body of a single request (Put Blob or Put
// Block): the route's body cap.
func (s *Service) MaxPutBytes() int64 { return max(s.cfg.MaxPutBytes, s.cfg.MaxBlockBytes) }

var (
	accountNameRE   = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	containerNameRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)
)

// ResourceID is the ARM ID of an account.
func ResourceID(a storage.StorageAccount) string {
	return resourceid.ResourceID(a.SubscriptionID, a.ResourceGroup, resourceid.TypeStorageAccount, a.Name)
}

// ContainerID is the ARM ID of a container, the scope of its blobs' roles.
func ContainerID(a storage.StorageAccount, container string) string {
	return ResourceID(a) + "/blobServices/default/containers/" + container
}

// AccountSpec is what an ARM PUT or PATCH sets.
type AccountSpec struct {
	Location, Kind, SKU string
	Tags                map[string]string
	// AllowSharedKeyAccess is refused when true: Ward serves identities.
	AllowSharedKeyAccess *bool
	// Echo, when set, is what to store as the account's echo (the JSON the
	// user declared, storage.StorageAccount.Echo) given the stored one (nil
	// on create); PatchAccount runs it inside the update's transaction, so
	// a PATCH merges into what is stored. Nil keeps the stored echo.
	Echo func(old json.RawMessage) json.RawMessage
}

// echo is what spec stores as the echo of an account that has old.
func (spec AccountSpec) echo(old json.RawMessage) json.RawMessage {
	if spec.Echo == nil {
		return old
	}
	return spec.Echo(old)
}

func refuseSharedKey(spec AccountSpec) error {
	if spec.AllowSharedKeyAccess != nil && *spec.AllowSharedKeyAccess {
		return armerr.BadRequest("InvalidValuesForRequestParameters",
			"Ward's storage accounts accept Microsoft Entra tokens only: allowSharedKeyAccess must be false or absent.")
	}
	return nil
}

// NameAvailable answers checkNameAvailability.
func (s *Service) NameAvailable(ctx context.Context, name string) (ok bool, reason, message string, err error) {
	if !accountNameRE.MatchString(name) {
		return false, "AccountNameInvalid", fmt.Sprintf("%s is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.", name), nil
	}
	_, err = s.store.GetStorageAccount(ctx, name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return true, "", "", nil
	case err != nil:
		return false, "", "", err
	}
	return false, "AlreadyExists", fmt.Sprintf("The storage account named %s is already taken.", name), nil
}

// PutAccount creates or updates a storage account (ARM).
func (s *Service) PutAccount(ctx context.Context, sub, rg, name string, spec AccountSpec) (storage.StorageAccount, bool, error) {
	if !accountNameRE.MatchString(name) {
		return storage.StorageAccount{}, false, armerr.BadRequest("AccountNameInvalid", "%s is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.", name)
	}
	if err := refuseSharedKey(spec); err != nil {
		return storage.StorageAccount{}, false, err
	}
	old, err := s.store.GetStorageAccount(ctx, name)
	exists := err == nil && strings.EqualFold(old.SubscriptionID, sub) && strings.EqualFold(old.ResourceGroup, rg)
	loc := resources.NormalizeLocation(spec.Location)
	if loc == "" && exists {
		loc = old.Location
	}
	if loc == "" {
		return storage.StorageAccount{}, false, armerr.BadRequest(armerr.CodeLocationRequired, "The location property is required for this definition.")
	}
	if exists && loc != old.Location {
		return storage.StorageAccount{}, false, armerr.Conflict("StorageAccountAlreadyExists", "The storage account %s already exists in location %s; its location cannot change.", name, old.Location)
	}
	now := s.now().UTC()
	a := storage.StorageAccount{SubscriptionID: sub, ResourceGroup: rg, Name: strings.ToLower(name), Location: loc, Tags: spec.Tags,
		Kind: spec.Kind, SKU: spec.SKU, CreatedAt: now, UpdatedAt: now}
	if exists {
		a.Echo = spec.echo(old.Echo)
	} else {
		a.Echo = spec.echo(nil)
	}
	if a.Kind == "" {
		a.Kind = "StorageV2"
	}
	if a.SKU == "" {
		a.SKU = "Standard_LRS"
	}
	created, err := s.store.PutStorageAccount(ctx, a)
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return a, false, armerr.Conflict("StorageAccountAlreadyTaken", "The storage account named %s is already taken.", name)
	case errors.Is(err, storage.ErrParentNotFound):
		return a, false, armerr.NotFound(armerr.CodeResourceGroupNotFound, "Resource group '%s' could not be found.", rg)
	case err != nil:
		return a, false, err
	}
	got, err := s.store.GetStorageAccount(ctx, name)
	return got, created, err
}

// Account reads an account in a group (ARM).
func (s *Service) Account(ctx context.Context, sub, rg, name string) (storage.StorageAccount, error) {
	a, err := s.store.GetStorageAccount(ctx, name)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (!strings.EqualFold(a.ResourceGroup, rg) || !strings.EqualFold(a.SubscriptionID, sub))) {
		return a, armerr.NotFound(armerr.CodeResourceNotFound, "The Resource 'Microsoft.Storage/storageAccounts/%s' under resource group '%s' was not found.", name, rg)
	}
	return a, err
}

// PatchAccount updates an account in one transaction (ARM PATCH): tags
// when given, the SKU when given, and the echo as spec.Echo makes it; the
// location and kind stay.
func (s *Service) PatchAccount(ctx context.Context, sub, rg, name string, spec AccountSpec) (storage.StorageAccount, error) {
	if err := refuseSharedKey(spec); err != nil {
		return storage.StorageAccount{}, err
	}
	if _, err := s.Account(ctx, sub, rg, name); err != nil {
		return storage.StorageAccount{}, err
	}
	a, err := s.store.UpdateStorageAccount(ctx, name, func(old storage.StorageAccount) (storage.StorageAccount, error) {
		if !strings.EqualFold(old.SubscriptionID, sub) || !strings.EqualFold(old.ResourceGroup, rg) {
			// Deleted and made again elsewhere since the read above.
			return old, storage.ErrNotFound
		}
		if spec.Tags != nil {
			old.Tags = spec.Tags
		}
		if spec.SKU != "" {
			old.SKU = spec.SKU
		}
		old.Echo = spec.echo(old.Echo)
		old.UpdatedAt = s.now().UTC()
		return old, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return a, armerr.NotFound(armerr.CodeResourceNotFound, "The Resource 'Microsoft.Storage/storageAccounts/%s' under resource group '%s' was not found.", name, rg)
	}
	return a, err
}

// SetBlobServiceEcho stores what a PUT of the account's blobServices/default
// declared, as echo makes it from what is stored, in one transaction.
func (s *Service) SetBlobServiceEcho(ctx context.Context, sub, rg, name string, echo func(old json.RawMessage) json.RawMessage) (storage.StorageAccount, error) {
	if _, err := s.Account(ctx, sub, rg, name); err != nil {
		return storage.StorageAccount{}, err
	}
	a, err := s.store.UpdateStorageAccount(ctx, name, func(old storage.StorageAccount) (storage.StorageAccount, error) {
		if !strings.EqualFold(old.SubscriptionID, sub) || !strings.EqualFold(old.ResourceGroup, rg) {
			return old, storage.ErrNotFound
		}
		old.BlobServiceEcho = echo(old.BlobServiceEcho)
		old.UpdatedAt = s.now().UTC()
		return old, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return a, armerr.NotFound(armerr.CodeResourceNotFound, "The Resource 'Microsoft.Storage/storageAccounts/%s' under resource group '%s' was not found.", name, rg)
	}
	return a, err
}

// Accounts lists a group's accounts, or a subscription's (ARM).
func (s *Service) Accounts(ctx context.Context, sub, rg string) ([]storage.StorageAccount, error) {
	return storage.All(func(p storage.Page) ([]storage.StorageAccount, string, error) {
		return s.store.ListStorageAccounts(ctx, sub, rg, p)
	})
}

// DeleteAccount deletes an account with its containers and blobs (ARM);
// their files go with the next sweep.
func (s *Service) DeleteAccount(ctx context.Context, sub, rg, name string) (bool, error) {
	if _, err := s.Account(ctx, sub, rg, name); err != nil {
		return false, nil
	}
	return true, s.store.DeleteStorageAccount(ctx, name)
}

// newETag returns a fresh strong ETag in the service's 0x-hex shape.
func (s *Service) newETag() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf(`"0x%X%s"`, s.now().UnixNano(), strings.ToUpper(hex.EncodeToString(b)))
}

// CreateContainer creates a container (data plane and ARM).
func (s *Service) CreateContainer(ctx context.Context, account, name string, md map[string]string) (storage.BlobContainer, error) {
	if !containerNameRE.MatchString(name) {
		return storage.BlobContainer{}, &Error{Status: 400, Code: CodeInvalidResourceName, Message: "The specified resource name contains invalid characters."}
	}
	now := s.now().UTC()
	c := storage.BlobContainer{Account: strings.ToLower(account), Name: name, Metadata: md, ETag: s.newETag(), CreatedAt: now, UpdatedAt: now}
	err := s.store.PutBlobContainer(ctx, c)
	if errors.Is(err, storage.ErrAlreadyExists) {
		return c, &Error{Status: 409, Code: CodeContainerAlreadyExists, Message: "The specified container already exists."}
	}
	return c, err
}

// Container reads a container.
func (s *Service) Container(ctx context.Context, account, name string) (storage.BlobContainer, error) {
	c, err := s.store.GetBlobContainer(ctx, account, name)
	if errors.Is(err, storage.ErrNotFound) {
		return c, errContainerNotFound
	}
	return c, err
}

// Containers lists an account's containers.
func (s *Service) Containers(ctx context.Context, account, prefix, after string, limit int) ([]storage.BlobContainer, error) {
	return s.store.ListBlobContainers(ctx, account, prefix, after, limit)
}

// SetContainerMetadata replaces a container's metadata.
func (s *Service) SetContainerMetadata(ctx context.Context, account, name string, md map[string]string) (storage.BlobContainer, error) {
	c, err := s.store.UpdateBlobContainer(ctx, account, name, func(old storage.BlobContainer) (storage.BlobContainer, error) {
		old.Metadata, old.ETag, old.UpdatedAt = md, s.newETag(), s.now().UTC()
		return old, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return c, errContainerNotFound
	}
	return c, err
}

// DeleteContainer deletes a container and its blobs.
func (s *Service) DeleteContainer(ctx context.Context, account, name string) error {
	err := s.store.DeleteBlobContainer(ctx, account, name)
	if errors.Is(err, storage.ErrNotFound) {
		return errContainerNotFound
	}
	return err
}

// Sweep removes files no blob or block refers to, after grace.
func (s *Service) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	return s.files.Sweep(func(d string) (bool, error) { return s.store.BlobDigestInUse(ctx, d) }, grace, s.now())
}
