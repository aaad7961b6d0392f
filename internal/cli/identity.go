package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
)

// identityView is an identity as az prints it: properties flattened to the
// top level, plus the resource group, so that `--query clientId -o tsv`
// works as in the Azure guides.
func identityView(i client.Identity) map[string]any {
	tags := i.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"id": i.ID, "name": i.Name, "type": i.Type, "location": i.Location, "tags": tags,
		"clientId": i.Properties.ClientID, "principalId": i.Properties.PrincipalID, "tenantId": i.Properties.TenantID,
		"isolationScope": i.Properties.IsolationScope, "resourceGroup": groupOf(i.ID),
	}
}

// groupOf returns the resource group segment of an ARM ID.
func groupOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

func identityCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Manage user-assigned managed identities"}
	cmd.AddCommand(
		g.command("create", "Create an identity (or update its tags)", &identityCreate{}),
		g.command("show", "Show an identity", &identityShow{}),
		g.command("list", "List identities in a resource group, or in the subscription", &identityList{}),
		g.command("update", "Update an identity's tags", &identityUpdate{}),
		g.command("delete", "Delete an identity and its federated credentials", &identityDelete{}),
		federatedCredentialCmd(g))
	return cmd
}

// nameGroup is the --name/-n and --resource-group/-g pair of a verb on one
// resource in a resource group.
type nameGroup struct{ name, group string }

func (r *nameGroup) bind(cmd *cobra.Command, nameUsage string) {
	cmd.Flags().StringVarP(&r.name, "name", "n", "", nameUsage)
	cmd.Flags().StringVarP(&r.group, "resource-group", "g", "", "resource group")
}

// bindLookup binds --name/-n and an optional --resource-group/-g: without
// a group the resource is found by name in the subscription, as az does.
func (r *nameGroup) bindLookup(cmd *cobra.Command, nameUsage string) {
	r.bind(cmd, nameUsage)
	cmd.Flags().Lookup("resource-group").Usage = "resource group (default: found by name in the subscription)"
}

// findByName gets a resource through its group when one is given, else
// finds it by name (any case) among the subscription's; notFound words the
// 404 for the type as ARM does (name, then subscription).
func findByName[T any](c *conn, group, name string, get func(sub string) (T, error), list func(sub string) ([]T, error),
	nameOf func(T) string, notFound string) (T, error) {
	var zero T
	sub, err := c.subscription()
	if err != nil {
		return zero, err
	}
	if group != "" {
		return get(sub)
	}
	all, err := list(sub)
	if err != nil {
		return zero, err
	}
	for _, r := range all {
		if strings.EqualFold(nameOf(r), name) {
			return r, nil
		}
	}
	return zero, &client.Error{StatusCode: 404, Code: "ResourceNotFound", Message: fmt.Sprintf(notFound, name, sub)}
}

func (r *nameGroup) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "name", "resource-group")
}

// identityRef names one identity.
type identityRef struct{ nameGroup }

func (r *identityRef) flags(cmd *cobra.Command) { r.bind(cmd, "name of the identity") }

// tagWords is --tags, to which az adds the stray words after it.
type tagWords struct{ tags []string }

func (t *tagWords) bind(cmd *cobra.Command, usage string) {
	cmd.Flags().StringArrayVar(&t.tags, "tags", nil, usage)
}

func (t *tagWords) words(args []string) { t.tags = append(t.tags, args...) }

// location is the location a new resource gets: loc, or the resource
// group's, as az defaults it.
func location(ctx context.Context, c *client.Client, sub, group, loc string) (string, error) {
	if loc != "" {
		return loc, nil
	}
	rg, err := c.GetGroup(ctx, sub, group)
	if err != nil {
		return "", err
	}
	return rg.Location, nil
}

// identityCreate is `ward identity create`.
type identityCreate struct {
	identityRef
	tagWords
	location string
}

func (v *identityCreate) flags(cmd *cobra.Command) {
	v.identityRef.flags(cmd)
	cmd.Flags().StringVarP(&v.location, "location", "l", "", "location (default: the resource group's)")
	v.tagWords.bind(cmd, "space-separated tags: key[=value]")
}

func (*identityCreate) inSubscription() {}

func (v *identityCreate) run(ctx context.Context, _ env, c *conn) (any, error) {
	t, err := parseTags(v.tags)
	if err != nil {
		return nil, err
	}
	loc, err := location(ctx, c.client, c.sub, v.group, v.location)
	if err != nil {
		return nil, err
	}
	id, _, err := c.client.CreateOrUpdateIdentity(ctx, c.sub, v.group, v.name, loc, t)
	if err != nil {
		return nil, err
	}
	return identityView(id), nil
}

// identityShow is `ward identity show`.
type identityShow struct{ identityRef }

func (*identityShow) inSubscription() {}

func (v *identityShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewOf(identityView)(c.client.GetIdentity(ctx, c.sub, v.group, v.name))
}

// identityList is `ward identity list`.
type identityList struct{ inGroup }

func (v *identityList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewsOf(identityView)(c.client.ListIdentities(ctx, c.sub, v.group))
}

// views maps each item to its az view, [] for none.
func views[T any](items []T, view func(T) map[string]any) []map[string]any {
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
	}
	return out
}

// identityUpdate is `ward identity update`.
type identityUpdate struct {
	identityRef
	tagWords
}

func (v *identityUpdate) flags(cmd *cobra.Command) {
	v.identityRef.flags(cmd)
	v.tagWords.bind(cmd, "space-separated tags: key[=value]; \"\" clears")
}

func (*identityUpdate) inSubscription() {}

func (v *identityUpdate) run(ctx context.Context, _ env, c *conn) (any, error) {
	t, err := parseTags(v.tags)
	if err != nil {
		return nil, err
	}
	return viewOf(identityView)(c.client.UpdateIdentityTags(ctx, c.sub, v.group, v.name, t))
}

// identityDelete is `ward identity delete`.
type identityDelete struct{ identityRef }

func (*identityDelete) inSubscription() {}

func (v *identityDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	_, err := c.client.DeleteIdentity(ctx, c.sub, v.group, v.name)
	return nil, err
}
