package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/audience"
	"github.com/ward-id/ward/internal/shellquote"
)

func loginCmd(g *Globals) *cobra.Command {
	var sp bool
	var user, password, tenant, server, caFile string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in as a service principal, as 'az login --service-principal' does; every later command acts as it until 'ward logout'",
		Long: `Log in as a service principal, as 'az login --service-principal' does.

The profile (in $WARD_CONFIG_DIR, else ~/.ward) records the server, the
principal and the subscription to act in: --subscription, else the first one
the principal can read, else the tenant's default subscription from the local
ward-data. Every later command acts as this principal, in place of the local
admin in ward-data, until 'ward logout' (or a command given --data).
'ward account show' says which profile and server are in use.`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if !sp {
				return errors.New("only service principal login is supported: ward login --service-principal -u <appId> -p <secret> --tenant <tenant>")
			}
			return requireFlags(cmd, "username", "password", "tenant")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// The local server, for its URL, CA and default subscription.
			var local *profile
			if a, err := g.localAdmin(); err == nil {
				local = &a
			}
			if server == "" || caFile == "" {
				if prev, err := g.credentials(cmd); err == nil {
					if server == "" {
						server = prev.Server
					}
					if caFile == "" && strings.TrimSuffix(prev.Server, "/") == strings.TrimSuffix(server, "/") {
						caFile = prev.CAFile
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
			p := profile{Server: server, TenantID: tenant, ClientID: user, ClientSecret: password, CAFile: caFile, Source: profilePath(), Login: true}
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
			var localDefault string
			if local != nil && strings.EqualFold(local.TenantID, tenant) && strings.TrimSuffix(local.Server, "/") == strings.TrimSuffix(server, "/") {
				localDefault = local.SubscriptionID
			}
			chosen, warning, err := chooseSubscription(subs, g.Subscription, localDefault, user)
			if err != nil {
				return err
			}
			if chosen.TenantID == "" && chosen.SubscriptionID != "" {
				chosen.TenantID = tenant
			}
			p.SubscriptionID, p.SubscriptionName = chosen.SubscriptionID, chosen.DisplayName
			if err := writeProfile(p); err != nil {
				return err
			}
			if warning != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "WARNING: "+warning)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Logged in to %s as %s; profile %s.\nEvery ward command now acts as this service principal instead of the local admin (unless given --data); 'ward logout' goes back.\n",
				strings.TrimSuffix(server, "/"), user, profilePath())
			out := []map[string]any{}
			listed := false
			for _, s := range subs {
				listed = listed || s.SubscriptionID == p.SubscriptionID
				out = append(out, accountView(s, s.SubscriptionID == p.SubscriptionID, user))
			}
			if !listed && p.SubscriptionID != "" {
				out = append(out, accountView(chosen, true, user))
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

// chooseSubscription picks the subscription a login records, as az does:
// the one asked for (by ID or name), else the first enabled one the
// principal can read; a principal that can read none gets the tenant's
// default subscription, with a warning that it needs a role there.
func chooseSubscription(visible []client.Subscription, want, tenantDefault, user string) (client.Subscription, string, error) {
	if want != "" {
		for _, s := range visible {
			if strings.EqualFold(s.SubscriptionID, want) || s.DisplayName == want {
				return s, "", nil
			}
		}
		if !guidRE.MatchString(want) {
			return client.Subscription{}, "", fmt.Errorf("subscription %q is not one %s can read; give its ID", want, user)
		}
		return client.Subscription{SubscriptionID: want, TenantID: ""},
			fmt.Sprintf("%s cannot read subscription %s (yet): commands will be refused until it holds a role there, e.g. %s", user, want,
				shellquote.Join("ward", "role", "assignment", "create", "--assignee", user, "--role", "Reader", "--scope", "/subscriptions/"+want)), nil
	}
	for _, s := range visible {
		if s.State == "" || strings.EqualFold(s.State, "Enabled") {
			return s, "", nil
		}
	}
	if len(visible) > 0 {
		return visible[0], "", nil
	}
	if tenantDefault != "" {
		return client.Subscription{SubscriptionID: tenantDefault},
			fmt.Sprintf("%s can read no subscription yet; recorded the tenant's default subscription %s. Commands are refused until it holds a role; as the admin (after ward logout, or with --data ward-data) run %s", user, tenantDefault,
				shellquote.Join("ward", "role", "assignment", "create", "--assignee", user, "--role", "Contributor", "--scope", "/subscriptions/"+tenantDefault)), nil
	}
	return client.Subscription{}, fmt.Sprintf("no subscriptions found for %s: commands that act in a subscription need --subscription ID, or 'ward account set --subscription ID' once it holds a role", user), nil
}

func accountView(s client.Subscription, isDefault bool, user string) map[string]any {
	return map[string]any{"cloudName": "Ward", "id": s.SubscriptionID, "isDefault": isDefault, "name": s.DisplayName, "state": s.State,
		"tenantId": s.TenantID, "user": map[string]string{"name": user, "type": "servicePrincipal"}}
}

func logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the 'ward login' profile: commands act as the local admin in ward-data again",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.Remove(profilePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		},
	}
}

func accountCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "The signed-in account and its subscription"}
	tok := noArgs(g.command("get-access-token", "Get an access token for a resource, as 'az account get-access-token'", &accountToken{}))
	show := noArgs(g.command("show", "Show the subscription in use, who the CLI acts as, and which profile and server", &accountShow{}))
	list := noArgs(g.command("list", "List the subscriptions the CLI's principal can read", &accountList{}))
	set := &cobra.Command{
		Use:   "set",
		Short: "Set the subscription the 'ward login' profile acts in (--subscription ID or name)",
		Args:  cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return requireFlags(cmd, "subscription")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// Who the CLI acts as, as every other command finds it: the
			// 'ward login' profile, or the local admin (--data, or no profile).
			p, err := g.credentials(cmd)
			if err != nil {
				return err
			}
			c, err := dial(p, "")
			if err != nil {
				return err
			}
			subs, err := c.client.ListSubscriptions(cmd.Context())
			if err != nil {
				return explain(err, p)
			}
			chosen, warning, err := chooseSubscription(subs, g.Subscription, "", p.ClientID)
			if err != nil {
				return err
			}
			if warning != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "WARNING: "+warning)
			}
			if !p.Login {
				// The guides' first line, `az account set --subscription <id>`:
				// the local admin's own subscription is already the one in use.
				if strings.EqualFold(chosen.SubscriptionID, p.SubscriptionID) {
					return nil
				}
				return fmt.Errorf("the local admin (%s) acts in subscription %s, not %s: give other commands --subscription %s, or 'ward login' and then set it",
					p.Source, p.SubscriptionID, chosen.SubscriptionID, chosen.SubscriptionID)
			}
			p.SubscriptionID, p.SubscriptionName = chosen.SubscriptionID, chosen.DisplayName
			return writeProfile(p)
		},
	}
	cmd.AddCommand(tok, show, list, set)
	return cmd
}

// accountToken is `ward account get-access-token`.
type accountToken struct{ resource string }

func (v *accountToken) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.resource, "resource", "", "resource (audience) of the token (default https://management.azure.com/)")
}

func (v *accountToken) run(ctx context.Context, _ env, c *conn) (any, error) {
	res := v.resource
	if res == "" {
		res = audience.Management
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
}

// accountShow is `ward account show`.
type accountShow struct{}

func (v *accountShow) flags(*cobra.Command) {}

func (v *accountShow) run(ctx context.Context, e env, c *conn) (any, error) {
	return showAccount(ctx, e.errOut, c)
}

// accountList is `ward account list`.
type accountList struct{}

func (v *accountList) flags(*cobra.Command) {}

func (v *accountList) run(ctx context.Context, _ env, c *conn) (any, error) {
	subs, err := c.client.ListSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, s := range subs {
		out = append(out, accountView(s, s.SubscriptionID == c.sub, c.creds.ClientID))
	}
	return out, nil
}

// showAccount is az account show plus where the CLI's credentials come
// from: which profile, which server.
func showAccount(ctx context.Context, errOut io.Writer, c *conn) (map[string]any, error) {
	kind := "ward login profile ('ward logout' returns to the local admin)"
	if !c.profile.Login {
		kind = "local server admin (admin.json in --data; no ward login profile in use)"
	}
	out := map[string]any{
		"environmentName": "Ward", "id": c.sub, "isDefault": true, "name": c.profile.SubscriptionName, "state": "",
		"tenantId": c.tenant, "homeTenantId": c.tenant,
		"user":   map[string]string{"name": c.creds.ClientID, "type": "servicePrincipal"},
		"server": c.server, "profile": c.profile.Source, "profileType": kind,
	}
	if c.sub == "" {
		fmt.Fprintln(errOut, "WARNING: "+noSubscription(c.profile).Error())
		return out, nil
	}
	subs, err := c.client.ListSubscriptions(ctx)
	if err != nil {
		return nil, explain(err, c.profile)
	}
	for _, s := range subs {
		if strings.EqualFold(s.SubscriptionID, c.sub) {
			out["name"], out["state"], out["tenantId"] = s.DisplayName, s.State, s.TenantID
			return out, nil
		}
	}
	fmt.Fprintf(errOut, "WARNING: %s cannot read subscription %s: commands in it will be refused until it holds a role there\n", c.creds.ClientID, c.sub)
	return out, nil
}

func monitorCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "monitor", Short: "Logs"}
	signIns := &cobra.Command{Use: "sign-ins", Short: "The sign-in log: every token issued or refused"}
	signIns.AddCommand(g.command("list", "List sign-ins, newest first", &signInList{}))
	activity := &cobra.Command{Use: "activity-log", Short: "The activity log: every management write"}
	activity.AddCommand(g.command("list", "List management writes, newest first", &activityList{}))
	cmd.AddCommand(signIns, activity)
	return cmd
}

// signInList is `ward monitor sign-ins list`.
type signInList struct {
	offset offsetValue
	top    int
}

func (v *signInList) flags(cmd *cobra.Command) {
	v.offset = offsetValue(time.Hour)
	cmd.Flags().Var(&v.offset, "offset", "how far back to look, e.g. 1d, 2h, 30m, 1d2h")
	cmd.Flags().IntVar(&v.top, "top", 100, "at most this many records")
}

func (v *signInList) run(ctx context.Context, _ env, c *conn) (any, error) {
	items, err := c.client.ListSignIns(ctx, time.Now().Add(-time.Duration(v.offset)), v.top)
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
}

// activityList is `ward monitor activity-log list`, with az's flags and
// az's output: each event as ARM returns it (operationName.value,
// status.value, resourceGroupName, ...), newest first.
type activityList struct {
	offset                                           offsetValue
	group, resourceID, correlationID, caller, status string
	provider, startTime, endTime                     string
	maxEvents                                        int
}

func (v *activityList) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	v.offset = offsetValue(6 * time.Hour)
	f.Var(&v.offset, "offset", "how far back from --end-time (or forward from --start-time) to look, as az takes it (1d, 2h, 30m, 1d2h) or as a duration (1h30m)")
	f.StringVarP(&v.group, "resource-group", "g", "", "only events in this resource group")
	f.StringVar(&v.resourceID, "resource-id", "", "only events of this resource")
	f.StringVar(&v.correlationID, "correlation-id", "", "only events of this correlation ID")
	f.StringVar(&v.provider, "resource-provider", "", "only events of this resource provider namespace")
	f.StringVar(&v.caller, "caller", "", "only events of this caller (client ID)")
	f.StringVar(&v.status, "status", "", "only events with this status (Succeeded, Failed)")
	f.StringVar(&v.startTime, "start-time", "", "start of the window, RFC 3339 (default: --end-time minus --offset)")
	f.StringVar(&v.endTime, "end-time", "", "end of the window, RFC 3339 (default: now)")
	f.IntVar(&v.maxEvents, "max-events", 50, "at most this many events")
}

// filter is the $filter az builds from the same flags.
func (v *activityList) filter(now time.Time) (string, error) {
	parse := func(name, s string) (time.Time, error) {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return t, fmt.Errorf("--%s %q is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)", name, s)
		}
		return t, nil
	}
	end, start := now, time.Time{}
	var err error
	if v.endTime != "" {
		if end, err = parse("end-time", v.endTime); err != nil {
			return "", err
		}
	}
	if v.startTime != "" {
		if start, err = parse("start-time", v.startTime); err != nil {
			return "", err
		}
		if v.endTime == "" {
			end = start.Add(time.Duration(v.offset))
		}
	} else {
		start = end.Add(-time.Duration(v.offset))
	}
	f := fmt.Sprintf("eventTimestamp ge '%s' and eventTimestamp le '%s'", start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
	for _, c := range []struct{ field, value string }{{"correlationId", v.correlationID}, {"resourceGroupName", v.group}, {"resourceId", v.resourceID},
		{"resourceProvider", v.provider}, {"caller", v.caller}, {"status", v.status}} {
		if c.value != "" {
			if strings.Contains(c.value, "'") {
				return "", fmt.Errorf("%s %q may not contain a quote", c.field, c.value)
			}
			f += fmt.Sprintf(" and %s eq '%s'", c.field, c.value)
		}
	}
	return f, nil
}

func (v *activityList) run(ctx context.Context, _ env, c *conn) (any, error) {
	f, err := v.filter(time.Now())
	if err != nil {
		return nil, err
	}
	items, err := c.client.ListActivityEvents(ctx, c.sub, f)
	if err != nil {
		return nil, err
	}
	if v.maxEvents > 0 && len(items) > v.maxEvents {
		items = items[:v.maxEvents]
	}
	return items, nil
}

func keysCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Token-signing keys"}
	cmd.AddCommand(g.command("rotate", "Sign with a new key from now on; earlier keys stay published until their tokens expire", &keysRotate{}))
	return cmd
}

// keysRotate is `ward keys rotate`.
type keysRotate struct{}

func (v *keysRotate) flags(*cobra.Command) {}

func (v *keysRotate) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.RotateSigningKey(ctx)
}
