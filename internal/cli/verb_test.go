package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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
	if ch, ok := v.(checker); ok {
		if err := ch.check(cmd); err != nil {
			return "", "", err
		}
	}
	var out, errOut bytes.Buffer
	res, err := v.run(context.Background(), env{out: &out, errOut: &errOut, changed: cmd.Flags().Changed}, e.conn)
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
