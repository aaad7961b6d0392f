package cli

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

// verbEnv is a real Ward server and a connection to it as its admin, for
// the two tests that drive the CLI's internals (the doctor's and ward
// run's hints, migrate with client-go's fake cluster) against the server's
// answers; every verb flow is in test/e2e.
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

// exec runs v against the server (execVerb).
func (e *verbEnv) exec(t *testing.T, v verb, args ...string) (string, string, error) {
	t.Helper()
	return execVerb(t, e.conn, v, args...)
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
