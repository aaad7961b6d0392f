//go:build kube

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// TestMigrateFromAADPodIdentity installs aad-pod-identity's CRDs on a real
// kube-apiserver, creates identities, bindings, an exception, pods and a
// Deployment as a cluster running aad-pod-identity has them, and runs
// `ward migrate aad-pod-identity`: the plan, --apply (credentials in Ward,
// the annotation, the template label, which the real Deployment
// controller rolls out), a second --apply that changes nothing, and a
// token the API server issues for a rolled-out pod, exchanged at Ward's
// token endpoint with the real azidentity.WorkloadIdentityCredential.
func TestMigrateFromAADPodIdentity(t *testing.T) {
	ctx := context.Background()
	w := startWard(t, "")
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	webClientID := strings.TrimSpace(mustCLI(t, w, "identity", "create", "-n", "web-identity", "-g", "rg", "--query", "clientId", "-o", "tsv"))
	mustCLI(t, w, "identity", "create", "-n", "db-identity", "-g", "rg")
	mustCLI(t, w, "aks", "create", "-n", "kind1", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity")
	issuer := strings.TrimSpace(mustCLI(t, w, "aks", "show", "-n", "kind1", "-g", "rg", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))
	saKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	kube := startKube(t, issuer, saKey)
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(jwksFile, kube.raw(t, "/openid/v1/jwks"), 0o600)
	mustCLI(t, w, "aks", "update", "-n", "kind1", "-g", "rg", "--service-account-jwks", "@"+jwksFile)

	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	installCRDs(t, dyn, "testdata/aad-pod-identity-crds.yaml")

	const ns = "shop"
	core := kube.Client.CoreV1()
	if _, err := core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []string{"default", "web-sa", "shared-sa", "db-sa", "sp-sa"} { // no controller creates default here
		if _, err := core.ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The objects as charts wrote them: the keys spelled as aad-pod-identity's
	// examples and as its Go types, the identity as it was in Azure (another
	// subscription, another client ID).
	azureIdentity := func(idName string) string {
		return "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + idName
	}
	for _, o := range []struct {
		gvr        schema.GroupVersionResource
		kind, name string
		spec       map[string]any
	}{
		{identitiesGVR, "AzureIdentity", "web-id", map[string]any{"type": 0, "ResourceID": azureIdentity("web-identity"), "ClientID": "azure-web-client"}},
		{identitiesGVR, "AzureIdentity", "db-id", map[string]any{"type": 0, "resourceID": azureIdentity("db-identity"), "clientID": "azure-db-client"}},
		{identitiesGVR, "AzureIdentity", "sp-id", map[string]any{"type": 1, "resourceID": "", "clientID": "sp-client", "tenantID": "t"}},
		{bindingsGVR, "AzureIdentityBinding", "web-binding", map[string]any{"azureIdentity": "web-id", "selector": "web"}},
		{bindingsGVR, "AzureIdentityBinding", "db-binding", map[string]any{"AzureIdentity": "db-id", "Selector": "db"}},
		{bindingsGVR, "AzureIdentityBinding", "sp-binding", map[string]any{"azureIdentity": "sp-id", "selector": "sp"}},
		{exceptionsGVR, "AzurePodIdentityException", "infra", map[string]any{"podLabels": map[string]any{"team": "infra"}}},
	} {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "aadpodidentity.k8s.io/v1", "kind": o.kind,
			"metadata": map[string]any{"name": o.name, "namespace": ns}, "spec": o.spec}}
		if _, err := dyn.Resource(o.gvr).Namespace(ns).Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s %s: %v", o.kind, o.name, err)
		}
	}

	one := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Replicas: &one,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "aadpodidbinding": "web"}},
			Spec:       corev1.PodSpec{ServiceAccountName: "web-sa", Containers: []corev1.Container{{Name: "web", Image: "web"}}}}}}
	if _, err := kube.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]struct {
		sa     string
		labels map[string]string
	}{
		"tool":        {"web-sa", map[string]string{"aadpodidbinding": "web"}},                // bare pod: recreate it
		"legacy":      {"", map[string]string{"aadpodidbinding": "db"}},                       // the default service account
		"shared-a":    {"shared-sa", map[string]string{"aadpodidbinding": "web"}},             // one service account,
		"shared-b":    {"shared-sa", map[string]string{"aadpodidbinding": "db"}},              // two identities
		"infra-agent": {"db-sa", map[string]string{"aadpodidbinding": "db", "team": "INFRA"}}, // excepted: used the node's IMDS
		"sp-pod":      {"sp-sa", map[string]string{"aadpodidbinding": "sp"}},                  // a service principal
		"plain":       {"db-sa", map[string]string{"app": "plain"}},                           // not aad-pod-identity's
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: p.labels},
			Spec: corev1.PodSpec{ServiceAccountName: p.sa, Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
		if _, err := core.Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("pod %s: %v", name, err)
		}
	}
	waitPods(t, kube, ns, "app=web", 1, "")

	migrate := func(t *testing.T, args ...string) migrationPlan {
		t.Helper()
		full := append([]string{"migrate", "aad-pod-identity", "--kubeconfig", kube.Kubeconfig, "--context", "test", "-o", "json"}, args...)
		out, errOut, code := w.cli(full...)
		// The API server publishes the Ward cluster's issuer: no warning.
		if code != 0 || errOut != "" {
			t.Fatalf("ward %s: exit %d\n%s", strings.Join(full, " "), code, errOut)
		}
		var p migrationPlan
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return p
	}
	ficCount := func(t *testing.T) int {
		t.Helper()
		return len(strings.Fields(mustCLI(t, w, "identity", "federated-credential", "list", "--identity-name", "web-identity", "-g", "rg", "--query", "[].name", "-o", "tsv")))
	}

	t.Run("plan", func(t *testing.T) {
		// The issuer comes from the API server's discovery document.
		p := migrate(t)
		if p.Issuer != issuer || p.Applied || p.Pending != 3 {
			t.Fatalf("plan issuer %q (want %q), applied %v, pending %d", p.Issuer, issuer, p.Applied, p.Pending)
		}
		if len(p.FederatedCredentials) != 1 {
			t.Fatalf("credentials %+v", p.FederatedCredentials)
		}
		f := p.FederatedCredentials[0]
		if f.IdentityName != "web-identity" || f.Issuer != issuer || f.Subject != "system:serviceaccount:shop:web-sa" || f.Audience != "api://AzureADTokenExchange" || f.State != "pending" {
			t.Errorf("credential %+v", f)
		}
		if len(p.ServiceAccounts) != 1 || p.ServiceAccounts[0].Name != "web-sa" || p.ServiceAccounts[0].ClientID != webClientID {
			t.Errorf("service accounts %+v, want shop/web-sa annotated with Ward's client ID %s", p.ServiceAccounts, webClientID)
		}
		if len(p.Workloads) != 1 || p.Workloads[0].Kind != "Deployment" || p.Workloads[0].Name != "web" {
			t.Errorf("workloads %+v, want the Deployment found through its ReplicaSet", p.Workloads)
		}
		issues := map[string]bool{}
		for _, is := range p.Issues {
			issues[is.Kind+" "+is.Object] = true
		}
		for _, want := range []string{"barePod Pod/shop/tool", "defaultServiceAccount Pod/shop/legacy", "sharedServiceAccount ServiceAccount/shop/shared-sa",
			"servicePrincipal AzureIdentity/shop/sp-id", "exception AzurePodIdentityException/shop/infra", "noWebhook MutatingWebhookConfiguration"} {
			if !issues[want] {
				t.Errorf("no issue %q in %v", want, issues)
			}
		}
		if len(p.Issues) != 6 {
			t.Errorf("%d issues, want 6: %+v", len(p.Issues), p.Issues)
		}
		if n := ficCount(t); n != 0 {
			t.Errorf("the dry run created %d credentials", n)
		}
		// The same plan by the Ward cluster's name, printed for a person.
		text := mustCLI(t, w, "migrate", "aad-pod-identity", "--kubeconfig", kube.Kubeconfig, "--cluster", "kind1")
		if !strings.Contains(text, "3 change(s) to make; run again with --apply") || !strings.Contains(text, "Cannot be migrated as is (6)") {
			t.Errorf("text plan:\n%s", text)
		}
		t.Logf("ward migrate aad-pod-identity:\n%s", text)
	})

	t.Run("apply twice", func(t *testing.T) {
		p := migrate(t, "--apply")
		if !p.Applied || p.Pending != 0 || p.Summary != "Applied 3 change(s)." {
			t.Fatalf("apply: %+v", p)
		}
		if n := ficCount(t); n != 1 {
			t.Fatalf("%d credentials after apply, want 1", n)
		}
		sa, err := core.ServiceAccounts(ns).Get(ctx, "web-sa", metav1.GetOptions{})
		if err != nil || sa.Annotations["azure.workload.identity/client-id"] != webClientID {
			t.Fatalf("web-sa annotations %v, %v", sa.Annotations, err)
		}
		d, err := kube.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil || d.Spec.Template.Labels["azure.workload.identity/use"] != "true" || d.Spec.Template.Labels["aadpodidbinding"] != "web" {
			t.Fatalf("web template labels %v, %v", d.Spec.Template.Labels, err)
		}
		generation := d.Generation

		again := migrate(t, "--apply")
		if again.Pending != 0 || again.Summary != "Nothing to change: Ward and the cluster already match the plan." {
			t.Fatalf("second apply: %+v", again)
		}
		for _, f := range again.FederatedCredentials {
			if f.State != "in place" {
				t.Errorf("second apply: credential %+v", f)
			}
		}
		d, _ = kube.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if n := ficCount(t); n != 1 || d.Generation != generation {
			t.Fatalf("second apply changed something: %d credentials, generation %d → %d", n, generation, d.Generation)
		}
	})

	t.Run("a rolled-out pod's token exchanges at Ward", func(t *testing.T) {
		// The real Deployment controller rolls the labelled template out.
		pod := waitPods(t, kube, ns, "app=web,azure.workload.identity/use=true", 1, "web-sa")
		tr, err := core.ServiceAccounts(ns).CreateToken(ctx, pod.Spec.ServiceAccountName, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences:      []string{"api://AzureADTokenExchange"},
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "azure-identity-token")
		os.WriteFile(file, []byte(tr.Status.Token), 0o600)
		sa, _ := core.ServiceAccounts(ns).Get(ctx, pod.Spec.ServiceAccountName, metav1.GetOptions{})
		// What the webhook would inject, from the annotation the migration wrote.
		t.Setenv("AZURE_CLIENT_ID", sa.Annotations["azure.workload.identity/client-id"])
		t.Setenv("AZURE_TENANT_ID", w.admin.TenantID)
		t.Setenv("AZURE_AUTHORITY_HOST", w.base+"/")
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: policy.ClientOptions{Transport: w.http}, TokenFilePath: file, DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		at, err := jwt.ParseSigned(tok.Token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		at.UnsafeClaimsWithoutVerification(&claims)
		if claims["appid"] != webClientID && claims["azp"] != webClientID {
			t.Fatalf("access token for %v/%v, want %s", claims["appid"], claims["azp"], webClientID)
		}
	})
}

var (
	identitiesGVR = schema.GroupVersionResource{Group: "aadpodidentity.k8s.io", Version: "v1", Resource: "azureidentities"}
	bindingsGVR   = schema.GroupVersionResource{Group: "aadpodidentity.k8s.io", Version: "v1", Resource: "azureidentitybindings"}
	exceptionsGVR = schema.GroupVersionResource{Group: "aadpodidentity.k8s.io", Version: "v1", Resource: "azurepodidentityexceptions"}
)

// installCRDs creates the CustomResourceDefinitions in a multi-document
// YAML file and waits until the API server serves each.
func installCRDs(t *testing.T, dyn dynamic.Interface, file string) {
	t.Helper()
	ctx := context.Background()
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		if obj["kind"] != "CustomResourceDefinition" {
			continue
		}
		if _, err := dyn.Resource(crdGVR).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, gvr := range []schema.GroupVersionResource{identitiesGVR, bindingsGVR, exceptionsGVR} {
		for {
			_, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not served within 30s: %v", gvr.Resource, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// waitPods waits until n pods match selector (and run as serviceAccount
// when it is not ""), and returns the first.
func waitPods(t *testing.T, kube *kubeCluster, ns, selector string, n int, serviceAccount string) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		pods, err := kube.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err == nil && len(pods.Items) >= n && (serviceAccount == "" || pods.Items[0].Spec.ServiceAccountName == serviceAccount) {
			return &pods.Items[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d pod(s) %s in %s within 60s: %v", n, selector, ns, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
