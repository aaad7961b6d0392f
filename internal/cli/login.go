package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
)

func loginCmd(g *Globals) *cobra.Command {
	var sp bool
	var user, password, tenant, server, caFile string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in as a service principal, as 'az login --service-principal' does",
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if !sp {
				return errors.New("only service principal login is supported: ward login --service-principal -u <appId> -p <secret> --tenant <tenant>")
			}
			return requireFlags(cmd, "username", "password", "tenant")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if server == "" || caFile == "" {
				// Default to the local server's URL and CA.
				if a, err := g.credentials(cmd); err == nil {
					if server == "" {
						server = a.Server
					}
					if caFile == "" {
						caFile = a.CAFile
					}
				}
			}
			if server == "" {
				return errors.New("--server is required when no local ward-data is found")
			}
			if caFile != "" {
				if abs, err := filepath.Abs(caFile); err == nil {
					caFile = abs
				}
			}
			p := profile{Server: server, TenantID: tenant, ClientID: user, ClientSecret: password, CAFile: caFile}
			c, err := dial(p, "")
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if _, err := c.creds.Token(ctx); err != nil {
				return err
			}
			subs, err := c.client.ListSubscriptions(ctx)
			if err != nil {
				return err
			}
			if len(subs) > 0 {
				p.SubscriptionID = subs[0].SubscriptionID
			}
			if err := os.MkdirAll(configDir(), 0o700); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(p, "", "  ")
			if err := os.WriteFile(profilePath(), b, 0o600); err != nil {
				return err
			}
			out := []map[string]any{}
			for _, s := range subs {
				out = append(out, map[string]any{"cloudName": "Ward", "id": s.SubscriptionID, "isDefault": s.SubscriptionID == p.SubscriptionID,
					"name": s.DisplayName, "state": s.State, "tenantId": s.TenantID, "user": map[string]string{"name": user, "type": "servicePrincipal"}})
			}
			return render(cmd.OutOrStdout(), out, g.Output, g.Query)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&sp, "service-principal", false, "log in with a service principal's client ID and secret")
	f.StringVarP(&user, "username", "u", "", "the service principal's client ID (appId)")
	f.StringVarP(&password, "password", "p", "", "the client secret")
	f.StringVar(&tenant, "tenant", "", "tenant ID")
	f.StringVar(&server, "server", "", "Ward's URL (default: the local server in --data)")
	f.StringVar(&caFile, "ca-file", "", "CA bundle to trust for the server (default: the local server's ca.pem)")
	return cmd
}

func logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the 'ward login' profile",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.Remove(profilePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		},
	}
}

func accountCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "The signed-in account"}
	var resource string
	tok := &cobra.Command{
		Use:   "get-access-token",
		Short: "Get an access token for a resource, as 'az account get-access-token'",
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			res := resource
			if res == "" {
				res = "https://management.azure.com/"
			}
			creds := &client.ClientCredentials{AuthorityHost: c.creds.AuthorityHost, TenantID: c.creds.TenantID,
				ClientID: c.creds.ClientID, ClientSecret: c.creds.ClientSecret, Resource: res, HTTP: c.creds.HTTP}
			t, err := creds.Get(ctx)
			if err != nil {
				return nil, err
			}
			return map[string]any{
				"accessToken": t.AccessToken, "expiresOn": t.ExpiresOn.Local().Format("2006-01-02 15:04:05.000000"),
				"expires_on": t.ExpiresOn.Unix(), "subscription": c.sub, "tenant": c.tenant, "tokenType": "Bearer",
			}, nil
		}),
	}
	tok.Flags().StringVar(&resource, "resource", "", "resource (audience) of the token (default https://management.azure.com/)")
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the current subscription",
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			subs, err := c.client.ListSubscriptions(ctx)
			if err != nil {
				return nil, err
			}
			for _, s := range subs {
				if s.SubscriptionID == c.sub {
					return map[string]any{"id": s.SubscriptionID, "name": s.DisplayName, "state": s.State, "tenantId": s.TenantID, "isDefault": true,
						"user": map[string]string{"name": c.creds.ClientID, "type": "servicePrincipal"}}, nil
				}
			}
			return nil, fmt.Errorf("subscription %s not found", c.sub)
		}),
	}
	cmd.AddCommand(tok, show)
	return cmd
}

func monitorCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "monitor", Short: "Logs"}
	signIns := &cobra.Command{Use: "sign-ins", Short: "The sign-in log: every token issued or refused"}
	var offset time.Duration
	var top int
	list := &cobra.Command{
		Use:   "list",
		Short: "List sign-ins, newest first",
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			items, err := c.client.ListSignIns(ctx, time.Now().Add(-offset), top)
			if err != nil {
				return nil, err
			}
			out := []map[string]any{}
			for _, s := range items {
				out = append(out, map[string]any{
					"time": s.CreatedDateTime, "clientId": s.AppID, "result": s.Result, "errorCode": s.Status.ErrorCode,
					"reason": s.Status.FailureReason, "resource": s.ResourceID, "credential": s.ClientCredentialType,
					"identity": s.ManagedIdentityResourceID, "issuer": s.FederatedTokenIssuer, "subject": s.FederatedTokenID,
				})
			}
			return out, nil
		}),
	}
	list.Flags().DurationVar(&offset, "offset", time.Hour, "how far back to look, e.g. 1h, 30m")
	list.Flags().IntVar(&top, "top", 100, "at most this many records")
	signIns.AddCommand(list)
	activity := &cobra.Command{Use: "activity-log", Short: "The activity log: every management write"}
	var actOffset time.Duration
	actList := &cobra.Command{
		Use:   "list",
		Short: "List management writes, newest first",
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			items, err := c.client.ListActivity(ctx, c.sub, time.Now().Add(-actOffset).UTC().Format(time.RFC3339))
			if err != nil {
				return nil, err
			}
			out := []map[string]any{}
			for _, e := range items {
				out = append(out, map[string]any{"time": e.EventTimestamp, "caller": e.Caller, "operation": e.Authorization.Action,
					"scope": e.Authorization.Scope, "status": e.Status.Value, "subStatus": e.SubStatus.Value,
					"method": e.HTTPRequest.Method, "correlationId": e.CorrelationID, "resourceGroup": e.ResourceGroupName})
			}
			return out, nil
		}),
	}
	actList.Flags().DurationVar(&actOffset, "offset", 6*time.Hour, "how far back to look, e.g. 1h")
	activity.AddCommand(actList)
	cmd.AddCommand(signIns, activity)
	return cmd
}

func keysCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Token-signing keys"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Sign with a new key from now on; earlier keys stay published until their tokens expire",
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			return c.client.RotateSigningKey(ctx)
		}),
	})
	return cmd
}
