package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/audience"
)

// DefaultAudience is the audience Entra expects in workload identity tokens.
const DefaultAudience = audience.TokenExchange

// ficView is a federated credential as az prints it (properties flattened);
// a flexible one has a null subject and its claimsMatchingExpression.
func ficView(f client.FederatedCredential) map[string]any {
	v := map[string]any{
		"id": f.ID, "name": f.Name, "type": f.Type, "resourceGroup": groupOf(f.ID),
		"issuer": f.Properties.Issuer, "subject": f.Properties.Subject, "audiences": f.Properties.Audiences,
	}
	if e := f.Properties.ClaimsMatchingExpression; e != nil {
		v["subject"] = nil
		v["claimsMatchingExpression"] = map[string]any{"value": e.Value, "languageVersion": e.LanguageVersion}
	}
	return v
}

func federatedCredentialCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "federated-credential", Short: "Manage federated identity credentials of an identity"}
	cmd.AddCommand(
		g.command("create", "Create a federated credential (trust tokens of an external issuer)", &ficPut{}),
		g.command("update", "Update a federated credential", &ficPut{update: true}),
		g.command("show", "Show a federated credential", &ficShow{}),
		g.command("list", "List an identity's federated credentials", &ficList{}),
		g.command("delete", "Delete a federated credential", &ficDelete{}))
	return cmd
}

// ficIdentity is --identity-name and --resource-group/-g: the identity
// whose credentials a verb addresses.
type ficIdentity struct{ identity, group string }

func (r *ficIdentity) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.identity, "identity-name", "", "name of the identity")
	cmd.Flags().StringVarP(&r.group, "resource-group", "g", "", "resource group")
}

func (r *ficIdentity) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "identity-name", "resource-group")
}

// ficRef names one federated credential of an identity.
type ficRef struct {
	ficIdentity
	name string
}

func (r *ficRef) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&r.name, "name", "n", "", "name of the federated credential")
	r.ficIdentity.flags(cmd)
}

func (r *ficRef) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "name", "identity-name", "resource-group")
}

// ficPut is `ward identity federated-credential create` and `update`: an
// update keeps what its flags do not change; a create defaults the
// audience.
type ficPut struct {
	ficRef
	update          bool
	issuer, subject string
	audiences       []string
	// exprValue and exprVersion are a flexible credential's claims
	// matching expression, in place of the subject.
	exprValue   string
	exprVersion int
}

func (v *ficPut) flags(cmd *cobra.Command) {
	v.ficRef.flags(cmd)
	cmd.Flags().StringVar(&v.issuer, "issuer", "", "OpenID Connect issuer URL, exactly as the token's iss claim")
	cmd.Flags().StringVar(&v.subject, "subject", "", "subject, e.g. system:serviceaccount:<namespace>:<service account>")
	cmd.Flags().StringArrayVar(&v.audiences, "audiences", nil, "audience (default "+DefaultAudience+")")
	cmd.Flags().StringVar(&v.exprValue, "claims-matching-expression-value", "",
		"claims matching expression, in place of --subject: clauses claims['<claim>'] eq|matches '<value>' joined by ' and ', e.g. claims['sub'] matches 'system:serviceaccount:team-*:*'")
	cmd.Flags().IntVar(&v.exprVersion, "claims-matching-expression-version", 1, "language version of the claims matching expression (1)")
}

// words are more audiences, as az reads them.
func (v *ficPut) words(args []string) { v.audiences = append(v.audiences, args...) }

func (v *ficPut) check(cmd *cobra.Command) error {
	if v.subject != "" && v.exprValue != "" {
		return fmt.Errorf("--subject and --claims-matching-expression-value are mutually exclusive: a credential matches either one subject or an expression")
	}
	if v.update {
		return v.ficRef.check(cmd)
	}
	if v.exprValue != "" {
		return requireFlags(cmd, "name", "identity-name", "resource-group", "issuer")
	}
	return requireFlags(cmd, "name", "identity-name", "resource-group", "issuer", "subject")
}

func (*ficPut) inSubscription() {}

func (v *ficPut) run(ctx context.Context, _ env, c *conn) (any, error) {
	p := client.FederatedCredentialProperties{Issuer: v.issuer, Subject: v.subject, Audiences: v.audiences}
	if v.exprValue != "" {
		p.ClaimsMatchingExpression = &client.ClaimsMatchingExpression{Value: v.exprValue, LanguageVersion: v.exprVersion}
	}
	if v.update {
		old, err := c.client.GetFederatedCredential(ctx, c.sub, v.group, v.identity, v.name)
		if err != nil {
			return nil, err
		}
		if p.Issuer == "" {
			p.Issuer = old.Properties.Issuer
		}
		if p.Subject == "" && p.ClaimsMatchingExpression == nil {
			// Neither given: keep whichever the credential has.
			p.Subject, p.ClaimsMatchingExpression = old.Properties.Subject, old.Properties.ClaimsMatchingExpression
		}
		if len(p.Audiences) == 0 {
			p.Audiences = old.Properties.Audiences
		}
	} else if len(p.Audiences) == 0 {
		p.Audiences = []string{DefaultAudience}
	}
	f, _, err := c.client.CreateOrUpdateFederatedCredential(ctx, c.sub, v.group, v.identity, v.name, p)
	if err != nil {
		return nil, err
	}
	return ficView(f), nil
}

// ficShow is `ward identity federated-credential show`.
type ficShow struct{ ficRef }

func (*ficShow) inSubscription() {}

func (v *ficShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewOf(ficView)(c.client.GetFederatedCredential(ctx, c.sub, v.group, v.identity, v.name))
}

// ficDelete is `ward identity federated-credential delete`.
type ficDelete struct{ ficRef }

func (*ficDelete) inSubscription() {}

func (v *ficDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	_, err := c.client.DeleteFederatedCredential(ctx, c.sub, v.group, v.identity, v.name)
	return nil, err
}

// ficList is `ward identity federated-credential list`.
type ficList struct{ ficIdentity }

func (*ficList) inSubscription() {}

func (v *ficList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewsOf(ficView)(c.client.ListFederatedCredentials(ctx, c.sub, v.group, v.identity))
}
