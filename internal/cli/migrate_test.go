package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/podidmigrate"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
)

// TestMigratePodIdentity runs `ward migrate aad-pod-identity` against a
// real Ward server and client-go's fake cluster: the dry run changes
// nothing, --apply creates the federated credential through the
// management API and patches the cluster, a second --apply changes
// nothing, and a token of the migrated service account from the cluster's
// issuer is exchanged at Ward for the identity.
func TestMigratePodIdentity(t *testing.T) {
	ctx := context.Background()
	e := newVerbEnv(t)
	sub := e.srv.Admin.SubscriptionID
	e.seed(t, "web-identity")
	id, err := e.conn.client.GetIdentity(ctx, sub, "rg", "web-identity")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.exec(t, &aksPut{}, "-n", "c1", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity"); err != nil {
		t.Fatal(err)
	}

	yes := true
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "aadpodidbinding": "web"}},
		Spec: corev1.PodSpec{ServiceAccountName: "web-sa"}}
	kube := fake.NewClientset(
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-sa"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}, Spec: appsv1.DeploymentSpec{Template: tmpl}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-1", OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", Controller: &yes}}},
			Spec: appsv1.ReplicaSetSpec{Template: tmpl}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-1-a", Labels: tmpl.Labels,
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-1", Controller: &yes}}}, Spec: tmpl.Spec},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "lonely", Labels: map[string]string{"aadpodidbinding": "web"}}, Spec: tmpl.Spec},
	)
	obj := func(kind, name string, spec map[string]any) runtime.Object {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "aadpodidentity.k8s.io/v1", "kind": kind,
			"metadata": map[string]any{"namespace": "apps", "name": name}, "spec": spec}}
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		podidmigrate.IdentitiesResource: "AzureIdentityList", podidmigrate.BindingsResource: "AzureIdentityBindingList", podidmigrate.ExceptionsResource: "AzurePodIdentityExceptionList",
	},
		// As it was in Azure: another subscription and client ID; Ward
		// finds its own identity by resource group and name.
		obj("AzureIdentity", "web-id", map[string]any{"type": int64(0), "clientID": "azure-client-id",
			"resourceID": "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web-identity"}),
		obj("AzureIdentity", "sp", map[string]any{"type": int64(1), "clientID": "sp-client"}),
		obj("AzureIdentityBinding", "web-binding", map[string]any{"azureIdentity": "web-id", "selector": "web"}),
		obj("AzureIdentityBinding", "sp-binding", map[string]any{"azureIdentity": "sp", "selector": "sp"}),
		obj("AzurePodIdentityException", "infra", map[string]any{"podLabels": map[string]any{"team": "infra"}}),
	)
	k := &podidmigrate.Kube{Client: kube, Dynamic: dyn}
	migrate := func(t *testing.T, output string, args ...string) (string, string, error) {
		t.Helper()
		return e.exec(t, &migratePodIdentity{kube: k, output: output}, args...)
	}
	plan := func(t *testing.T, args ...string) migrateResult {
		t.Helper()
		out, errOut, err := migrate(t, "json", args...)
		if err != nil {
			t.Fatalf("%q: %v\n%s", args, err, errOut)
		}
		var r struct {
			podidmigrate.Plan
			Pending int    `json:"pending"`
			Summary string `json:"summary"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return migrateResult{Plan: &r.Plan, Pending: r.Pending, Summary: r.Summary}
	}
	fics := func(t *testing.T) int {
		t.Helper()
		l, err := e.conn.client.ListFederatedCredentials(ctx, sub, "rg", "web-identity")
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	cluster, err := e.conn.client.GetCluster(ctx, sub, "rg", "c1")
	if err != nil {
		t.Fatal(err)
	}
	issuer := cluster.Properties.OIDCIssuerProfile.IssuerURL

	t.Run("flag errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--cluster", "c1", "--issuer", "https://x/"}, "mutually exclusive"},
			{[]string{"--cluster", "nope"}, `no cluster "nope"`},
			{[]string{}, "cannot read the API server's issuer"},
		} {
			_, _, err := migrate(t, "json", tc.args...)
			wantErr(t, strings.Join(tc.args, " "), err, tc.want)
		}
	})

	t.Run("dry run", func(t *testing.T) {
		r := plan(t, "--cluster", "c1")
		if r.Issuer != issuer || r.Pending != 3 || len(r.FederatedCredentials) != 1 {
			t.Fatalf("plan: %+v", r)
		}
		f := r.FederatedCredentials[0]
		if f.Subject != "system:serviceaccount:apps:web-sa" || f.Issuer != issuer || f.Audience != "api://AzureADTokenExchange" || f.State != "pending" || f.IdentityName != "web-identity" {
			t.Errorf("credential step %+v", f)
		}
		if r.ServiceAccounts[0].ClientID != id.Properties.ClientID {
			t.Errorf("annotation %q, want Ward's client ID %q", r.ServiceAccounts[0].ClientID, id.Properties.ClientID)
		}
		kinds := map[string]bool{}
		for _, is := range r.Issues {
			kinds[is.Kind+" "+is.Object] = true
		}
		for _, want := range []string{"servicePrincipal AzureIdentity/apps/sp", "exception AzurePodIdentityException/apps/infra", "barePod Pod/apps/lonely", "noWebhook MutatingWebhookConfiguration"} {
			if !kinds[want] {
				t.Errorf("no issue %s in %v", want, kinds)
			}
		}
		if n := fics(t); n != 0 {
			t.Errorf("a dry run created %d credentials", n)
		}
		text, errOut, err := migrate(t, "", "--issuer", issuer)
		if err != nil || errOut != "" {
			t.Fatalf("%v\n%s", err, errOut)
		}
		if _, errOut, _ := migrate(t, "json", "--issuer", "https://elsewhere.example/"); !strings.Contains(errOut, "NOTE: issuer https://elsewhere.example/ is not the hosted issuer of a cluster registered in Ward") {
			t.Errorf("no note for an issuer outside Ward: %q", errOut)
		}
		for _, want := range []string{"PENDING  rg/web-identity", "PENDING  apps/web-sa  azure.workload.identity/client-id=" + id.Properties.ClientID,
			"PENDING  Deployment apps/web", "Cannot be migrated as is (4)", "3 change(s) to make; run again with --apply"} {
			if !strings.Contains(text, want) {
				t.Errorf("table output lacks %q:\n%s", want, text)
			}
		}
	})

	t.Run("apply, then apply again", func(t *testing.T) {
		text, _, err := migrate(t, "", "--cluster", "c1", "--apply")
		if err != nil || !strings.Contains(text, "Applied 3 change(s).") || !strings.Contains(text, "DONE") {
			t.Fatalf("apply: %v\n%s", err, text)
		}
		if n := fics(t); n != 1 {
			t.Fatalf("%d credentials after apply, want 1", n)
		}
		sa, _ := kube.CoreV1().ServiceAccounts("apps").Get(ctx, "web-sa", metav1.GetOptions{})
		dep, _ := kube.AppsV1().Deployments("apps").Get(ctx, "web", metav1.GetOptions{})
		if sa.Annotations["azure.workload.identity/client-id"] != id.Properties.ClientID || dep.Spec.Template.Labels["azure.workload.identity/use"] != "true" {
			t.Fatalf("cluster after apply: annotations %v, template labels %v", sa.Annotations, dep.Spec.Template.Labels)
		}
		kube.ClearActions()
		r := plan(t, "--cluster", "c1", "--apply")
		if r.Pending != 0 || r.Summary != "Nothing to change: Ward and the cluster already match the plan." || r.FederatedCredentials[0].State != "in place" {
			t.Fatalf("second apply: %+v", r)
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
		tok, err := e.conn.client.GetServiceAccountToken(ctx, sub, "rg", "c1", "apps", "web-sa", "api://AzureADTokenExchange", 3600)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		r := &report{w: &out}
		checkExchange(ctx, r, e.conn, e.conn.server, e.conn.tenant, id.Properties.ClientID, tok.Token)
		if r.failed != 0 || !strings.Contains(out.String(), "succeeded") {
			t.Fatalf("exchange: %s", out.String())
		}
	})
}

func TestMigrateKubeconfigContext(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(file, []byte(`apiVersion: v1
kind: Config
clusters:
- {name: a, cluster: {server: "https://a.example:6443"}}
- {name: b, cluster: {server: "https://b.example:6443"}}
users: [{name: u, user: {token: t}}]
contexts:
- {name: ctx-a, context: {cluster: a, user: u}}
- {name: ctx-b, context: {cluster: b, user: u}}
current-context: ctx-a
`), 0o600)
	for _, tc := range []struct{ context, host, wantErr string }{
		{"", "https://a.example:6443", ""},
		{"ctx-b", "https://b.example:6443", ""},
		{"ctx-c", "", `context "ctx-c" does not exist`},
	} {
		cfg, err := restConfig(file, tc.context)
		wantErr(t, "context "+tc.context, err, tc.wantErr)
		if err == nil && cfg.Host != tc.host {
			t.Errorf("context %q: host %s, want %s", tc.context, cfg.Host, tc.host)
		}
	}
}
