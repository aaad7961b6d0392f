package e2e

import (
	"context"
	"net/url"
	"os/exec"
	"testing"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/shellquote/shellquotetest"
)

// TestCLIHintsQuoteServerValues runs the binary's hints on values as ward
// serve hands them back: a resource group name with parentheses, and a
// federated credential naming the cluster's issuer path at a host that URL
// parsing lets hold quotes and a semicolon. ward aks show, ward doctor,
// ward aks show-apiserver-flags and ward run put them into commands, each
// of which runs under sh -c as exactly the arguments it names. Hostile
// values of every kind are internal/cli's table tests (hints_test.go).
func TestCLIHintsQuoteServerValues(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	ctx, sub := context.Background(), e.w.admin.SubscriptionID
	const group = "rg(1)"
	if _, _, err := e.api.CreateOrUpdateGroup(ctx, sub, group, "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.PutCluster(ctx, sub, group, "plain", map[string]any{"location": "westeurope"}); err != nil {
		t.Fatal(err)
	}
	cl, err := e.api.PutCluster(ctx, sub, group, "c1", map[string]any{"location": "westeurope",
		"properties": map[string]any{"oidcIssuerProfile": map[string]any{"enabled": true}}})
	if err != nil {
		t.Fatal(err)
	}
	iss := cl.Properties.OIDCIssuerProfile.IssuerURL
	id, _, err := e.api.CreateOrUpdateIdentity(ctx, sub, group, "app-id", "westeurope", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(iss)
	if err != nil {
		t.Fatal(err)
	}
	const movedHost = "a';id;'b:1"
	for name, issuer := range map[string]string{"other": iss, "moved": "https://" + movedHost + u.Path} {
		if _, _, err := e.api.CreateOrUpdateFederatedCredential(ctx, sub, group, "app-id", name, client.FederatedCredentialProperties{
			Issuer: issuer, Subject: "system:serviceaccount:shop:" + name, Audiences: []string{"api://AzureADTokenExchange"}}); err != nil {
			t.Fatal(err)
		}
	}
	moved := [][]string{{"ward", "serve", "--public-url", "https://" + movedHost},
		{"ward", "identity", "federated-credential", "update", "--name", "NAME", "--identity-name", "IDENTITY", "-g", "GROUP", "--issuer", iss}}

	_, warnings, code := e.w.cli("aks", "show", "-n", "c1", "-g", group)
	if code != 0 {
		t.Fatalf("aks show: exit %d\n%s", code, warnings)
	}
	shellquotetest.Commands(t, warnings, moved...)

	// The doctor without a kubeconfig: the moved credential, and for
	// shop/app, which no credential names, the nearest credential's fix
	// and the missing role.
	out, _, code := e.w.cli("doctor", "serviceaccount", "shop/app", "--cluster", "c1", "-g", group)
	if code == 0 {
		t.Errorf("doctor with failed checks exited 0:\n%s", out)
	}
	shellquotetest.Commands(t, out, append(moved,
		[]string{"ward", "aks", "update", "-n", "c1", "-g", group, "--enable-workload-identity"},
		[]string{"ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", "app-id", "-g", group, "--issuer", iss, "--subject", "system:serviceaccount:shop:app"},
		[]string{"ward", "role", "assignment", "create", "--assignee", id.Properties.ClientID, "--role", "Key Vault Secrets User", "--scope", "VAULT_ID"})...)

	out, _, _ = e.w.cli("doctor", "serviceaccount", "shop/app", "--cluster", "plain", "-g", group)
	shellquotetest.Commands(t, out, []string{"ward", "aks", "update", "-n", "plain", "-g", group, "--enable-oidc-issuer", "--enable-workload-identity"})

	_, errOut, code := e.w.cli("aks", "show-apiserver-flags", "-n", "plain", "-g", group)
	if code == 0 {
		t.Fatal("show-apiserver-flags without an issuer succeeded")
	}
	shellquotetest.Commands(t, errOut, []string{"ward", "aks", "update", "-n", "plain", "-g", group, "--enable-oidc-issuer"})

	// ward run for a service account no identity trusts.
	run := exec.Command(wardBin, "run", "--data", e.w.dataDir, "--cluster", "c1", "-g", group, "--service-account", "shop/app", "--", "true")
	runOut, err := run.CombinedOutput()
	if err == nil {
		t.Fatalf("ward run without a trusting identity succeeded:\n%s", runOut)
	}
	shellquotetest.Commands(t, string(runOut), []string{"ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", "IDENTITY", "-g", "GROUP",
		"--issuer", iss, "--subject", "system:serviceaccount:shop:app"})
}
