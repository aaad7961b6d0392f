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
	"github.com/ward-id/ward/internal/podidmigrate"
)

// Globals are the flags every management command takes, and the cluster
// a test puts in place of the one a kubeconfig names.
type Globals struct {
	Data         string
	Output       string
	Query        string
	Subscription string

	// Kube, when not nil, is the cluster `ward migrate aad-pod-identity`
	// reads and changes instead of the one its --kubeconfig names:
	// test/e2e runs the verb in process against client-go's fake clientset
	// and a real ward serve. The binary leaves it nil.
	Kube *podidmigrate.Kube
}

// DefaultData is the data directory when --data is not given: $WARD_DATA,
// else ./ward-data.
func DefaultData() string {
	if d := os.Getenv("WARD_DATA"); d != "" {
		return d
	}
	return "ward-data"
}

// addGlobalFlags registers the shared flags on a management command group.
// They are not on the root, so that ward serve and ward webhook list only
// the flags that apply to them.
func addGlobalFlags(cmd *cobra.Command, g *Globals) {
	f := cmd.PersistentFlags()
	f.StringVar(&g.Data, "data", DefaultData(), "data directory of the local server: its admin.json and ca.pem are the CLI's credentials (env WARD_DATA)")
	f.StringVarP(&g.Output, "output", "o", "json", "output format: "+strings.Join(outputFormats, ", "))
	f.StringVar(&g.Query, "query", "", "JMESPath query applied to the output, as in az")
	f.StringVar(&g.Subscription, "subscription", "", "subscription ID (default: the one 'ward account show' names)")
}

// Commands returns the management command groups, each with the shared
// flags (--data, --output/-o, --query, --subscription).
func Commands(g *Globals) []*cobra.Command {
	cmds := []*cobra.Command{groupCmd(g), identityCmd(g), loginCmd(g), logoutCmd(), accountCmd(g), adCmd(g), monitorCmd(g), keysCmd(g), roleCmd(g), policyCmd(g), keyvaultCmd(g), acrCmd(g), storageCmd(g), aksCmd(g), providerCmd(g), featureCmd(g), connectedMachineCmd(g), runCmd(g), doctorCmd(g), consoleCmd(g), migrateCmd(g), imageCmd(g)}
	for _, c := range cmds {
		addGlobalFlags(c, g)
		if c.Name() == "migrate" {
			// A migration plan is read by a person first: its verb
			// prints text unless -o is given (migratePodIdentity.run).
			c.PersistentFlags().Lookup("output").DefValue = "table"
		}
	}
	return cmds
}

// profile is what `ward login` saves: a service principal, its server and
// the subscription commands act in (as az keeps in ~/.azure).
type profile struct {
	Server           string `json:"server"`
	TenantID         string `json:"tenantId"`
	SubscriptionID   string `json:"subscriptionId"`
	SubscriptionName string `json:"subscriptionName,omitempty"`
	ClientID         string `json:"clientId"`
	ClientSecret     string `json:"clientSecret"`
	CAFile           string `json:"caFile,omitempty"`

	// Source is the file the credentials were read from: the login
	// profile, or the local server's admin.json. Not saved.
	Source string `json:"-"`
	// Login is true when Source is a `ward login` profile.
	Login bool `json:"-"`
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
	client  *client.Client
	creds   *client.ClientCredentials
	sub     string
	tenant  string
	server  string
	profile profile
}

// subscription is the subscription to act in, or an error that says how to
// choose one (never an empty ID that would produce /subscriptions//...).
func (c *conn) subscription() (string, error) {
	if c.sub != "" {
		return c.sub, nil
	}
	return "", noSubscription(c.profile)
}

func noSubscription(p profile) error {
	return fmt.Errorf("no subscription is selected: %s records none (%s could read no subscription when it logged in); "+
		"pass --subscription ID, or run 'ward account set --subscription ID' (list them with 'ward account list'), "+
		"or 'ward logout' to act as the local admin again", p.Source, p.ClientID)
}

// credentials finds who the CLI acts as: the `ward login` profile, unless
// --data was given or no profile exists; then the local server's admin.json.
func (g *Globals) credentials(cmd *cobra.Command) (profile, error) {
	dataFlag := cmd.Flags().Lookup("data")
	if dataFlag == nil || !dataFlag.Changed {
		if p, ok, err := readProfile(); ok || err != nil {
			return p, err
		}
	}
	return g.localAdmin()
}

// localAdmin reads the local server's admin.json in --data, ignoring any
// login profile.
func (g *Globals) localAdmin() (profile, error) {
	path := filepath.Join(g.Data, "admin.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return profile{}, fmt.Errorf("not logged in and cannot read the admin credentials at %s (%v): run 'ward login --service-principal', start the server with 'ward serve', or point --data / WARD_DATA at its data directory", path, err)
	}
	var a client.Admin
	if err := json.Unmarshal(b, &a); err != nil {
		return profile{}, fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	// Absolute, so that the paths stay right in programs that change
	// directory (ward run's children get them in CA variables).
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	return profile{Server: a.ResourceManager, TenantID: a.TenantID, SubscriptionID: a.SubscriptionID, ClientID: a.ClientID,
		ClientSecret: a.ClientSecret, CAFile: abs(filepath.Join(g.Data, "ca.pem")), Source: abs(path)}, nil
}

// readProfile reads the `ward login` profile; ok is false when there is none.
func readProfile() (profile, bool, error) {
	b, err := os.ReadFile(profilePath())
	if errors.Is(err, os.ErrNotExist) {
		return profile{}, false, nil
	}
	if err != nil {
		return profile{}, false, err
	}
	var p profile
	if err := json.Unmarshal(b, &p); err != nil {
		return profile{}, false, fmt.Errorf("%s is not valid JSON: %w (run 'ward login' again, or 'ward logout')", profilePath(), err)
	}
	p.Source, p.Login = profilePath(), true
	return p, true, nil
}

// writeProfile saves the `ward login` profile, readable by the user only.
func writeProfile(p profile) error {
	if err := os.MkdirAll(configDir(), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp := profilePath() + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, profilePath())
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
	return &conn{client: c, creds: creds, sub: sub, tenant: p.TenantID, server: server, profile: p}, nil
}

// runConn connects, runs fn with the connection and renders its result.
func (g *Globals) runConn(fn func(ctx context.Context, c *conn) (any, error)) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := g.connect(cmd)
		if err != nil {
			return err
		}
		res, err := fn(cmd.Context(), c)
		if err != nil {
			return explain(err, c.profile)
		}
		if res == nil {
			return nil
		}
		return render(cmd.OutOrStdout(), res, g.Output, g.Query)
	}
}

// hintError is an error with a line of advice printed after it.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *hintError) Unwrap() error { return e.err }

// explain adds to a refusal who the CLI acted as, when that is a `ward
// login` principal rather than the local admin: the README's commands
// assume the admin.
func explain(err error, p profile) error {
	var ce *client.Error
	if !p.Login || !errors.As(err, &ce) || (ce.StatusCode != 401 && ce.StatusCode != 403) {
		return err
	}
	return &hintError{err: err, hint: fmt.Sprintf("the CLI acted as %s, logged in with 'ward login' (%s); grant it a role, or run 'ward logout' to act as the local admin in ward-data again", p.ClientID, p.Source)}
}

// FormatError prints an error as az does: the code and message of a server
// error, or the text of a local one; then any hint.
func FormatError(w io.Writer, err error) {
	hint := ""
	var he *hintError
	if errors.As(err, &he) {
		hint, err = he.hint, he.err
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(w, "ERROR: (%s) %s\nCode: %s\nMessage: %s\n", ce.Code, ce.Message, ce.Code, ce.Message)
	} else {
		fmt.Fprintf(w, "ERROR: %v\n", err)
	}
	if hint != "" {
		fmt.Fprintf(w, "HINT: %s\n", hint)
	}
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
