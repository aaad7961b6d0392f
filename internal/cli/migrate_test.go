package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/kubeapi"
	"github.com/ward-id/ward/internal/podidmigrate"
	"github.com/ward-id/ward/internal/podidmigrate/podidmigratetest"
	"github.com/ward-id/ward/internal/shellquote/shellquotetest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

// wardData is Ward's federated credentials as plain data, by identity ID:
// what planMigration reads (list) and podidmigrate.Apply writes, so that a
// second plan sees what the first apply made. The verb does both through
// the management API; test/e2e/cli_migrate_test.go runs it against ward
// serve.
type wardData struct {
	credentials map[string][]client.FederatedCredential
	read        []string // the identities whose credentials were listed
	fail        error    // what every create fails with, if not nil
}

func (d *wardData) list(w podidmigrate.WardIdentity) ([]client.FederatedCredential, error) {
	d.read = append(d.read, w.Name)
	return d.credentials[w.ID], nil
}

func (d *wardData) CreateFederatedCredential(_ context.Context, s podidmigrate.CredentialStep) error {
	if d.fail != nil {
		return d.fail
	}
	d.credentials[s.Identity] = append(d.credentials[s.Identity], testFIC(s.Name, s.Issuer, s.Subject, s.Audience))
	return nil
}

// wantNoKubeWrites fails if the cluster was asked to change anything.
func wantNoKubeWrites(t *testing.T, kube *dynamicfake.FakeDynamicClient) {
	t.Helper()
	for _, a := range kube.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" {
			t.Errorf("wrote to the cluster: %s %s", v, a.GetResource().Resource)
		}
	}
}

// migrateOut renders p as the verb does: a person's table (tableOut), or
// with -o json the result it returns, decoded.
func migrateOut(t *testing.T, p *podidmigrate.Plan, apply bool, applyErr error) (tableOut string, result migrateResult, errOut string, err error) {
	t.Helper()
	var out, stderr bytes.Buffer
	table := &migratePodIdentity{apply: apply}
	if _, err := table.output(env{out: &out, errOut: &stderr}, p, applyErr); !errors.Is(err, applyErr) {
		t.Fatalf("table output: error %v, want %v", err, applyErr)
	}
	tableOut = out.String()
	out.Reset()
	asJSON := &migratePodIdentity{g: &Globals{Output: "json"}, apply: apply}
	res, err := asJSON.output(env{out: &out, errOut: &stderr, changed: func(name string) bool { return name == "output" }}, p, applyErr)
	if res != nil {
		var b bytes.Buffer
		if err := render(&b, res, "json", ""); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b.Bytes(), &result); err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
	}
	if out.Len() > 0 {
		t.Errorf("-o json printed %q besides its result", out.String())
	}
	return tableOut, result, stderr.String(), err
}

// TestMigratePlanApply runs the verb's planning on client-go's fake
// cluster and Ward's identities as data: the dry run changes nothing and
// reads only the credentials of the identity it uses, --apply creates the
// credential and patches the cluster, and a second --apply changes
// nothing.
func TestMigratePlanApply(t *testing.T) {
	ctx := context.Background()
	kube, k := podidmigratetest.Cluster()
	web, other := testIdentity("rg", "web-identity", "ward-web-client"), testIdentity("rg", "other-identity", "ward-other-client")
	ward := &wardData{credentials: map[string][]client.FederatedCredential{other.ID: {testFIC("x", testIssuer, "system:serviceaccount:apps:web-sa")}}}
	plan := func(t *testing.T) *podidmigrate.Plan {
		t.Helper()
		in, err := podidmigrate.Read(ctx, k, "")
		if err != nil {
			t.Fatal(err)
		}
		in.Issuer = testIssuer
		ward.read = nil
		p, err := planMigration(in, []client.Identity{other, web}, ward.list)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("dry run", func(t *testing.T) {
		p := plan(t)
		if p.Issuer != testIssuer || p.Pending() != 3 || len(p.FederatedCredentials) != 1 || len(p.ServiceAccounts) != 1 {
			t.Fatalf("plan: %+v", p)
		}
		f := p.FederatedCredentials[0]
		if f.Identity != web.ID || f.IdentityName != "web-identity" || f.ResourceGroup != "rg" || f.Subject != "system:serviceaccount:apps:web-sa" ||
			f.Issuer != testIssuer || f.Audience != audExchange || f.State != "pending" {
			t.Errorf("credential step %+v", f)
		}
		if got := p.ServiceAccounts[0].ClientID; got != "ward-web-client" {
			t.Errorf("annotation %q, want Ward's client ID", got)
		}
		if !slices.Equal(ward.read, []string{"web-identity"}) {
			t.Errorf("read the credentials of %q, want only web-identity's", ward.read)
		}
		kinds := map[string]bool{}
		for _, is := range p.Issues {
			kinds[is.Kind+" "+is.Object] = true
		}
		for _, want := range []string{"servicePrincipal AzureIdentity/apps/sp", "exception AzurePodIdentityException/apps/infra", "barePod Pod/apps/lonely", "noWebhook MutatingWebhookConfiguration"} {
			if !kinds[want] {
				t.Errorf("no issue %s in %v", want, kinds)
			}
		}
		text, res, errOut, _ := migrateOut(t, p, false, nil)
		wantLines(t, text, "PENDING  rg/web-identity", "PENDING  apps/web-sa  azure.workload.identity/client-id=ward-web-client",
			"PENDING  Deployment apps/web", "Cannot be migrated as is (4)", "3 change(s) to make; run again with --apply")
		if res.Applied || res.Pending != 3 || res.Summary != "3 change(s) to make; run again with --apply to make them." || res.Plan == nil || errOut != "" {
			t.Errorf("-o json: %+v, stderr %q", res, errOut)
		}
		wantNoKubeWrites(t, kube)
	})

	t.Run("apply, then apply again", func(t *testing.T) {
		p := plan(t)
		if n, err := podidmigrate.Apply(ctx, p, kube, ward); n != 3 || err != nil {
			t.Fatalf("apply: %d changes, %v", n, err)
		}
		text, res, _, _ := migrateOut(t, p, true, nil)
		wantLines(t, text, "Applied 3 change(s).", "DONE  rg/web-identity  podid-apps_web-sa-")
		if !res.Applied || res.Pending != 0 || res.Summary != "Applied 3 change(s)." {
			t.Errorf("-o json: %+v", res)
		}
		if fics := ward.credentials[web.ID]; len(fics) != 1 || fics[0].Properties.Subject != "system:serviceaccount:apps:web-sa" || fics[0].Properties.Issuer != testIssuer {
			t.Fatalf("credentials after apply: %+v", fics)
		}
		var sa corev1.ServiceAccount
		var dep appsv1.Deployment
		if err := errors.Join(kubeapi.Get(ctx, kube, kubeapi.ServiceAccounts, "apps", "web-sa", &sa), kubeapi.Get(ctx, kube, kubeapi.Deployments, "apps", "web", &dep)); err != nil {
			t.Fatal(err)
		}
		if sa.Annotations["azure.workload.identity/client-id"] != "ward-web-client" || dep.Spec.Template.Labels["azure.workload.identity/use"] != "true" {
			t.Fatalf("cluster after apply: annotations %v, template labels %v", sa.Annotations, dep.Spec.Template.Labels)
		}

		kube.ClearActions()
		again := plan(t)
		if n, err := podidmigrate.Apply(ctx, again, kube, ward); n != 0 || err != nil {
			t.Fatalf("second apply: %d changes, %v", n, err)
		}
		_, res, _, _ = migrateOut(t, again, true, nil)
		if res.Pending != 0 || res.Summary != "Nothing to change: Ward and the cluster already match the plan." || res.FederatedCredentials[0].State != "in place" {
			t.Fatalf("second apply: %+v", res)
		}
		if n := len(ward.credentials[web.ID]); n != 1 {
			t.Errorf("second apply: %d credentials", n)
		}
		wantNoKubeWrites(t, kube)
	})
}

// TestMigrateApplyFails: when Ward refuses the credential, the plan still
// prints (what was made before the failure) and the verb fails.
func TestMigrateApplyFails(t *testing.T) {
	ctx := context.Background()
	kube, k := podidmigratetest.Cluster()
	in, err := podidmigrate.Read(ctx, k, "")
	if err != nil {
		t.Fatal(err)
	}
	in.Issuer = testIssuer
	ward := &wardData{credentials: map[string][]client.FederatedCredential{}, fail: errors.New("403 AuthorizationFailed")}
	p, err := planMigration(in, []client.Identity{testIdentity("rg", "web-identity", "ward-web-client")}, ward.list)
	if err != nil {
		t.Fatal(err)
	}
	_, applyErr := podidmigrate.Apply(ctx, p, kube, ward)
	if applyErr == nil {
		t.Fatal("apply succeeded")
	}
	text, res, errOut, err := migrateOut(t, p, true, applyErr)
	wantErr(t, "apply", err, "403 AuthorizationFailed")
	wantLines(t, text, "PENDING  rg/web-identity")
	if res.Plan != nil || errOut != "Applied 0 change(s).\n" {
		t.Errorf("-o json printed %+v, stderr %q", res, errOut)
	}
	wantNoKubeWrites(t, kube)
}

// TestMigrateIssuer: where the credentials' issuer comes from, and what
// the verb warns about.
func TestMigrateIssuer(t *testing.T) {
	t.Parallel()
	c1 := testCluster("rg", "c1", testIssuer, true)
	dupA, dupB := testCluster("rg", "dup", "https://a.example/", true), testCluster("rg2", "dup", "https://b.example/", true)
	plain := testCluster(hostileGroup, "plain", "", false)
	clusters := []client.Cluster{c1, dupA, dupB, plain}
	listErr := errors.New("ListClusters: 403")
	const kube, elsewhere = "https://kube.example/", "https://elsewhere.example/"
	warning := "WARNING: the API server publishes issuer " + kube + ", but the credentials will name " + testIssuer + ": the cluster's tokens will not match them (see ward aks show-apiserver-flags)"
	note := func(iss string) string {
		return "NOTE: issuer " + iss + " is not the hosted issuer of a cluster registered in Ward; Ward will fetch its discovery document and keys from that URL"
	}
	for _, tc := range []struct {
		name                     string
		flag, cluster, published string
		clustersErr              error
		want                     string
		wantNotes                []string
		wantErr                  string
	}{
		{"--cluster by name", "", "c1", "", nil, testIssuer, nil, ""},
		{"--cluster by name, any case", "", "C1", "", nil, testIssuer, nil, ""},
		{"--cluster by resource ID", "", dupB.ID, "", nil, "https://b.example/", nil, ""},
		{"--cluster that API server publishes", "", "c1", testIssuer, nil, testIssuer, nil, ""},
		{"--cluster another API server publishes", "", "c1", kube, nil, testIssuer, []string{warning}, ""},
		{"--cluster unknown", "", "nope", testIssuer, nil, "", nil, `no cluster "nope" in subscription ` + testSub + " (list them with 'ward aks list')"},
		{"--cluster ambiguous", "", "dup", "", nil, "", nil, `2 clusters are named "dup": pass --cluster with one's resource ID (` + dupA.ID + ", " + dupB.ID + ")"},
		{"--cluster without an issuer", "", "plain", "", nil, "", nil, "cluster plain has no OIDC issuer: run ward aks update -n plain -g 'rg(1)' --enable-oidc-issuer"},
		{"--cluster, clusters unreadable", "", "c1", testIssuer, listErr, "", nil, listErr.Error()},
		{"the API server's, a Ward cluster's", "", "", testIssuer, nil, testIssuer, nil, ""},
		{"the API server's, not Ward's", "", "", kube, nil, kube, []string{note(kube)}, ""},
		{"the API server's, clusters unreadable", "", "", kube, listErr, kube, nil, ""},
		{"nothing published", "", "", "", nil, "", nil, "cannot read the API server's issuer (/.well-known/openid-configuration): pass --cluster NAME (a cluster registered in Ward) or --issuer URL"},
		{"--issuer outside Ward", elsewhere, "", "", nil, elsewhere, []string{note(elsewhere)}, ""},
		{"--issuer that another API server publishes", testIssuer, "", kube, nil, testIssuer, []string{warning}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, notes, err := issuerSources{flag: tc.flag, cluster: tc.cluster, published: tc.published, sub: testSub, clusters: clusters, clustersErr: tc.clustersErr}.resolve()
			wantErr(t, tc.name, err, tc.wantErr)
			if got != tc.want || !slices.Equal(notes, tc.wantNotes) {
				t.Errorf("issuer %q, notes %q; want %q, %q", got, notes, tc.want, tc.wantNotes)
			}
		})
	}
	for _, v := range shellquotetest.Hostile {
		if v == "" {
			continue // no --cluster
		}
		_, _, err := issuerSources{cluster: v, sub: testSub, clusters: []client.Cluster{testCluster(v+"(1)", v, "", false)}}.resolve()
		if err == nil {
			t.Fatalf("cluster %q without an issuer: no error", v)
		}
		shellquotetest.Commands(t, err.Error(), []string{"ward", "aks", "update", "-n", v, "-g", v + "(1)", "--enable-oidc-issuer"})
	}
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
