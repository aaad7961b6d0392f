package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
)

// vaultView is a vault as az prints it: the ARM shape plus its resource group.
func vaultView(v client.Vault) map[string]any {
	tags := v.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"id": v.ID, "name": v.Name, "type": v.Type, "location": v.Location, "tags": tags,
		"resourceGroup": groupOf(v.ID), "properties": v.Properties}
}

// unixTime renders Key Vault's Unix seconds as az does (ISO 8601), or null.
func unixTime(p *int64) any {
	if p == nil {
		return nil
	}
	return time.Unix(*p, 0).UTC().Format("2006-01-02T15:04:05+00:00")
}

// secretView is a secret bundle as az prints it.
func secretView(s client.Secret, withValue bool) map[string]any {
	a := s.Attributes
	created, updated := a.Created, a.Updated
	attrs := map[string]any{"enabled": a.Enabled == nil || *a.Enabled, "notBefore": unixTime(a.NotBefore), "expires": unixTime(a.Expires),
		"created": unixTime(&created), "updated": unixTime(&updated), "recoveryLevel": a.RecoveryLevel, "recoverableDays": a.RecoverableDays}
	var contentType any
	if s.ContentType != "" {
		contentType = s.ContentType
	}
	tags := s.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	out := map[string]any{"id": s.ID, "name": s.Name(), "attributes": attrs, "contentType": contentType, "tags": tags, "managed": nil}
	if withValue {
		out["kid"] = nil
		if s.Value != nil {
			out["value"] = *s.Value
		} else {
			out["value"] = nil
		}
	}
	if s.RecoveryID != "" {
		out["recoveryId"] = s.RecoveryID
		out["deletedDate"] = unixTime(&s.DeletedDate)
	}
	return out
}

// findVault finds a vault by name, in a group or anywhere in the subscription.
func findVault(ctx context.Context, c *conn, group, name string) (client.Vault, error) {
	return findByName(c, group, name,
		func(sub string) (client.Vault, error) { return c.client.GetVault(ctx, sub, group, name) },
		func(sub string) ([]client.Vault, error) { return c.client.ListVaults(ctx, sub, "") },
		func(v client.Vault) string { return v.Name },
		"The Resource 'Microsoft.KeyVault/vaults/%s' under subscription '%s' was not found.")
}

// secretTarget is the vault and secret a data-plane command addresses:
// --vault-name and --name, or --id (a secret identifier URL).
type secretTarget struct {
	vaultName, name, version, id string
}

// resolve returns the vault's data-plane URL and the secret's name and
// version. The URL is the vault's properties.vaultUri when the caller can
// read the vault through ARM, else the host Ward gives the name (a
// principal with only data-plane roles cannot read the vault resource).
func (t secretTarget) resolve(ctx context.Context, c *conn) (vaultURL, name, version string, err error) {
	if t.id != "" {
		u, err := url.Parse(t.id)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return "", "", "", fmt.Errorf("--id %q is not a secret identifier (https://<vault host>/secrets/<name>[/<version>])", t.id)
		}
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(segs) < 2 || len(segs) > 3 || !strings.EqualFold(segs[0], "secrets") || segs[1] == "" {
			return "", "", "", fmt.Errorf("--id %q is not a secret identifier (https://<vault host>/secrets/<name>[/<version>])", t.id)
		}
		if len(segs) == 3 {
			version = segs[2]
		}
		return "https://" + u.Host + "/", segs[1], version, nil
	}
	if t.vaultName == "" || t.name == "" {
		return "", "", "", errors.New("the following arguments are required: --vault-name and --name/-n, or --id")
	}
	u, err := vaultURLFor(ctx, c, t.vaultName)
	return u, t.name, t.version, err
}

// vaultURLFor is the data-plane URL of the vault named vaultName.
func vaultURLFor(ctx context.Context, c *conn, vaultName string) (string, error) {
	if c.sub != "" {
		if v, err := findVault(ctx, c, "", vaultName); err == nil && v.Properties.VaultURI != "" {
			return v.Properties.VaultURI, nil
		}
	}
	return client.VaultURL(c.server, vaultName)
}

// secrets returns a data-plane client that authenticates as the CLI's
// principal, for the resource the vault's challenge names.
func secrets(c *conn, vaultURL string) (*client.SecretsClient, error) {
	return client.NewSecretsClient(vaultURL, func(resource string) client.TokenSource {
		return &client.ClientCredentials{AuthorityHost: c.creds.AuthorityHost, TenantID: c.creds.TenantID, ClientID: c.creds.ClientID,
			ClientSecret: c.creds.ClientSecret, Resource: resource, HTTP: c.creds.HTTP}
	}, c.creds.HTTP)
}

func keyvaultCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keyvault", Short: "Key Vault–compatible vaults and their secrets"}
	cmd.AddCommand(
		g.command("create", "Create a vault (RBAC authorization), or update its tags", &vaultCreate{}),
		noArgs(g.command("show", "Show a vault", &vaultShow{})),
		noArgs(g.command("list", "List vaults in a resource group, or in the subscription", &vaultList{})),
		noArgs(g.command("delete", "Delete a vault and its secrets", &vaultDelete{})),
		secretCmd(g))
	return cmd
}

// vaultCreate is `ward keyvault create`.
type vaultCreate struct {
	nameGroup
	tagWords
	location, sku string
	rbacAuth      bool
}

func (v *vaultCreate) flags(cmd *cobra.Command) {
	v.nameGroup.bind(cmd, "name of the vault")
	f := cmd.Flags()
	f.StringVarP(&v.location, "location", "l", "", "location (default: the resource group's)")
	f.StringVar(&v.sku, "sku", "standard", "standard or premium")
	v.tagWords.bind(cmd, "space-separated tags: key[=value]")
	f.BoolVar(&v.rbacAuth, "enable-rbac-authorization", true, "authorize data actions with Azure RBAC (the only mode Ward serves)")
	f.Int("retention-days", 90, "soft-delete retention (accepted for az compatibility; Ward deletes at once)")
}

func (v *vaultCreate) check(cmd *cobra.Command) error {
	if !v.rbacAuth {
		return errors.New("--enable-rbac-authorization false (access policies) is not supported: Ward's vaults use Azure RBAC only")
	}
	return v.nameGroup.check(cmd)
}

func (*vaultCreate) inSubscription() {}

func (v *vaultCreate) run(ctx context.Context, _ env, c *conn) (any, error) {
	t, err := parseTags(v.tags)
	if err != nil {
		return nil, err
	}
	loc, err := location(ctx, c.client, c.sub, v.group, v.location)
	if err != nil {
		return nil, err
	}
	kv, _, err := c.client.CreateOrUpdateVault(ctx, c.sub, v.group, v.name, loc, c.tenant, v.sku, t)
	if err != nil {
		return nil, err
	}
	return vaultView(kv), nil
}

// vaultLookup is --name/-n of a vault and the --resource-group/-g it is
// in, or none to find it by name in the subscription.
type vaultLookup struct{ nameGroup }

func (v *vaultLookup) flags(cmd *cobra.Command) {
	v.bindLookup(cmd, "name of the vault")
}

func (v *vaultLookup) check(cmd *cobra.Command) error { return requireFlags(cmd, "name") }

// vaultShow is `ward keyvault show`.
type vaultShow struct{ vaultLookup }

func (v *vaultShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewOf(vaultView)(findVault(ctx, c, v.group, v.name))
}

// vaultList is `ward keyvault list`.
type vaultList struct{ inGroup }

func (v *vaultList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewsOf(vaultView)(c.client.ListVaults(ctx, c.sub, v.group))
}

// vaultDelete is `ward keyvault delete`.
type vaultDelete struct{ vaultLookup }

func (v *vaultDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	kv, err := findVault(ctx, c, v.group, v.name)
	if err != nil {
		return nil, err
	}
	sub, _ := c.subscription()
	_, err = c.client.DeleteVault(ctx, sub, groupOf(kv.ID), kv.Name)
	return nil, err
}

// secretValue reads what `secret set` writes: --value, or --file in
// --encoding (as az: utf-8 text, or the file's bytes as base64 or hex).
func secretValue(value, file, encoding string, valueSet bool) (string, error) {
	switch {
	case valueSet && file != "":
		return "", errors.New("give --value or --file, not both")
	case valueSet:
		return value, nil
	case file == "":
		return "", errors.New("the following arguments are required: --value or --file")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	switch strings.ToLower(encoding) {
	case "", "utf-8", "utf8", "ascii":
		return string(b), nil
	case "base64":
		return base64.StdEncoding.EncodeToString(b), nil
	case "hex":
		return hex.EncodeToString(b), nil
	}
	return "", fmt.Errorf("--encoding %q is not known: use utf-8, ascii, base64 or hex", encoding)
}

func secretCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Secrets of a vault (its data plane)"}
	cmd.AddCommand(
		g.command("set", "Create a secret, or a new version of it", &secretSet{}),
		noArgs(g.command("show", "Show a secret with its value (the latest version unless --version)", &secretShow{})),
		noArgs(g.command("list", "List a vault's secrets, without values", &secretList{})),
		noArgs(g.command("delete", "Delete a secret with all its versions", &secretDelete{})))
	return cmd
}

// bind registers --vault-name and --name/-n, and --id when byID.
func (t *secretTarget) bind(cmd *cobra.Command, byID bool) {
	cmd.Flags().StringVar(&t.vaultName, "vault-name", "", "name of the vault")
	cmd.Flags().StringVarP(&t.name, "name", "n", "", "name of the secret")
	if byID {
		cmd.Flags().StringVar(&t.id, "id", "", "the secret's identifier URL, in place of --vault-name and --name")
	}
}

// open resolves the target and returns a data-plane client for its vault,
// with the secret's name and version.
func (t secretTarget) open(ctx context.Context, c *conn) (kv *client.SecretsClient, name, version string, err error) {
	vaultURL, name, version, err := t.resolve(ctx, c)
	if err != nil {
		return nil, "", "", err
	}
	kv, err = secrets(c, vaultURL)
	return kv, name, version, err
}

// secretSet is `ward keyvault secret set`.
type secretSet struct {
	target secretTarget
	tagWords
	value, file, encoding, contentType, expires, notBefore string
	disabled                                               bool
}

func (v *secretSet) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&v.value, "value", "", "the secret's value")
	f.StringVarP(&v.file, "file", "f", "", "read the value from this file")
	f.StringVarP(&v.encoding, "encoding", "e", "", "with --file: utf-8 (default), ascii, base64 or hex")
	f.StringVar(&v.contentType, "content-type", "", "the value's type, e.g. text/plain")
	v.tagWords.bind(cmd, "space-separated tags: key[=value]")
	f.BoolVar(&v.disabled, "disabled", false, "create the version disabled")
	f.StringVar(&v.expires, "expires", "", "expiry (ISO 8601)")
	f.StringVar(&v.notBefore, "not-before", "", "not valid before (ISO 8601)")
	v.target.bind(cmd, false)
}

func (v *secretSet) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "vault-name", "name")
}

func (v *secretSet) run(ctx context.Context, e env, c *conn) (any, error) {
	value, err := secretValue(v.value, v.file, v.encoding, e.changed("value"))
	if err != nil {
		return nil, err
	}
	tg, err := parseTags(v.tags)
	if err != nil {
		return nil, err
	}
	if v.file != "" {
		if v.encoding == "" {
			v.encoding = "utf-8"
		}
		tg["file-encoding"] = v.encoding // as az records it
	}
	p := client.SetSecretParameters{ContentType: v.contentType, Tags: tg}
	if e.changed("disabled") {
		enabled := !v.disabled
		p.Enabled = &enabled
	}
	for _, f := range []struct {
		arg  string
		dst  **time.Time
		flag string
	}{{v.expires, &p.Expires, "--expires"}, {v.notBefore, &p.NotBefore, "--not-before"}} {
		if f.arg == "" {
			continue
		}
		tm, err := time.Parse(time.RFC3339, f.arg)
		if err != nil {
			return nil, fmt.Errorf("%s %q: use an ISO 8601 time such as 2030-01-01T00:00:00Z", f.flag, f.arg)
		}
		*f.dst = &tm
	}
	kv, name, _, err := v.target.open(ctx, c)
	if err != nil {
		return nil, err
	}
	s, err := kv.SetSecret(ctx, name, value, p)
	if err != nil {
		return nil, err
	}
	return secretView(s, true), nil
}

// secretShow is `ward keyvault secret show`.
type secretShow struct{ target secretTarget }

func (v *secretShow) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&v.target.version, "version", "v", "", "the version (default: the latest)")
	v.target.bind(cmd, true)
}

func (v *secretShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	kv, name, version, err := v.target.open(ctx, c)
	if err != nil {
		return nil, err
	}
	s, err := kv.GetSecret(ctx, name, version)
	if err != nil {
		return nil, err
	}
	return secretView(s, true), nil
}

// secretList is `ward keyvault secret list`.
type secretList struct{ vaultName string }

func (v *secretList) flags(cmd *cobra.Command) {
	cmd.Flags().Int("maxresults", 0, "accepted for az compatibility; every secret is listed")
	cmd.Flags().StringVar(&v.vaultName, "vault-name", "", "name of the vault")
}

func (v *secretList) check(cmd *cobra.Command) error { return requireFlags(cmd, "vault-name") }

func (v *secretList) run(ctx context.Context, _ env, c *conn) (any, error) {
	vaultURL, err := vaultURLFor(ctx, c, v.vaultName)
	if err != nil {
		return nil, err
	}
	kv, err := secrets(c, vaultURL)
	if err != nil {
		return nil, err
	}
	return viewsOf(func(s client.Secret) map[string]any { return secretView(s, false) })(kv.ListSecrets(ctx))
}

// secretDelete is `ward keyvault secret delete`.
type secretDelete struct{ target secretTarget }

func (v *secretDelete) flags(cmd *cobra.Command) { v.target.bind(cmd, true) }

func (v *secretDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	kv, name, _, err := v.target.open(ctx, c)
	if err != nil {
		return nil, err
	}
	s, err := kv.DeleteSecret(ctx, name)
	if err != nil {
		return nil, err
	}
	return secretView(s, false), nil
}
