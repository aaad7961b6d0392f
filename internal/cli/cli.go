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
	return []*cobra.Command{groupCmd(g), identityCmd(g)}
}

// adminFile mirrors the server's admin.json.
type adminFile struct {
	TenantID        string `json:"tenantId"`
	SubscriptionID  string `json:"subscriptionId"`
	ClientID        string `json:"clientId"`
	ClientSecret    string `json:"clientSecret"`
	ResourceManager string `json:"resourceManager"`
}

// connect builds a client from the data directory's admin.json and ca.pem.
func (g *Globals) connect() (*client.Client, string, error) {
	path := filepath.Join(g.Data, "admin.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("cannot read the admin credentials at %s (%v): start the server with 'ward serve', or point --data / WARD_DATA at its data directory", path, err)
	}
	var a adminFile
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, "", fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	// Until the token service lands, the management API accepts the admin's
	// client secret as the bearer token.
	c, err := client.New(a.ResourceManager, client.StaticToken(a.ClientSecret), client.Options{CAFile: filepath.Join(g.Data, "ca.pem")})
	if err != nil {
		return nil, "", err
	}
	sub := g.Subscription
	if sub == "" {
		sub = a.SubscriptionID
	}
	return c, sub, nil
}

// run wraps a command body: it connects, runs fn and renders its result.
func (g *Globals) run(fn func(ctx context.Context, c *client.Client, sub string) (any, error)) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, sub, err := g.connect()
		if err != nil {
			return err
		}
		res, err := fn(cmd.Context(), c, sub)
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
