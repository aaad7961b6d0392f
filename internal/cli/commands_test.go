package cli

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/shellquote"
	"github.com/ward-id/ward/internal/shellquote/shellquotetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// wantCommands checks that text holds each of want as a command: the
// command's quoted form, run under sh -c from where it starts to the end
// of its line (so that whatever the hint put after it runs too), runs
// exactly that program with exactly those arguments, and nothing else
// runs (see shellquotetest.Args).
func wantCommands(t *testing.T, text string, want ...[]string) {
	t.Helper()
	for _, w := range want {
		q := shellquote.Join(w...)
		i := strings.Index(text, q)
		if i < 0 {
			t.Errorf("%q is not in\n%s", q, text)
			continue
		}
		line := text[i:]
		if n := strings.IndexByte(line[len(q):], '\n'); n >= 0 {
			line = line[:len(q)+n]
		}
		shellquotetest.Args(t, line, w, w[0])
	}
}

// TestHintsQuoteHostileValues plants hostile values in what the CLI's
// install text, join instructions and login hints put into commands, and
// runs each command under sh -c: each value reaches the program as one
// argument, byte for byte, and nothing else runs.
func TestHintsQuoteHostileValues(t *testing.T) {
	for _, v := range shellquotetest.Hostile {
		cluster := installTarget{Name: v, Group: v + "(1)"}
		install, err := installManifests(cluster, "tenant", "https://ward.example.com/", "ward:dev", "")
		if err != nil {
			t.Fatal(err)
		}
		agent, err := agentInstall(cluster, "https://ward.example.com", "", "ward:dev")
		if err != nil {
			t.Fatal(err)
		}
		enable := []string{"ward", "aks", "update", "-n", v, "-g", v + "(1)", "--enable-oidc-issuer"}
		wantCommands(t, install, enable)
		wantCommands(t, agent, enable)

		join := joinInstructions(&conn{server: "https://" + v}, "tok"+v, "later")
		wantCommands(t, join, []string{"ward", "agent", "join", "--server", "https://" + v, "--ca-file", "/etc/ward/ca.pem", "--token", "tok" + v})

		if v == "" {
			continue // no tenant ID: the hint names no subscription
		}
		_, hint, err := chooseSubscription(nil, "", v, "app"+v)
		if err != nil {
			t.Fatal(err)
		}
		wantCommands(t, hint, []string{"ward", "role", "assignment", "create", "--assignee", "app" + v, "--role", "Contributor", "--scope", "/subscriptions/" + v})
		_, hint, _ = chooseSubscription(nil, "00000000-0000-0000-0000-0000000000aa", "", "app"+v)
		wantCommands(t, hint, []string{"ward", "role", "assignment", "create", "--assignee", "app" + v, "--role", "Reader", "--scope", "/subscriptions/00000000-0000-0000-0000-0000000000aa"})
	}
}

// TestServerHintsQuoteValues runs the hints that come back from a real
// server: a resource group name may hold parentheses, a federated
// credential's subject nearly anything, and the doctor and ward run put
// them into commands.
func TestServerHintsQuoteValues(t *testing.T) {
	e := newVerbEnv(t)
	ctx, sub := context.Background(), e.srv.Admin.SubscriptionID
	const group = "rg(1)"
	if _, _, err := e.srv.Client.CreateOrUpdateGroup(ctx, sub, group, "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Client.PutCluster(ctx, sub, group, "plain", map[string]any{"location": "westeurope"}); err != nil {
		t.Fatal(err)
	}
	cl, err := e.srv.Client.PutCluster(ctx, sub, group, "c1", map[string]any{"location": "westeurope",
		"properties": map[string]any{"oidcIssuerProfile": map[string]any{"enabled": true}}})
	if err != nil {
		t.Fatal(err)
	}
	iss := cl.Properties.OIDCIssuerProfile.IssuerURL
	id, _, err := e.srv.Client.CreateOrUpdateIdentity(ctx, sub, group, "app-id", "westeurope", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.srv.Client.CreateOrUpdateFederatedCredential(ctx, sub, group, "app-id", "other", client.FederatedCredentialProperties{
		Issuer: iss, Subject: "system:serviceaccount:shop:other", Audiences: []string{"api://AzureADTokenExchange"}}); err != nil {
		t.Fatal(err)
	}

	// A credential naming the cluster's issuer path at another host, one
	// that URL parsing lets hold quotes and a semicolon: ward aks show and
	// the doctor explain the moved URL with a command for that host.
	u, err := url.Parse(iss)
	if err != nil {
		t.Fatal(err)
	}
	const movedHost = "a';id;'b:1"
	if _, _, err := e.srv.Client.CreateOrUpdateFederatedCredential(ctx, sub, group, "app-id", "moved", client.FederatedCredentialProperties{
		Issuer: "https://" + movedHost + u.Path, Subject: "system:serviceaccount:shop:moved", Audiences: []string{"api://AzureADTokenExchange"}}); err != nil {
		t.Fatal(err)
	}
	_, warnings, err := e.exec(t, &aksShow{}, "-n", "c1", "-g", group)
	if err != nil {
		t.Fatal(err)
	}
	moved := [][]string{{"ward", "serve", "--public-url", "https://" + movedHost},
		{"ward", "identity", "federated-credential", "update", "--name", "NAME", "--identity-name", "IDENTITY", "-g", "GROUP", "--issuer", iss}}
	wantCommands(t, warnings, moved...)
	var report0 bytes.Buffer
	if err := diagnoseWard(ctx, &report{w: &report0}, e.conn, wardCheck{cluster: "c1", group: group, namespace: "shop", account: "app", audience: "api://AzureADTokenExchange"}); err != nil {
		t.Fatal(err)
	}
	wantCommands(t, report0.String(), moved...)

	// ward aks show-apiserver-flags on a cluster without an issuer.
	_, _, err = e.exec(t, &aksAPIServerFlags{}, "-n", "plain", "-g", group)
	if err == nil {
		t.Fatal("show-apiserver-flags without an issuer succeeded")
	}
	wantCommands(t, err.Error(), []string{"ward", "aks", "update", "-n", "plain", "-g", group, "--enable-oidc-issuer"})

	// ward doctor without a kubeconfig: a cluster without an issuer.
	var out bytes.Buffer
	if err := diagnoseWard(ctx, &report{w: &out}, e.conn, wardCheck{cluster: "plain", group: group, namespace: "shop", account: "app", audience: "api://AzureADTokenExchange"}); err != nil {
		t.Fatal(err)
	}
	wantCommands(t, out.String(), []string{"ward", "aks", "update", "-n", "plain", "-g", group, "--enable-oidc-issuer", "--enable-workload-identity"})

	// A service account the identity does not trust, in a namespace whose
	// name is hostile (the doctor is given it; ward run builds it the same
	// way): the fix creates the credential for exactly that subject.
	for _, v := range shellquotetest.Hostile {
		subject := "system:serviceaccount:" + v + ":app"
		out.Reset()
		if err := diagnoseWard(ctx, &report{w: &out}, e.conn, wardCheck{cluster: "c1", group: group, namespace: v, account: "app", audience: "aud" + v}); err != nil {
			t.Fatal(err)
		}
		wantCommands(t, out.String(),
			[]string{"ward", "aks", "update", "-n", "c1", "-g", group, "--enable-workload-identity"},
			[]string{"ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", "app-id", "-g", group, "--issuer", iss, "--subject", subject},
			[]string{"ward", "role", "assignment", "create", "--assignee", id.Properties.ClientID, "--role", "Key Vault Secrets User", "--scope", "VAULT_ID"})
		_, err := identityFor(ctx, e.conn, iss+v, subject)
		if err == nil {
			t.Fatalf("identityFor(%q) found an identity", subject)
		}
		wantCommands(t, err.Error(), []string{"ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", "IDENTITY", "-g", "GROUP",
			"--issuer", iss + v, "--subject", subject})
	}
}

// TestDoctorKubeHintsQuoteValues runs the doctor's Kubernetes fixes (a
// missing service account, a missing client-ID annotation) with hostile
// namespace and service account names under sh -c. The cluster is client-go's
// fake clientset: it validates no names, so the values reach the hints as
// an API server could hand them over.
func TestDoctorKubeHintsQuoteValues(t *testing.T) {
	for _, v := range shellquotetest.Hostile {
		ns, sa := "ns"+v, "sa"+v
		var out bytes.Buffer
		if err := diagnose(context.Background(), &report{w: &out}, fake.NewClientset(), &conn{}, ns, "", sa); err != nil {
			t.Fatal(err)
		}
		wantCommands(t, out.String(), []string{"kubectl", "create", "serviceaccount", sa, "-n", ns})

		kube := fake.NewClientset(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}})
		out.Reset()
		if err := diagnose(context.Background(), &report{w: &out}, kube, &conn{}, ns, "", sa); err != nil {
			t.Fatal(err)
		}
		// The hint ends in a command substitution of Ward's own; the values
		// before it stay single words.
		want := shellquote.Join("kubectl", "annotate", "serviceaccount", sa, "-n", ns) + " azure.workload.identity/client-id=$(ward identity show"
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor printed\n%s\nwant %q", out.String(), want)
		}
	}
}
