package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/logtest"
	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/server"
	"github.com/ward-id/ward/internal/server/servertest"
	"github.com/ward-id/ward/internal/storage"
	sqlstore "github.com/ward-id/ward/internal/storage/sql"
)

func logTo(w io.Writer) func(*server.Config) {
	return func(c *server.Config) { c.Logger = slog.New(slog.NewTextHandler(w, nil)) }
}

// armStatus lists the default subscription's groups as a (client ID,
// secret) and returns the status: 200 for an Owner.
func armStatus(t *testing.T, s *servertest.Server, clientID, secret string) int {
	t.Helper()
	creds := &client.ClientCredentials{AuthorityHost: s.Admin.AuthorityHost, TenantID: s.Admin.TenantID, ClientID: clientID, ClientSecret: secret,
		Resource: "https://management.azure.com/", HTTP: s.HTTP}
	tok, err := creds.Token(context.Background())
	if err != nil {
		t.Fatalf("token for %s: %v", clientID, err)
	}
	resp, _ := s.Do(t, "GET", "/subscriptions/"+s.Admin.SubscriptionID+"/resourcegroups?api-version=2021-04-01", tok, nil)
	return resp.StatusCode
}

// hasRole answers whether the principal holds role at "/" in the store.
func hasRole(t *testing.T, s *servertest.Server, objectID, role string) bool {
	t.Helper()
	_, err := s.Store.FindRoleAssignment(context.Background(), "/", objectID, role)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestAdminIsTheOperators: the bootstrap runs once. An operator demotes the
// admin, rotates its secret and deletes it through the normal API, and
// every restart keeps the change and serves; `ward admin create` (its
// function) then makes a new admin that calls ARM, on the running server
// and after the next restart.
func TestAdminIsTheOperators(t *testing.T) {
	ctx := context.Background()
	var log logtest.Buffer
	s := servertest.Start(t, logTo(&log))
	first := s.Admin
	sp, err := s.Store.GetServicePrincipalByAppID(ctx, first.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !hasRole(t, s, sp.ObjectID, rbac.OwnerID) || !hasRole(t, s, sp.ObjectID, rbac.KeyVaultSecretsOfficerID) {
		t.Fatal("the first start did not grant the admin Owner and Key Vault Secrets Officer at /")
	}

	// Demote: the admin gives up Key Vault Secrets Officer at "/".
	ra, err := s.Store.FindRoleAssignment(ctx, "/", sp.ObjectID, rbac.KeyVaultSecretsOfficerID)
	if err != nil {
		t.Fatal(err)
	}
	tok := s.Token(t, "https://management.azure.com/")
	if resp, b := s.Do(t, "DELETE", "/providers/Microsoft.Authorization/roleAssignments/"+ra.ID+"?api-version=2022-04-01", tok, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("demote: %d %s", resp.StatusCode, b)
	}
	// Rotate: a new secret, the bootstrap one removed.
	secrets, _, err := s.Store.ListClientSecrets(ctx, first.ClientID, storage.Page{Limit: 10})
	if err != nil || len(secrets) != 1 {
		t.Fatalf("the admin's secrets: %v %v", secrets, err)
	}
	pc, err := s.Client.AddPassword(ctx, sp.ObjectID, "rotated", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Client.RemovePassword(ctx, sp.ObjectID, secrets[0].KeyID); err != nil {
		t.Fatal(err)
	}

	s = s.Restart(t, logTo(&log))
	if hasRole(t, s, sp.ObjectID, rbac.KeyVaultSecretsOfficerID) {
		t.Fatal("a restart granted the demoted admin Key Vault Secrets Officer at / again")
	}
	if !hasRole(t, s, sp.ObjectID, rbac.OwnerID) {
		t.Fatal("a restart took the admin's Owner away")
	}
	if !strings.Contains(log.String(), "its client secret was removed") {
		t.Errorf("no warning that admin.json's secret is stale; log:\n%s", log.String())
	}
	if got := armStatus(t, s, first.ClientID, pc.SecretText); got != http.StatusOK {
		t.Fatalf("the rotated secret after a restart: ARM %d", got)
	}
	// The operator puts the new secret into admin.json: starts keep it.
	rotated := s.Admin
	rotated.ClientSecret = pc.SecretText
	b, err := json.Marshal(rotated)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.DataDir, server.AdminFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	s = s.Restart(t)
	if s.Admin.ClientSecret != pc.SecretText {
		t.Fatal("a restart replaced the rotated secret in admin.json with the bootstrap one")
	}
	s.Token(t, "https://management.azure.com/")

	// Delete: the admin deletes itself (any Owner at "/" may).
	c, err := client.New(s.Admin.ResourceManager, &client.ClientCredentials{AuthorityHost: s.Admin.AuthorityHost, TenantID: s.Admin.TenantID,
		ClientID: first.ClientID, ClientSecret: pc.SecretText, Resource: s.URL, HTTP: s.HTTP}, client.Options{HTTPClient: s.HTTP})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteServicePrincipal(ctx, sp.ObjectID); err != nil {
		t.Fatalf("delete the admin: %v", err)
	}
	s = s.Restart(t, logTo(&log)) // fails the test if serve refuses to start
	if !strings.Contains(log.String(), "its service principal was deleted") {
		t.Errorf("no warning that admin.json names a deleted principal; log:\n%s", log.String())
	}

	// Recover on the running server, as `ward admin create` does.
	created, err := server.CreateAdmin(ctx, server.Config{DataDir: s.DataDir, Store: s.Store})
	if err != nil {
		t.Fatalf("create an admin: %v", err)
	}
	if created.ClientID == first.ClientID || created.TenantID != first.TenantID || created.SubscriptionID != first.SubscriptionID {
		t.Fatalf("new admin %+v, want a new client in tenant %s", created, first.TenantID)
	}
	deadline := time.Now().Add(2 * time.Second)
	for armStatus(t, s, created.ClientID, created.ClientSecret) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the new admin cannot call ARM on the running server within 2s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s = s.Restart(t, logTo(&log))
	if s.Admin.ClientID != created.ClientID || s.Admin.ClientSecret != created.ClientSecret {
		t.Fatalf("admin.json after a restart names %s, want the new admin %s", s.Admin.ClientID, created.ClientID)
	}
	if got := armStatus(t, s, created.ClientID, created.ClientSecret); got != http.StatusOK {
		t.Fatalf("the new admin after a restart: ARM %d", got)
	}
}

// TestLegacyDatabaseIsNotBootstrappedAgain: a database from a version
// before the bootstrap record (it has a subscription, no record) is not
// bootstrapped again, and its admin not re-granted a role an operator took.
func TestLegacyDatabaseIsNotBootstrappedAgain(t *testing.T) {
	ctx := context.Background()
	s := servertest.Start(t)
	sp, err := s.Store.GetServicePrincipalByAppID(ctx, s.Admin.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := s.Store.FindRoleAssignment(ctx, "/", sp.ObjectID, rbac.KeyVaultSecretsOfficerID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.DeleteRoleAssignment(ctx, ra.ID); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	db, ok := s.Store.Storage.(*sqlstore.DB)
	if !ok {
		t.Fatalf("store is %T", s.Store.Storage)
	}
	if _, err := db.SQLDB().ExecContext(ctx, `DELETE FROM settings WHERE name = 'bootstrapped'`); err != nil {
		t.Fatal(err)
	}
	admin := s.Admin
	s = s.Restart(t)
	if s.Admin.ClientID != admin.ClientID || s.Admin.TenantID != admin.TenantID {
		t.Fatalf("a restart made a new admin %+v, want %+v", s.Admin, admin)
	}
	if hasRole(t, s, sp.ObjectID, rbac.KeyVaultSecretsOfficerID) {
		t.Fatal("a database from before the record had its admin re-granted at start")
	}
	if _, err := s.Store.GetSetting(ctx, "bootstrapped"); err != nil {
		t.Fatalf("the start did not record the bootstrap: %v", err)
	}
}
