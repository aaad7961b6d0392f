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
	sub, err := c.subscription()
	if err != nil {
		return client.Vault{}, err
	}
	if group != "" {
		return c.client.GetVault(ctx, sub, group, name)
	}
	vaults, err := c.client.ListVaults(ctx, sub, "")
	if err != nil {
		return client.Vault{}, err
	}
	for _, v := range vaults {
		if strings.EqualFold(v.Name, name) {
			return v, nil
		}
	}
	return client.Vault{}, &client.Error{StatusCode: 404, Code: "ResourceNotFound",
		Message: fmt.Sprintf("The Resource 'Microsoft.KeyVault/vaults/%s' under subscription '%s' was not found.", name, sub)}
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
	var name, group, location, sku string
	var tags []string
	var rbacAuth bool

	create := &cobra.Command{
		Use: "create", Short: "Create a vault (RBAC authorization), or update its tags",
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			tags = append(tags, args...)
			if !rbacAuth {
				return errors.New("--enable-rbac-authorization false (access policies) is not supported: Ward's vaults use Azure RBAC only")
			}
			return requireFlags(cmd, "name", "resource-group")
		},
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			sub, err := c.subscription()
			if err != nil {
				return nil, err
			}
			t, err := parseTags(tags)
			if err != nil {
				return nil, err
			}
			loc := location
			if loc == "" {
				rg, err := c.client.GetGroup(ctx, sub, group)
				if err != nil {
					return nil, err
				}
				loc = rg.Location
			}
			v, _, err := c.client.CreateOrUpdateVault(ctx, sub, group, name, loc, c.tenant, sku, t)
			if err != nil {
				return nil, err
			}
			return vaultView(v), nil
		}),
	}
	create.Flags().StringVarP(&location, "location", "l", "", "location (default: the resource group's)")
	create.Flags().StringVar(&sku, "sku", "standard", "standard or premium")
	create.Flags().StringArrayVar(&tags, "tags", nil, "space-separated tags: key[=value]")
	create.Flags().BoolVar(&rbacAuth, "enable-rbac-authorization", true, "authorize data actions with Azure RBAC (the only mode Ward serves)")
	create.Flags().Int("retention-days", 90, "soft-delete retention (accepted for az compatibility; Ward deletes at once)")

	show := &cobra.Command{
		Use: "show", Short: "Show a vault",
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name") },
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			v, err := findVault(ctx, c, group, name)
			if err != nil {
				return nil, err
			}
			return vaultView(v), nil
		}),
	}
	list := &cobra.Command{
		Use: "list", Short: "List vaults in a resource group, or in the subscription",
		Args: cobra.NoArgs,
		RunE: g.run(func(ctx context.Context, cl *client.Client, sub string) (any, error) {
			vaults, err := cl.ListVaults(ctx, sub, group)
			if err != nil {
				return nil, err
			}
			out := make([]map[string]any, 0, len(vaults))
			for _, v := range vaults {
				out = append(out, vaultView(v))
			}
			return out, nil
		}),
	}
	list.Flags().StringVarP(&group, "resource-group", "g", "", "resource group (default: the whole subscription)")
	del := &cobra.Command{
		Use: "delete", Short: "Delete a vault and its secrets",
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name") },
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			v, err := findVault(ctx, c, group, name)
			if err != nil {
				return nil, err
			}
			sub, _ := c.subscription()
			_, err = c.client.DeleteVault(ctx, sub, groupOf(v.ID), v.Name)
			return nil, err
		}),
	}
	for _, c := range []*cobra.Command{create, show, del} {
		c.Flags().StringVarP(&name, "name", "n", "", "name of the vault")
		c.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	}
	show.Flags().Lookup("resource-group").Usage = "resource group (default: found by name in the subscription)"
	del.Flags().Lookup("resource-group").Usage = "resource group (default: found by name in the subscription)"
	cmd.AddCommand(create, show, list, del, secretCmd(g))
	return cmd
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
	var t secretTarget
	var value, file, encoding, contentType, expires, notBefore string
	var tags []string
	var disabled bool

	set := &cobra.Command{
		Use: "set", Short: "Create a secret, or a new version of it",
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			tags = append(tags, args...)
			return requireFlags(cmd, "vault-name", "name")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.runConn(func(ctx context.Context, c *conn) (any, error) {
				v, err := secretValue(value, file, encoding, cmd.Flags().Changed("value"))
				if err != nil {
					return nil, err
				}
				tg, err := parseTags(tags)
				if err != nil {
					return nil, err
				}
				if file != "" {
					if encoding == "" {
						encoding = "utf-8"
					}
					tg["file-encoding"] = encoding // as az records it
				}
				p := client.SetSecretParameters{ContentType: contentType, Tags: tg}
				if cmd.Flags().Changed("disabled") {
					enabled := !disabled
					p.Enabled = &enabled
				}
				for _, f := range []struct {
					arg  string
					dst  **time.Time
					flag string
				}{{expires, &p.Expires, "--expires"}, {notBefore, &p.NotBefore, "--not-before"}} {
					if f.arg == "" {
						continue
					}
					tm, err := time.Parse(time.RFC3339, f.arg)
					if err != nil {
						return nil, fmt.Errorf("%s %q: use an ISO 8601 time such as 2030-01-01T00:00:00Z", f.flag, f.arg)
					}
					*f.dst = &tm
				}
				vaultURL, name, _, err := t.resolve(ctx, c)
				if err != nil {
					return nil, err
				}
				kv, err := secrets(c, vaultURL)
				if err != nil {
					return nil, err
				}
				s, err := kv.SetSecret(ctx, name, v, p)
				if err != nil {
					return nil, err
				}
				return secretView(s, true), nil
			})(cmd, args)
		},
	}
	set.Flags().StringVar(&value, "value", "", "the secret's value")
	set.Flags().StringVarP(&file, "file", "f", "", "read the value from this file")
	set.Flags().StringVarP(&encoding, "encoding", "e", "", "with --file: utf-8 (default), ascii, base64 or hex")
	set.Flags().StringVar(&contentType, "content-type", "", "the value's type, e.g. text/plain")
	set.Flags().StringArrayVar(&tags, "tags", nil, "space-separated tags: key[=value]")
	set.Flags().BoolVar(&disabled, "disabled", false, "create the version disabled")
	set.Flags().StringVar(&expires, "expires", "", "expiry (ISO 8601)")
	set.Flags().StringVar(&notBefore, "not-before", "", "not valid before (ISO 8601)")

	show := &cobra.Command{
		Use: "show", Short: "Show a secret with its value (the latest version unless --version)",
		Args: cobra.NoArgs,
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			vaultURL, name, version, err := t.resolve(ctx, c)
			if err != nil {
				return nil, err
			}
			kv, err := secrets(c, vaultURL)
			if err != nil {
				return nil, err
			}
			s, err := kv.GetSecret(ctx, name, version)
			if err != nil {
				return nil, err
			}
			return secretView(s, true), nil
		}),
	}
	show.Flags().StringVarP(&t.version, "version", "v", "", "the version (default: the latest)")
	list := &cobra.Command{
		Use: "list", Short: "List a vault's secrets, without values",
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "vault-name") },
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			vaultURL, err := vaultURLFor(ctx, c, t.vaultName)
			if err != nil {
				return nil, err
			}
			kv, err := secrets(c, vaultURL)
			if err != nil {
				return nil, err
			}
			items, err := kv.ListSecrets(ctx)
			if err != nil {
				return nil, err
			}
			out := make([]map[string]any, 0, len(items))
			for _, s := range items {
				out = append(out, secretView(s, false))
			}
			return out, nil
		}),
	}
	list.Flags().Int("maxresults", 0, "accepted for az compatibility; every secret is listed")
	del := &cobra.Command{
		Use: "delete", Short: "Delete a secret with all its versions",
		Args: cobra.NoArgs,
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			vaultURL, name, _, err := t.resolve(ctx, c)
			if err != nil {
				return nil, err
			}
			kv, err := secrets(c, vaultURL)
			if err != nil {
				return nil, err
			}
			s, err := kv.DeleteSecret(ctx, name)
			if err != nil {
				return nil, err
			}
			return secretView(s, false), nil
		}),
	}
	for _, c := range []*cobra.Command{set, show, list, del} {
		c.Flags().StringVar(&t.vaultName, "vault-name", "", "name of the vault")
	}
	for _, c := range []*cobra.Command{set, show, del} {
		c.Flags().StringVarP(&t.name, "name", "n", "", "name of the secret")
	}
	for _, c := range []*cobra.Command{show, del} {
		c.Flags().StringVar(&t.id, "id", "", "the secret's identifier URL, in place of --vault-name and --name")
	}
	cmd.AddCommand(set, show, list, del)
	return cmd
}
