package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/server/servertest"
)

// verbEnv is a real Ward server and a connection to it as its admin, what
// the CLI's verbs run against in tests.
type verbEnv struct {
	srv  *servertest.Server
	conn *conn
}

func newVerbEnv(t *testing.T) *verbEnv {
	t.Helper()
	s := servertest.Start(t)
	c, err := dial(profile{Server: s.URL, TenantID: s.Admin.TenantID, SubscriptionID: s.Admin.SubscriptionID, ClientID: s.Admin.ClientID,
		ClientSecret: s.Admin.ClientSecret, CAFile: filepath.Join(s.DataDir, "ca.pem"), Source: "admin.json"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return &verbEnv{srv: s, conn: c}
}

// exec parses args into v's flags as cobra would, runs its check and run,
// and returns the rendered JSON result, what it wrote, and its error.
func (e *verbEnv) exec(t *testing.T, v verb, args ...string) (string, string, error) {
	t.Helper()
	cmd := &cobra.Command{Use: "verb"}
	v.flags(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	if wt, ok := v.(wordTaker); ok {
		wt.words(cmd.Flags().Args())
	}
	if ch, ok := v.(checker); ok {
		if err := ch.check(cmd); err != nil {
			return "", "", err
		}
	}
	var out, errOut bytes.Buffer
	res, err := runVerb(context.Background(), v, env{out: &out, errOut: &errOut, changed: cmd.Flags().Changed}, e.conn)
	if err != nil {
		return "", out.String() + errOut.String(), err
	}
	if res != nil {
		if err := render(&out, res, "json", ""); err != nil {
			t.Fatalf("render: %v", err)
		}
	}
	return out.String(), errOut.String(), nil
}

// wantErr fails unless err contains want ("" wants no error).
func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if want == "" && err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
		t.Fatalf("%s: error %v, want one containing %q", what, err, want)
	}
}

// step is one verb run of a table-driven verb test: steps run in order, so
// later ones see what earlier ones made.
type step struct {
	name    string
	v       verb
	args    []string
	want    []string // substrings of what it printed (rendered JSON, then stderr)
	wantErr string   // a substring of its error, "" for none
}

// runSteps runs each step as a subtest against e.
func (e *verbEnv) runSteps(t *testing.T, steps []step) {
	t.Helper()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, errOut, err := e.exec(t, st.v, st.args...)
			wantErr(t, strings.Join(st.args, " "), err, st.wantErr)
			for _, w := range st.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("%q printed\n%.2000s\n%s\nwant it to contain %s", st.args, out, errOut, w)
				}
			}
		})
	}
}

// wantStorageFault makes the store's method fail (until it returns) and checks that v,
// run with args, reports the server's clean 500: not a hang, a garbled
// answer, or the storage error's text.
func (e *verbEnv) wantStorageFault(t *testing.T, method string, v verb, args ...string) {
	t.Helper()
	e.srv.Store.Fail(method, errors.New("disk on fire"))
	defer e.srv.Store.Heal()
	_, _, err := e.exec(t, v, args...)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != 500 {
		t.Fatalf("%q with %s failing = %v, want a 500 from the server", args, method, err)
	}
	if strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("the server's 500 leaks the storage error: %v", err)
	}
}

// seed creates resource group rg (westeurope) and, when identity is not
// "", a user-assigned identity of that name in it, whose ID it returns.
func (e *verbEnv) seed(t *testing.T, identity string) string {
	t.Helper()
	ctx, sub := context.Background(), e.srv.Admin.SubscriptionID
	if _, _, err := e.srv.Client.CreateOrUpdateGroup(ctx, sub, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	if identity == "" {
		return ""
	}
	id, _, err := e.srv.Client.CreateOrUpdateIdentity(ctx, sub, "rg", identity, "westeurope", nil)
	if err != nil {
		t.Fatal(err)
	}
	return id.ID
}
