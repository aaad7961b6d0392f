package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ward-id/ward/internal/cli"
	"github.com/ward-id/ward/internal/kubeapi"
	"github.com/ward-id/ward/internal/podidmigrate/podidmigratetest"
)

// migrationPlan is what `ward migrate aad-pod-identity -o json` prints
// (this test and the kube-tagged TestMigrateFromAADPodIdentity read it).
type migrationPlan struct {
	Issuer               string `json:"issuer"`
	FederatedCredentials []struct {
		IdentityName, Name, Issuer, Subject, Audience, State string
	} `json:"federatedCredentials"`
	ServiceAccounts []struct{ Namespace, Name, ClientID, State string } `json:"serviceAccounts"`
	Workloads       []struct{ Kind, Namespace, Name, State string }     `json:"workloads"`
	Issues          []struct{ Kind, Object, Message, Fix string }       `json:"issues"`
	Bindings        []struct {
		Name     string
		ClientID string `json:"clientId"`
		Pods     []struct{ Name, ServiceAccount, Owner string }
	} `json:"bindings"`
	Applied bool   `json:"applied"`
	Pending int    `json:"pending"`
	Summary string `json:"summary"`
}

// TestCLIMigratePodIdentity runs `ward migrate aad-pod-identity` against
// ward serve and client-go's fake cluster (the verb in process, its cobra
// command tree as the binary runs it, the cluster through cli.Globals.Kube;
// the kube-tagged TestMigrateFromAADPodIdentity runs the binary against a
// real kube-apiserver): Ward's own identity is found by resource group and
// name, the dry run creates nothing, --apply creates the federated
// credential through the management API and patches the cluster, a second
// --apply changes nothing, and a token of the migrated service account
// from the cluster's issuer is exchanged at Ward for the identity.
func TestCLIMigratePodIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newCLIEnv(t)
	sub := e.w.admin.SubscriptionID
	e.seed(t, "web-identity")
	clientID := strings.TrimSpace(mustCLI(t, e.w, "identity", "show", "-n", "web-identity", "-g", "rg", "--query", "clientId", "-o", "tsv"))
	issuer := strings.TrimSpace(mustCLI(t, e.w, "aks", "create", "-n", "c1", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity",
		"--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))

	kube, k := podidmigratetest.Cluster()
	migrate := func(t *testing.T, args ...string) (string, string, error) {
		t.Helper()
		g := cli.Globals{Kube: &k}
		root := &cobra.Command{Use: "ward", SilenceUsage: true, SilenceErrors: true}
		root.AddCommand(cli.Commands(&g)...)
		var out, errOut bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&errOut)
		root.SetArgs(append(append([]string{"migrate", "aad-pod-identity"}, args...), "--data", e.w.dataDir))
		err := root.ExecuteContext(ctx)
		return out.String(), errOut.String(), err
	}
	plan := func(t *testing.T, args ...string) (migrationPlan, string) {
		t.Helper()
		out, errOut, err := migrate(t, append(args, "-o", "json")...)
		if err != nil {
			t.Fatalf("%q: %v\n%s", args, err, errOut)
		}
		var p migrationPlan
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return p, errOut
	}
	fics := func(t *testing.T) int {
		t.Helper()
		l, err := e.api.ListFederatedCredentials(ctx, sub, "rg", "web-identity")
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}

	t.Run("an unknown cluster", func(t *testing.T) {
		_, _, err := migrate(t, "--cluster", "nope")
		wantErr(t, "--cluster nope", err, `no cluster "nope" in subscription `+sub)
	})

	t.Run("dry run", func(t *testing.T) {
		p, errOut := plan(t, "--cluster", "c1")
		if p.Issuer != issuer || p.Applied || p.Pending != 3 || len(p.FederatedCredentials) != 1 || len(p.ServiceAccounts) != 1 || errOut != "" {
			t.Fatalf("plan: %+v\n%s", p, errOut)
		}
		f := p.FederatedCredentials[0]
		if f.IdentityName != "web-identity" || f.Issuer != issuer || f.Subject != "system:serviceaccount:apps:web-sa" || f.Audience != "api://AzureADTokenExchange" || f.State != "pending" {
			t.Errorf("credential step %+v", f)
		}
		if p.ServiceAccounts[0].ClientID != clientID {
			t.Errorf("annotation %q, want Ward's client ID %q", p.ServiceAccounts[0].ClientID, clientID)
		}
		if n := fics(t); n != 0 {
			t.Errorf("a dry run created %d credentials", n)
		}
		if _, errOut := plan(t, "--issuer", "https://elsewhere.example/"); !strings.Contains(errOut, "NOTE: issuer https://elsewhere.example/ is not the hosted issuer of a cluster registered in Ward") {
			t.Errorf("no note for an issuer outside Ward: %q", errOut)
		}
		if _, errOut := plan(t, "--issuer", issuer); errOut != "" {
			t.Errorf("the cluster's issuer by --issuer: %q", errOut)
		}
		text, _, err := migrate(t, "--cluster", "c1")
		if err != nil || !strings.Contains(text, "PENDING  apps/web-sa  azure.workload.identity/client-id="+clientID) || !strings.Contains(text, "3 change(s) to make; run again with --apply") {
			t.Errorf("table: %v\n%s", err, text)
		}
		for _, a := range kube.Actions() {
			if v := a.GetVerb(); v != "get" && v != "list" {
				t.Errorf("a dry run wrote to the cluster: %s %s", v, a.GetResource().Resource)
			}
		}
	})

	t.Run("apply, then apply again", func(t *testing.T) {
		text, errOut, err := migrate(t, "--cluster", "c1", "--apply")
		if err != nil || !strings.Contains(text, "Applied 3 change(s).") {
			t.Fatalf("apply: %v\n%s\n%s", err, text, errOut)
		}
		l, err := e.api.ListFederatedCredentials(ctx, sub, "rg", "web-identity")
		if err != nil || len(l) != 1 || l[0].Properties.Issuer != issuer || l[0].Properties.Subject != "system:serviceaccount:apps:web-sa" {
			t.Fatalf("credentials in Ward after apply: %+v, %v", l, err)
		}
		var sa corev1.ServiceAccount
		var dep appsv1.Deployment
		if err := errors.Join(kubeapi.Get(ctx, kube, kubeapi.ServiceAccounts, "apps", "web-sa", &sa), kubeapi.Get(ctx, kube, kubeapi.Deployments, "apps", "web", &dep)); err != nil {
			t.Fatal(err)
		}
		if sa.Annotations["azure.workload.identity/client-id"] != clientID || dep.Spec.Template.Labels["azure.workload.identity/use"] != "true" {
			t.Fatalf("cluster after apply: annotations %v, template labels %v", sa.Annotations, dep.Spec.Template.Labels)
		}
		kube.ClearActions()
		p, _ := plan(t, "--cluster", "c1", "--apply")
		if p.Pending != 0 || p.Summary != "Nothing to change: Ward and the cluster already match the plan." || p.FederatedCredentials[0].State != "in place" {
			t.Fatalf("second apply: %+v", p)
		}
		if n := fics(t); n != 1 {
			t.Fatalf("second apply: %d credentials", n)
		}
		for _, a := range kube.Actions() {
			if v := a.GetVerb(); v != "get" && v != "list" {
				t.Errorf("second apply wrote to the cluster: %s %s", v, a.GetResource().Resource)
			}
		}
	})

	t.Run("the migrated service account's token is exchanged", func(t *testing.T) {
		tok, err := e.api.GetServiceAccountToken(ctx, sub, "rg", "c1", "apps", "web-sa", "api://AzureADTokenExchange", 3600)
		if err != nil {
			t.Fatal(err)
		}
		if status, body := postToken(t, e.w, e.w.admin.TenantID, exchangeForm(clientID, tok.Token)); status != 200 || body["access_token"] == nil {
			t.Fatalf("exchange: HTTP %d %v", status, body)
		}
	})
}
