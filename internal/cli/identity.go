package cli

import (
	"context"
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
	var name, group, location string
	var tags []string

	create := &cobra.Command{
		Use: "create", Short: "Create an identity (or update its tags)",
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			tags = append(tags, args...)
			return requireFlags(cmd, "name", "resource-group")
		},
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			t, err := parseTags(tags)
			if err != nil {
				return nil, err
			}
			loc := location
			if loc == "" { // az defaults to the group's location
				rg, err := c.GetGroup(ctx, sub, group)
				if err != nil {
					return nil, err
				}
				loc = rg.Location
			}
			id, _, err := c.CreateOrUpdateIdentity(ctx, sub, group, name, loc, t)
			if err != nil {
				return nil, err
			}
			return identityView(id), nil
		}),
	}
	create.Flags().StringVarP(&location, "location", "l", "", "location (default: the resource group's)")
	create.Flags().StringArrayVar(&tags, "tags", nil, "space-separated tags: key[=value]")

	show := &cobra.Command{
		Use: "show", Short: "Show an identity",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name", "resource-group") },
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			id, err := c.GetIdentity(ctx, sub, group, name)
			if err != nil {
				return nil, err
			}
			return identityView(id), nil
		}),
	}

	list := &cobra.Command{
		Use: "list", Short: "List identities in a resource group, or in the subscription",
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			ids, err := c.ListIdentities(ctx, sub, group)
			if err != nil {
				return nil, err
			}
			out := make([]map[string]any, 0, len(ids))
			for _, i := range ids {
				out = append(out, identityView(i))
			}
			return out, nil
		}),
	}
	list.Flags().StringVarP(&group, "resource-group", "g", "", "resource group (default: the whole subscription)")

	update := &cobra.Command{
		Use: "update", Short: "Update an identity's tags",
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			tags = append(tags, args...)
			return requireFlags(cmd, "name", "resource-group")
		},
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			t, err := parseTags(tags)
			if err != nil {
				return nil, err
			}
			id, err := c.UpdateIdentityTags(ctx, sub, group, name, t)
			if err != nil {
				return nil, err
			}
			return identityView(id), nil
		}),
	}
	update.Flags().StringArrayVar(&tags, "tags", nil, "space-separated tags: key[=value]; \"\" clears")

	del := &cobra.Command{
		Use: "delete", Short: "Delete an identity and its federated credentials",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name", "resource-group") },
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			_, err := c.DeleteIdentity(ctx, sub, group, name)
			return nil, err
		}),
	}

	for _, c := range []*cobra.Command{create, show, update, del} {
		c.Flags().StringVarP(&name, "name", "n", "", "name of the identity")
		c.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	}
	cmd.AddCommand(create, show, list, update, del, federatedCredentialCmd(g))
	return cmd
}
