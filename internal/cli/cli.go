// Package cli implements ward's management commands, shaped like az: the
// same nouns, verbs, flags, output formats (-o) and JMESPath queries
// (--query). Commands talk to a Ward server through the public client
// package only, never to storage.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
)

// Globals are the flags every management command takes.
type Globals struct {
	Data         string
	Output       string
	Query        string
	Subscription string
}

// AddGlobalFlags registers the shared flags on the root command.
func AddGlobalFlags(root *cobra.Command, g *Globals) {
	def := os.Getenv("WARD_DATA")
	if def == "" {
		def = "ward-data"
	}
	root.PersistentFlags().StringVar(&g.Data, "data", def, "data directory of the local server: its admin.json and ca.pem are the CLI's credentials (env WARD_DATA)")
	root.PersistentFlags().StringVarP(&g.Output, "output", "o", "json", "output format: "+strings.Join(outputFormats, ", "))
	root.PersistentFlags().StringVar(&g.Query, "query", "", "JMESPath query applied to the output, as in az")
	root.PersistentFlags().StringVar(&g.Subscription, "subscription", "", "subscription ID (default: the admin's subscription)")
}

// Commands returns the management command groups.
func Commands(g *Globals) []*cobra.Command {
	return []*cobra.Command{groupCmd(g), identityCmd(g), loginCmd(g), logoutCmd(), accountCmd(g), adCmd(g), monitorCmd(g), keysCmd(g), roleCmd(g), aksCmd(g), runCmd(g), doctorCmd(g)}
}

// profile is what `ward login` saves: a service principal and its server.
type profile struct {
	Server         string `json:"server"`
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
	CAFile         string `json:"caFile,omitempty"`
}

// configDir is where `ward login` keeps its profile: $WARD_CONFIG_DIR, else ~/.ward.
func configDir() string {
	if d := os.Getenv("WARD_CONFIG_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".ward"
	}
	return filepath.Join(home, ".ward")
}

func profilePath() string { return filepath.Join(configDir(), "profile.json") }

// conn is a connection to a Ward server as one principal.
type conn struct {
	client *client.Client
	creds  *client.ClientCredentials
	sub    string
	tenant string
	server string
}

// credentials finds who the CLI acts as: the `ward login` profile, unless
// --data was given or no profile exists; then the local server's admin.json.
func (g *Globals) credentials(cmd *cobra.Command) (profile, error) {
	dataFlag := cmd.Flags().Lookup("data")
	if dataFlag == nil || !dataFlag.Changed {
		if b, err := os.ReadFile(profilePath()); err == nil {
			var p profile
			if err := json.Unmarshal(b, &p); err != nil {
				return profile{}, fmt.Errorf("%s is not valid JSON: %w (run 'ward login' again)", profilePath(), err)
			}
			return p, nil
		}
	}
	path := filepath.Join(g.Data, "admin.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return profile{}, fmt.Errorf("not logged in and cannot read the admin credentials at %s (%v): run 'ward login --service-principal', start the server with 'ward serve', or point --data / WARD_DATA at its data directory", path, err)
	}
	var a client.Admin
	if err := json.Unmarshal(b, &a); err != nil {
		return profile{}, fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	return profile{Server: a.ResourceManager, TenantID: a.TenantID, SubscriptionID: a.SubscriptionID, ClientID: a.ClientID,
		ClientSecret: a.ClientSecret, CAFile: filepath.Join(g.Data, "ca.pem")}, nil
}

// connect builds a client that authenticates with OAuth 2 client
// credentials at the server's token endpoint, like az with a service principal.
func (g *Globals) connect(cmd *cobra.Command) (*conn, error) {
	p, err := g.credentials(cmd)
	if err != nil {
		return nil, err
	}
	return dial(p, g.Subscription)
}

func dial(p profile, subscription string) (*conn, error) {
	hc, err := client.NewHTTPClient(p.CAFile)
	if err != nil {
		return nil, err
	}
	server := strings.TrimSuffix(p.Server, "/")
	creds := &client.ClientCredentials{AuthorityHost: server, TenantID: p.TenantID, ClientID: p.ClientID,
		ClientSecret: p.ClientSecret, Resource: server, HTTP: hc}
	c, err := client.New(server, creds, client.Options{HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	sub := subscription
	if sub == "" {
		sub = p.SubscriptionID
	}
	return &conn{client: c, creds: creds, sub: sub, tenant: p.TenantID, server: server}, nil
}

// run wraps a command body: it connects, runs fn and renders its result.
func (g *Globals) run(fn func(ctx context.Context, c *client.Client, sub string) (any, error)) func(cmd *cobra.Command, args []string) error {
	return g.runConn(func(ctx context.Context, c *conn) (any, error) { return fn(ctx, c.client, c.sub) })
}

// runConn is run with the whole connection.
func (g *Globals) runConn(fn func(ctx context.Context, c *conn) (any, error)) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := g.connect(cmd)
		if err != nil {
			return err
		}
		res, err := fn(cmd.Context(), c)
		if err != nil {
			return err
		}
		if res == nil {
			return nil
		}
		return render(cmd.OutOrStdout(), res, g.Output, g.Query)
	}
}

// FormatError prints an error as az does: the code and message of a server
// error, or the text of a local one.
func FormatError(w io.Writer, err error) {
	var ce *client.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(w, "ERROR: (%s) %s\nCode: %s\nMessage: %s\n", ce.Code, ce.Message, ce.Code, ce.Message)
		return
	}
	fmt.Fprintf(w, "ERROR: %v\n", err)
}

// parseTags reads az-style tags: "k=v" items, from --tags values and any
// extra positional words; a lone "" clears.
func parseTags(items []string) (map[string]string, error) {
	tags := map[string]string{}
	for _, it := range items {
		for _, kv := range strings.Fields(it) {
			k, v, _ := strings.Cut(kv, "=")
			if k == "" {
				return nil, fmt.Errorf("invalid tag %q: use key=value", kv)
			}
			tags[k] = v
		}
	}
	return tags, nil
}

// requireFlags fails with az's wording when required flags are missing.
func requireFlags(cmd *cobra.Command, names ...string) error {
	var missing []string
	for _, n := range names {
		f := cmd.Flags().Lookup(n)
		if f == nil || f.Value.String() == "" || f.Value.String() == "[]" {
			long := "--" + n
			if f != nil && f.Shorthand != "" {
				long += "/-" + f.Shorthand
			}
			missing = append(missing, long)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	return nil
}
