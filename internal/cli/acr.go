package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/registry"
)

// registryResource is the token audience the registry exchange asks for.
const registryResource = "https://containerregistry.azure.net"

func acrCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "acr", Short: "Container registries (ACR-compatible): pulls and pushes authorized by AcrPull, AcrPush and AcrDelete"}
	cmd.AddCommand(
		noArgs(g.command("create", "Create a container registry, or update its SKU and tags", &acrCreate{})),
		noArgs(g.command("show", "Show a container registry", &acrShow{})),
		noArgs(g.command("list", "List container registries in a resource group, or in the subscription", &acrList{})),
		noArgs(g.command("delete", "Delete a container registry and its images", &acrDelete{})),
		noArgs(g.command("login", "Exchange your identity for a registry refresh token: into docker's config, or printed with --expose-token", &acrLogin{})),
		acrCredentialProviderCmd(),
		noArgs(g.command("show-config", "Print a CNCF distribution configuration that trusts this Ward, to run the registry as its own process", &acrShowConfig{})))
	return cmd
}

// registryView is a registry as az prints it: the ARM shape plus its group.
func registryView(r client.Registry) map[string]any {
	r.Raw["resourceGroup"] = groupOf(r.ID)
	return r.Raw
}

// findRegistry finds a registry by name, in a group or anywhere in the
// subscription (as az acr does with -n alone).
func findRegistry(ctx context.Context, c *conn, group, name string) (client.Registry, error) {
	return findByName(c, group, name,
		func(sub string) (client.Registry, error) { return c.client.GetRegistry(ctx, sub, group, name) },
		func(sub string) ([]client.Registry, error) { return c.client.ListRegistries(ctx, sub, "") },
		func(r client.Registry) string { return r.Name },
		"The resource with name '%s' and type 'Microsoft.ContainerRegistry/registries' could not be found in subscription '%s'.")
}

// acrCreate is `ward acr create`.
type acrCreate struct {
	nameGroup
	tagWords
	location, sku string
	admin         bool
}

func (v *acrCreate) flags(cmd *cobra.Command) {
	v.nameGroup.bind(cmd, "name of the registry: 5-50 letters and digits")
	f := cmd.Flags()
	f.StringVarP(&v.location, "location", "l", "", "location (default: the resource group's)")
	f.StringVar(&v.sku, "sku", "Basic", "Basic, Standard or Premium")
	f.BoolVar(&v.admin, "admin-enabled", false, "the admin user (refused: Ward's registries have only identities with roles)")
	v.tagWords.bind(cmd, "space-separated tags: key[=value]")
}

func (v *acrCreate) check(cmd *cobra.Command) error {
	if v.admin {
		return errors.New("--admin-enabled is not supported: Ward's registries have no admin user; grant AcrPush or AcrPull at the registry instead")
	}
	return v.nameGroup.check(cmd)
}

func (*acrCreate) inSubscription() {}

func (v *acrCreate) run(ctx context.Context, _ env, c *conn) (any, error) {
	t, err := parseTags(v.tags)
	if err != nil {
		return nil, err
	}
	loc, err := location(ctx, c.client, c.sub, v.group, v.location)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"location": loc, "sku": map[string]any{"name": v.sku}, "properties": map[string]any{"adminUserEnabled": false}}
	if t != nil {
		body["tags"] = t
	}
	return viewOf(registryView)(c.client.PutRegistry(ctx, c.sub, v.group, v.name, body))
}

// acrLookup is --name/-n of a registry and optionally its group.
type acrLookup struct{ nameGroup }

func (v *acrLookup) flags(cmd *cobra.Command) {
	v.bindLookup(cmd, "name of the registry")
}

func (v *acrLookup) check(cmd *cobra.Command) error { return requireFlags(cmd, "name") }

// acrShow is `ward acr show`.
type acrShow struct{ acrLookup }

func (v *acrShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewOf(registryView)(findRegistry(ctx, c, v.group, v.name))
}

// acrList is `ward acr list`.
type acrList struct{ inGroup }

func (v *acrList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewsOf(registryView)(c.client.ListRegistries(ctx, c.sub, v.group))
}

// acrDelete is `ward acr delete`.
type acrDelete struct{ acrLookup }

func (v *acrDelete) flags(cmd *cobra.Command) {
	v.acrLookup.flags(cmd)
	cmd.Flags().BoolP("yes", "y", false, "do not prompt for confirmation (accepted for az compatibility; Ward never prompts)")
}

func (v *acrDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	r, err := findRegistry(ctx, c, v.group, v.name)
	if err != nil {
		return nil, err
	}
	return nil, c.client.DeleteRegistry(ctx, c.sub, groupOf(r.ID), r.Name)
}

// acrLogin is `ward acr login`: as az acr login, an Entra token for the
// registry exchanged at the login server for a refresh token, which goes
// into docker's config (user 00000000-…, the token as the password) or,
// with --expose-token, is printed as az prints it.
type acrLogin struct {
	acrLookup
	expose bool
}

func (v *acrLogin) flags(cmd *cobra.Command) {
	v.acrLookup.flags(cmd)
	cmd.Flags().BoolVarP(&v.expose, "expose-token", "t", false, "print the refresh token instead of writing docker's config")
}

func (v *acrLogin) run(ctx context.Context, e env, c *conn) (any, error) {
	loginServer := ""
	if strings.Contains(v.name, ".") {
		loginServer = v.name // a login server given as the name, as az accepts
	} else {
		r, err := findRegistry(ctx, c, v.group, v.name)
		if err != nil {
			return nil, err
		}
		loginServer = r.Properties.LoginServer
	}
	rt, err := registryRefreshToken(ctx, c, loginServer)
	if err != nil {
		return nil, err
	}
	if v.expose {
		fmt.Fprintln(e.errOut, "You can perform manual login using the provided access token, for example: 'docker login loginServer -u "+client.RegistryNullUsername+" -p accessToken'")
		return map[string]any{"accessToken": rt, "loginServer": loginServer, "username": client.RegistryNullUsername}, nil
	}
	path, err := writeDockerAuth(loginServer, rt)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.out, "Login Succeeded (credentials for %s written to %s)\n", loginServer, path)
	return nil, nil
}

// writeDockerAuth records user 00000000-… and the refresh token for
// loginServer in docker's config ($DOCKER_CONFIG/config.json, else
// ~/.docker/config.json), keeping every other field.
func writeDockerAuth(loginServer, refreshToken string) (string, error) {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".docker")
	}
	path := filepath.Join(dir, "config.json")
	cfg := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return "", fmt.Errorf("%s is not valid JSON: %w", path, err)
		}
	} else if !os.IsNotExist(err) {
		return "", err
	}
	auths, _ := cfg["auths"].(map[string]any)
	if auths == nil {
		auths = map[string]any{}
	}
	auths[loginServer] = map[string]any{"auth": base64.StdEncoding.EncodeToString([]byte(client.RegistryNullUsername + ":" + refreshToken))}
	cfg["auths"] = auths
	b, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, append(b, '\n'), 0o600)
}

// acrShowConfig is `ward acr show-config`: a distribution configuration
// for one registry run as its own process, trusting this Ward's tokens.
type acrShowConfig struct {
	acrLookup
	addr, rootDir, bundle string
}

func (v *acrShowConfig) flags(cmd *cobra.Command) {
	v.acrLookup.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&v.addr, "addr", ":5000", "where the registry listens (ward serve --registry-upstream points the login server host at it)")
	f.StringVar(&v.rootDir, "root-directory", "/var/lib/registry", "the filesystem storage's root")
	f.StringVar(&v.bundle, "root-cert-bundle", "/etc/distribution/ward-token-root.pem", "where you put the token root the registry trusts: a copy of the server's <data>/registries/token-root.pem")
}

func (v *acrShowConfig) run(ctx context.Context, e env, c *conn) (any, error) {
	r, err := findRegistry(ctx, c, v.group, v.name)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(e.out, registry.Config(registry.ConfigOptions{LoginServer: r.Properties.LoginServer, Issuer: registry.Issuer(c.server),
		RootCertBundle: v.bundle, RootDirectory: v.rootDir, Addr: v.addr, Secret: "<the same random string on every instance>"}))
	return nil, nil
}

// attachACR grants, or with detach removes, AcrPull for a cluster's
// kubelet identity at a registry (its name or resource ID), as az aks
// update --attach-acr/--detach-acr do: the nodes then pull with their own
// identity, through `ward acr credential-provider` or the kubelet's ACR plugin.
func attachACR(ctx context.Context, c *conn, cluster client.Cluster, ref string, detach bool) error {
	kubelet, _ := cluster.Kubelet()
	oid := kubelet.ObjectID
	if oid == "" {
		return errors.New("the cluster has no kubelet identity to attach the registry to")
	}
	scope := ref
	if !strings.HasPrefix(strings.ToLower(ref), "/subscriptions/") {
		r, err := findRegistry(ctx, c, "", ref)
		if err != nil {
			return err
		}
		scope = r.ID
	}
	existing, err := c.client.ListRoleAssignments(ctx, scope, "atScope() and principalId eq '"+oid+"'")
	if err != nil {
		return err
	}
	var held []client.RoleAssignment
	for _, a := range existing {
		if strings.EqualFold(a.Properties.Scope, scope) && strings.HasSuffix(strings.ToLower(a.Properties.RoleDefinitionID), "/"+acrPullID) {
			held = append(held, a)
		}
	}
	if detach {
		for _, a := range held {
			if err := c.client.DeleteRoleAssignment(ctx, a.ID); err != nil {
				return err
			}
		}
		return nil
	}
	if len(held) > 0 {
		return nil
	}
	_, err = c.client.CreateRoleAssignment(ctx, scope, uuid.NewString(), "/providers/Microsoft.Authorization/roleDefinitions/"+acrPullID, oid, "ServicePrincipal")
	return err
}

// acrPullID is the AcrPull built-in role's GUID.
const acrPullID = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
