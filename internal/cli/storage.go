package cli

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
)

// storageAccountView is an account as az prints it: the ARM shape plus its
// resource group.
func storageAccountView(a client.StorageAccount) map[string]any {
	tags := a.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"id": a.ID, "name": a.Name, "type": a.Type, "location": a.Location, "tags": tags, "kind": a.Kind,
		"sku": a.SKU, "resourceGroup": groupOf(a.ID), "properties": a.Properties}
}

func storageCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "storage", Short: "Storage accounts and their Blob data plane (Microsoft Entra sign-in only)"}
	account := &cobra.Command{Use: "account", Short: "Storage accounts (Microsoft.Storage/storageAccounts)"}
	account.AddCommand(
		noArgs(g.command("create", "Create a storage account (shared keys off), or update its tags", &storageAccountCreate{})),
		noArgs(g.command("show", "Show a storage account", &storageAccountShow{})),
		noArgs(g.command("list", "List storage accounts in a resource group, or in the subscription", &storageAccountList{})),
		noArgs(g.command("delete", "Delete a storage account with its containers and blobs", &storageAccountDelete{})))
	container := &cobra.Command{Use: "container", Short: "Blob containers, through the account's data plane"}
	container.AddCommand(
		noArgs(g.command("create", "Create a container", &containerVerb{op: "create"})),
		noArgs(g.command("list", "List containers", &containerVerb{op: "list"})),
		noArgs(g.command("delete", "Delete a container and its blobs", &containerVerb{op: "delete"})))
	blob := &cobra.Command{Use: "blob", Short: "Blobs, through the account's data plane"}
	blob.AddCommand(
		noArgs(g.command("upload", "Upload a file as a block blob", &blobVerb{op: "upload"})),
		noArgs(g.command("download", "Download a blob to a file", &blobVerb{op: "download"})),
		noArgs(g.command("list", "List a container's blobs", &blobVerb{op: "list"})),
		noArgs(g.command("delete", "Delete a blob", &blobVerb{op: "delete"})))
	cmd.AddCommand(account, container, blob)
	return cmd
}

// findStorageAccount finds an account by name, in a group or anywhere in
// the subscription.
func findStorageAccount(ctx context.Context, c *conn, group, name string) (client.StorageAccount, error) {
	return findByName(c, group, name,
		func(sub string) (client.StorageAccount, error) {
			return c.client.GetStorageAccount(ctx, sub, group, name)
		},
		func(sub string) ([]client.StorageAccount, error) { return c.client.ListStorageAccounts(ctx, sub, "") },
		func(a client.StorageAccount) string { return a.Name },
		"The Resource 'Microsoft.Storage/storageAccounts/%s' under subscription '%s' was not found.")
}

// storageAccountCreate is `ward storage account create`.
type storageAccountCreate struct {
	nameGroup
	tagWords
	location, sku, kind string
	sharedKey           string
}

func (v *storageAccountCreate) flags(cmd *cobra.Command) {
	v.nameGroup.bind(cmd, "name of the account: 3-24 lower-case letters and digits")
	f := cmd.Flags()
	f.StringVarP(&v.location, "location", "l", "", "location (default: the resource group's)")
	f.StringVar(&v.sku, "sku", "Standard_LRS", "the account's SKU")
	f.StringVar(&v.kind, "kind", "StorageV2", "the account's kind")
	f.StringVar(&v.sharedKey, "allow-shared-key-access", "false", "must be false: Ward serves Microsoft Entra tokens only")
	v.tagWords.bind(cmd, "space-separated tags: key[=value]")
}

func (v *storageAccountCreate) check(cmd *cobra.Command) error {
	if !strings.EqualFold(v.sharedKey, "false") {
		return errors.New("--allow-shared-key-access true is not supported: Ward's storage accounts accept Microsoft Entra tokens only (--auth-mode login)")
	}
	return v.nameGroup.check(cmd)
}

func (*storageAccountCreate) inSubscription() {}

func (v *storageAccountCreate) run(ctx context.Context, _ env, c *conn) (any, error) {
	t, err := parseTags(v.tags)
	if err != nil {
		return nil, err
	}
	loc, err := location(ctx, c.client, c.sub, v.group, v.location)
	if err != nil {
		return nil, err
	}
	a, err := c.client.CreateOrUpdateStorageAccount(ctx, c.sub, v.group, v.name, loc, v.kind, v.sku, t)
	if err != nil {
		return nil, err
	}
	return storageAccountView(a), nil
}

// storageAccountLookup is --name/-n and an optional --resource-group/-g.
type storageAccountLookup struct{ nameGroup }

func (v *storageAccountLookup) flags(cmd *cobra.Command) {
	v.bindLookup(cmd, "name of the account")
}

func (v *storageAccountLookup) check(cmd *cobra.Command) error { return requireFlags(cmd, "name") }

// storageAccountShow is `ward storage account show`.
type storageAccountShow struct{ storageAccountLookup }

func (v *storageAccountShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewOf(storageAccountView)(findStorageAccount(ctx, c, v.group, v.name))
}

// storageAccountList is `ward storage account list`.
type storageAccountList struct{ inGroup }

func (v *storageAccountList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewsOf(storageAccountView)(c.client.ListStorageAccounts(ctx, c.sub, v.group))
}

// storageAccountDelete is `ward storage account delete`.
type storageAccountDelete struct{ storageAccountLookup }

func (v *storageAccountDelete) flags(cmd *cobra.Command) {
	v.storageAccountLookup.flags(cmd)
	cmd.Flags().BoolP("yes", "y", false, "do not prompt (accepted for az compatibility; Ward never prompts)")
}

func (v *storageAccountDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	a, err := findStorageAccount(ctx, c, v.group, v.name)
	if err != nil {
		return nil, err
	}
	sub, _ := c.subscription()
	_, err = c.client.DeleteStorageAccount(ctx, sub, groupOf(a.ID), a.Name)
	return nil, err
}

// dataPlane is what every container and blob command takes: the account
// and how to sign in (login only).
type dataPlane struct {
	account, authMode, blobEndpoint string
}

func (d *dataPlane) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&d.account, "account-name", "", "name of the storage account")
	f.StringVar(&d.authMode, "auth-mode", "login", "login (Microsoft Entra token): the only mode Ward serves")
	f.StringVar(&d.blobEndpoint, "blob-endpoint", "", "the account's blob endpoint (default: primaryEndpoints.blob, or the host Ward gives the name)")
}

func (d *dataPlane) check(cmd *cobra.Command) error {
	if d.authMode != "login" {
		return fmt.Errorf("--auth-mode %s is not supported: Ward's storage accounts accept Microsoft Entra tokens only; use --auth-mode login", d.authMode)
	}
	if d.blobEndpoint == "" {
		return requireFlags(cmd, "account-name")
	}
	return nil
}

// open returns a data-plane client for the account, signed in as the
// CLI's principal for https://storage.azure.com. A principal with only
// data roles cannot read the account through ARM: the endpoint is then the
// one Ward gives the name.
func (d *dataPlane) open(ctx context.Context, c *conn) (*client.BlobClient, error) {
	endpoint := d.blobEndpoint
	if endpoint == "" && c.sub != "" {
		if a, err := findStorageAccount(ctx, c, "", d.account); err == nil {
			endpoint = a.BlobEndpoint()
		}
	}
	if endpoint == "" {
		var err error
		if endpoint, err = client.BlobAccountURL(c.server, d.account); err != nil {
			return nil, err
		}
	}
	tok := &client.ClientCredentials{AuthorityHost: c.creds.AuthorityHost, TenantID: c.creds.TenantID, ClientID: c.creds.ClientID,
		ClientSecret: c.creds.ClientSecret, Resource: client.StorageResource, HTTP: c.creds.HTTP}
	return client.NewBlobClient(endpoint, tok, c.creds.HTTP)
}

// containerVerb is `ward storage container create|list|delete`.
type containerVerb struct {
	op string
	dataPlane
	name, prefix string
}

func (v *containerVerb) flags(cmd *cobra.Command) {
	v.dataPlane.bind(cmd)
	if v.op == "list" {
		cmd.Flags().StringVar(&v.prefix, "prefix", "", "only containers whose names start with this")
		return
	}
	cmd.Flags().StringVarP(&v.name, "name", "n", "", "name of the container")
}

func (v *containerVerb) check(cmd *cobra.Command) error {
	if err := v.dataPlane.check(cmd); err != nil {
		return err
	}
	if v.op != "list" {
		return requireFlags(cmd, "name")
	}
	return nil
}

func (v *containerVerb) run(ctx context.Context, _ env, c *conn) (any, error) {
	bc, err := v.open(ctx, c)
	if err != nil {
		return nil, err
	}
	switch v.op {
	case "create":
		err := bc.CreateContainer(ctx, v.name)
		var be *client.BlobError
		if errors.As(err, &be) && be.Code == "ContainerAlreadyExists" {
			return map[string]any{"created": false}, nil
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"created": true}, nil
	case "delete":
		err := bc.DeleteContainer(ctx, v.name)
		var be *client.BlobError
		if errors.As(err, &be) && be.Code == "ContainerNotFound" {
			return map[string]any{"deleted": false}, nil
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"deleted": true}, nil
	}
	return viewsOf(func(x client.ContainerItem) map[string]any {
		return map[string]any{"name": x.Name, "properties": map[string]any{"lastModified": x.Properties.LastModified, "etag": x.Properties.ETag}}
	})(bc.ListContainers(ctx, v.prefix))
}

// blobVerb is `ward storage blob upload|download|list|delete`.
type blobVerb struct {
	op string
	dataPlane
	container, name, file, prefix, contentType string
	overwrite                                  bool
}

func (v *blobVerb) flags(cmd *cobra.Command) {
	v.dataPlane.bind(cmd)
	f := cmd.Flags()
	f.StringVarP(&v.container, "container-name", "c", "", "name of the container")
	switch v.op {
	case "list":
		f.StringVar(&v.prefix, "prefix", "", "only blobs whose names start with this")
		return
	case "upload":
		f.StringVarP(&v.file, "file", "f", "", "the file to upload")
		f.BoolVar(&v.overwrite, "overwrite", false, "replace an existing blob")
		f.StringVar(&v.contentType, "content-type", "", "the blob's content type (default: from the file's extension)")
	case "download":
		f.StringVarP(&v.file, "file", "f", "", "the file to write")
	}
	f.StringVarP(&v.name, "name", "n", "", "name of the blob")
}

func (v *blobVerb) check(cmd *cobra.Command) error {
	if err := v.dataPlane.check(cmd); err != nil {
		return err
	}
	switch v.op {
	case "list":
		return requireFlags(cmd, "container-name")
	case "upload", "download":
		return requireFlags(cmd, "container-name", "name", "file")
	}
	return requireFlags(cmd, "container-name", "name")
}

func (v *blobVerb) run(ctx context.Context, _ env, c *conn) (any, error) {
	bc, err := v.open(ctx, c)
	if err != nil {
		return nil, err
	}
	switch v.op {
	case "upload":
		f, err := os.Open(v.file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		ct := v.contentType
		if ct == "" {
			ct = mime.TypeByExtension(filepath.Ext(v.file))
		}
		if err := bc.UploadBlob(ctx, v.container, v.name, f, st.Size(), ct, v.overwrite); err != nil {
			return nil, err
		}
		return map[string]any{"name": v.name, "container": v.container, "size": st.Size()}, nil
	case "download":
		tmp, err := os.CreateTemp(filepath.Dir(v.file), ".ward-download-*")
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp.Name())
		n, err := bc.DownloadBlob(ctx, v.container, v.name, tmp)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		if err := os.Rename(tmp.Name(), v.file); err != nil {
			return nil, err
		}
		return map[string]any{"name": v.name, "container": v.container, "size": n}, nil
	case "delete":
		return nil, bc.DeleteBlob(ctx, v.container, v.name)
	}
	return viewsOf(func(b client.BlobItem) map[string]any {
		return map[string]any{"name": b.Name, "properties": map[string]any{"contentLength": b.Properties.ContentLength,
			"contentSettings": map[string]any{"contentType": b.Properties.ContentType, "contentMd5": b.Properties.ContentMD5},
			"lastModified":    b.Properties.LastModified, "etag": b.Properties.ETag, "blobType": b.Properties.BlobType}}
	})(bc.ListBlobs(ctx, v.container, v.prefix))
}
