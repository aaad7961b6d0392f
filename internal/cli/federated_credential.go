package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/audience"
)

// DefaultAudience is the audience Entra expects in workload identity tokens.
const DefaultAudience = audience.TokenExchange

// ficView is a federated credential as az prints it (properties flattened).
func ficView(f client.FederatedCredential) map[string]any {
	return map[string]any{
		"id": f.ID, "name": f.Name, "type": f.Type, "resourceGroup": groupOf(f.ID),
		"issuer": f.Properties.Issuer, "subject": f.Properties.Subject, "audiences": f.Properties.Audiences,
	}
}

func federatedCredentialCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "federated-credential", Short: "Manage federated identity credentials of an identity"}
	var name, identity, group, issuer, subject string
	var audiences []string

	put := func(mustExist bool) func(ctx context.Context, c *client.Client, sub string) (any, error) {
		return func(ctx context.Context, c *client.Client, sub string) (any, error) {
			p := client.FederatedCredentialProperties{Issuer: issuer, Subject: subject, Audiences: audiences}
			if mustExist {
				old, err := c.GetFederatedCredential(ctx, sub, group, identity, name)
				if err != nil {
					return nil, err
				}
				if p.Issuer == "" {
					p.Issuer = old.Properties.Issuer
				}
				if p.Subject == "" {
					p.Subject = old.Properties.Subject
				}
				if len(p.Audiences) == 0 {
					p.Audiences = old.Properties.Audiences
				}
			} else if len(p.Audiences) == 0 {
				p.Audiences = []string{DefaultAudience}
			}
			f, _, err := c.CreateOrUpdateFederatedCredential(ctx, sub, group, identity, name, p)
			if err != nil {
				return nil, err
			}
			return ficView(f), nil
		}
	}

	create := &cobra.Command{
		Use: "create", Short: "Create a federated credential (trust tokens of an external issuer)",
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			audiences = append(audiences, args...)
			return requireFlags(cmd, "name", "identity-name", "resource-group", "issuer", "subject")
		},
		RunE: g.run(put(false)),
	}
	update := &cobra.Command{
		Use: "update", Short: "Update a federated credential",
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			audiences = append(audiences, args...)
			return requireFlags(cmd, "name", "identity-name", "resource-group")
		},
		RunE: g.run(put(true)),
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().StringVar(&issuer, "issuer", "", "OpenID Connect issuer URL, exactly as the token's iss claim")
		c.Flags().StringVar(&subject, "subject", "", "subject, e.g. system:serviceaccount:<namespace>:<service account>")
		c.Flags().StringArrayVar(&audiences, "audiences", nil, "audience (default "+DefaultAudience+")")
	}

	show := &cobra.Command{
		Use: "show", Short: "Show a federated credential",
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return requireFlags(cmd, "name", "identity-name", "resource-group")
		},
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			f, err := c.GetFederatedCredential(ctx, sub, group, identity, name)
			if err != nil {
				return nil, err
			}
			return ficView(f), nil
		}),
	}
	del := &cobra.Command{
		Use: "delete", Short: "Delete a federated credential",
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return requireFlags(cmd, "name", "identity-name", "resource-group")
		},
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			_, err := c.DeleteFederatedCredential(ctx, sub, group, identity, name)
			return nil, err
		}),
	}
	list := &cobra.Command{
		Use: "list", Short: "List an identity's federated credentials",
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return requireFlags(cmd, "identity-name", "resource-group")
		},
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			fs, err := c.ListFederatedCredentials(ctx, sub, group, identity)
			if err != nil {
				return nil, err
			}
			out := make([]map[string]any, 0, len(fs))
			for _, f := range fs {
				out = append(out, ficView(f))
			}
			return out, nil
		}),
	}
	for _, c := range []*cobra.Command{create, update, show, del, list} {
		if c != list {
			c.Flags().StringVarP(&name, "name", "n", "", "name of the federated credential")
		}
		c.Flags().StringVar(&identity, "identity-name", "", "name of the identity")
		c.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	}
	cmd.AddCommand(create, update, show, list, del)
	return cmd
}
