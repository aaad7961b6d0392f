package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
)

// The verbs' flows against a server are end-to-end tests
// (test/e2e/cli_verbs_test.go: the binary against `ward serve`). Here a
// verb runs with no server at all: what it checks, parses and renders
// before it sends anything.

// errNoServer is what a verb gets when it sends a request in a unit test:
// a verb that should have refused its flags first fails with it.
var errNoServer = errors.New("unit test: no server to send a request to")

type noServer struct{}

func (noServer) RoundTrip(*http.Request) (*http.Response, error) { return nil, errNoServer }

// offlineConn is a connection whose every request fails with errNoServer,
// in subscription sub ("" for none selected).
func offlineConn(t *testing.T, sub string) *conn {
	t.Helper()
	hc := &http.Client{Transport: noServer{}}
	cl, err := client.New("https://ward.test:8443", client.StaticToken("token"), client.Options{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	p := profile{Server: "https://ward.test:8443", TenantID: "tenant", SubscriptionID: sub, ClientID: "cli-app", Source: "admin.json"}
	return &conn{client: cl, creds: &client.ClientCredentials{ClientID: "cli-app", HTTP: hc}, sub: sub, tenant: "tenant", server: p.Server, profile: p}
}

// execVerb parses args into v's flags as cobra would, runs its check and
// run against c, and returns the rendered JSON result, what it wrote, and
// its error.
func execVerb(t *testing.T, c *conn, v verb, args ...string) (string, string, error) {
	t.Helper()
	cmd := &cobra.Command{Use: "verb"}
	v.flags(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		return "", "", err
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
	res, err := runVerb(context.Background(), v, env{out: &out, errOut: &errOut, changed: cmd.Flags().Changed}, c)
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
