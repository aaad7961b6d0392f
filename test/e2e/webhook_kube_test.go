//go:build kube

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// TestWebhookOnRealAPIServer registers `ward webhook` with a real
// kube-apiserver through the MutatingWebhookConfiguration in deploy/,
// creates pods through the API server, reads them back, and exchanges a
// token the same API server issued for the mutated pod at Ward's token
// endpoint with the real azidentity.WorkloadIdentityCredential, using the
// values the webhook injected.
func TestWebhookOnRealAPIServer(t *testing.T) {
	ctx := context.Background()
	w := startWard(t, "")
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	clientID := strings.TrimSpace(mustCLI(t, w, "identity", "create", "-n", "app-id", "-g", "rg", "--query", "clientId", "-o", "tsv"))
	mustCLI(t, w, "aks", "create", "-n", "kind1", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity")
	issuer := strings.TrimSpace(mustCLI(t, w, "aks", "show", "-n", "kind1", "-g", "rg", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))

	// The cluster signs with its own key (bring your own key): Ward learns
	// it from the API server's JWKS.
	saKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	kube := startKube(t, issuer, saKey)
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(jwksFile, kube.raw(t, "/openid/v1/jwks"), 0o600)
	mustCLI(t, w, "aks", "update", "-n", "kind1", "-g", "rg", "--service-account-jwks", "@"+jwksFile)
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "kind1-workload", "--identity-name", "app-id", "-g", "rg",
		"--issuer", issuer, "--subject", "system:serviceaccount:wi-test:workload")

	const ns = "wi-test"
	for _, n := range []string{ns, "ward-system"} {
		if _, err := kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for name, ann := range map[string]map[string]string{
		"workload": {"azure.workload.identity/client-id": clientID},
		"default":  nil, // no controller-manager creates it here
		"short":    {"azure.workload.identity/client-id": clientID, "azure.workload.identity/service-account-token-expiration": "100"},
	} {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann}}
		if _, err := kube.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// The webhook configuration from deploy/, pointed at a webhook on
	// loopback, with an annotation of the user's that must survive the
	// caBundle injection.
	var whc admissionregistrationv1.MutatingWebhookConfiguration
	b, err := os.ReadFile("../../deploy/webhook/mutatingwebhookconfiguration.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, &whc); err != nil {
		t.Fatal(err)
	}
	hookAddr := freeAddr(t)
	url := "https://" + hookAddr + "/mutate-v1-pod"
	whc.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url}
	whc.Annotations = map[string]string{"team.example/owner": "platform"}
	if _, err := kube.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &whc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	hookLog, _ := os.Create(filepath.Join(t.TempDir(), "webhook.log"))
	probeAddr := freeAddr(t)
	hook := exec.Command(wardBin, "webhook", "--addr", hookAddr, "--probe-addr", probeAddr, "--kubeconfig", kube.Kubeconfig,
		"--tenant-id", w.admin.TenantID, "--authority-host", w.base, "--self-signed", "--namespace", "ward-system",
		"--tls-san", "127.0.0.1", "--webhook-config-name", whc.Name)
	hook.Stdout, hook.Stderr = hookLog, hookLog
	if err := hook.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		hook.Process.Signal(os.Interrupt)
		hook.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(hookLog.Name())
			t.Logf("--- webhook log:\n%s", b)
		}
	})

	// The webhook writes caBundle; the API server picks the configuration
	// up through an informer, so probe with dry-run creates until a pod
	// comes back mutated.
	probe := labelledPod("probe", "workload")
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := kube.Client.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && envOf(p.Spec.Containers[0])["AZURE_CLIENT_ID"] == clientID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook never mutated a pod: last error %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got, err := kube.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, whc.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Annotations["team.example/owner"] != "platform" || len(got.Webhooks[0].ClientConfig.CABundle) == 0 {
		t.Fatalf("caBundle injection lost the user's annotation or wrote no bundle: %v", got.Annotations)
	}
	sec, err := kube.Client.CoreV1().Secrets("ward-system").Get(ctx, "ward-webhook-server-cert", metav1.GetOptions{})
	if err != nil || sec.Type != corev1.SecretTypeTLS {
		t.Fatalf("certificate Secret: %v", err)
	}

	wantEnv := map[string]string{
		"AZURE_CLIENT_ID":            clientID,
		"AZURE_TENANT_ID":            w.admin.TenantID,
		"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token",
		"AZURE_AUTHORITY_HOST":       w.base + "/",
	}
	checkMutated := func(t *testing.T, c corev1.Container) {
		t.Helper()
		env := envOf(c)
		for k, v := range wantEnv {
			if env[k] != v {
				t.Errorf("container %s: %s=%q, want %q", c.Name, k, env[k], v)
			}
		}
		var mounted bool
		for _, m := range c.VolumeMounts {
			if m.Name == "azure-identity-token" && m.MountPath == "/var/run/secrets/azure/tokens" && m.ReadOnly {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("container %s: no read-only token mount: %+v", c.Name, c.VolumeMounts)
		}
	}
	tokenVolume := func(t *testing.T, p *corev1.Pod) *corev1.ServiceAccountTokenProjection {
		t.Helper()
		var found *corev1.ServiceAccountTokenProjection
		names := map[string]bool{}
		for _, v := range p.Spec.Volumes {
			if names[v.Name] {
				t.Fatalf("duplicate volume %s", v.Name)
			}
			names[v.Name] = true
			if v.Name == "azure-identity-token" {
				found = v.Projected.Sources[0].ServiceAccountToken
			}
		}
		if found == nil || found.Audience != "api://AzureADTokenExchange" || found.Path != "azure-identity-token" {
			t.Fatalf("token volume %+v in %+v", found, p.Spec.Volumes)
		}
		return found
	}

	var mutated *corev1.Pod
	t.Run("labelled pod with an init container and a native sidecar", func(t *testing.T) {
		always := corev1.ContainerRestartPolicyAlways
		pod := labelledPod("app", "workload")
		pod.Spec.InitContainers = []corev1.Container{
			{Name: "migrate", Image: "migrate"},
			{Name: "proxy", Image: "proxy", RestartPolicy: &always},
		}
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "metrics", Image: "metrics"})
		pod.Annotations = map[string]string{"azure.workload.identity/skip-containers": "metrics"}
		if _, err := kube.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p, err := kube.Client.CoreV1().Pods(ns).Get(ctx, "app", metav1.GetOptions{}) // what etcd holds
		if err != nil {
			t.Fatal(err)
		}
		checkMutated(t, p.Spec.Containers[0])
		checkMutated(t, p.Spec.InitContainers[0])
		checkMutated(t, p.Spec.InitContainers[1])
		if rp := p.Spec.InitContainers[1].RestartPolicy; rp == nil || *rp != corev1.ContainerRestartPolicyAlways {
			t.Errorf("native sidecar lost restartPolicy: %v", rp)
		}
		if env := envOf(p.Spec.Containers[1]); len(env) != 0 || len(p.Spec.Containers[1].VolumeMounts) > 1 {
			t.Errorf("skipped container was mutated: %v %v", env, p.Spec.Containers[1].VolumeMounts)
		}
		if exp := tokenVolume(t, p).ExpirationSeconds; exp == nil || *exp != 3600 {
			t.Errorf("expirationSeconds %v, want 3600", exp)
		}
		// The API server's own ServiceAccount admission added its volume
		// too; Ward appended rather than replaced the list.
		var kubeAPIAccess bool
		for _, v := range p.Spec.Volumes {
			kubeAPIAccess = kubeAPIAccess || strings.HasPrefix(v.Name, "kube-api-access-")
		}
		if !kubeAPIAccess {
			t.Errorf("kube-api-access volume missing: %+v", p.Spec.Volumes)
		}
		mutated = p
	})

	t.Run("unlabelled pod is left alone", func(t *testing.T) {
		pod := labelledPod("plain", "workload")
		pod.Labels = nil
		p, err := kube.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(envOf(p.Spec.Containers[0])) != 0 {
			t.Fatalf("unlabelled pod mutated: %+v", p.Spec.Containers[0].Env)
		}
		for _, v := range p.Spec.Volumes {
			if v.Name == "azure-identity-token" {
				t.Fatal("unlabelled pod got the token volume")
			}
		}
	})

	t.Run("pods of a Deployment, created by the real ReplicaSet controller", func(t *testing.T) {
		replicas := int32(2)
		dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "azure.workload.identity/use": "true"},
					Annotations: map[string]string{"azure.workload.identity/service-account-token-expiration": "7200"}},
				Spec: corev1.PodSpec{ServiceAccountName: "workload", Containers: []corev1.Container{{Name: "web", Image: "web"}}}}}}
		if _, err := kube.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The controller creates the pods with generateName and no
		// namespace in the object: the webhook must use the request's.
		var pods *corev1.PodList
		deadline := time.Now().Add(60 * time.Second)
		for {
			var err error
			pods, err = kube.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			if err == nil && len(pods.Items) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the ReplicaSet controller created no pods within 60s: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if !strings.HasPrefix(p.Name, "web-") || len(p.OwnerReferences) == 0 || p.OwnerReferences[0].Kind != "ReplicaSet" {
				t.Errorf("pod %s not from the ReplicaSet: %+v", p.Name, p.OwnerReferences)
			}
			checkMutated(t, p.Spec.Containers[0])
			if exp := tokenVolume(t, p).ExpirationSeconds; exp == nil || *exp != 7200 {
				t.Errorf("expirationSeconds %v, want 7200 from the pod annotation", exp)
			}
		}
	})

	t.Run("denied by the API server", func(t *testing.T) {
		bad := labelledPod("bad-exp", "workload")
		bad.Annotations = map[string]string{"azure.workload.identity/service-account-token-expiration": "invalid"}
		saBad := labelledPod("sa-bad-exp", "short")
		missing := labelledPod("no-sa", "nobody")
		noID := labelledPod("no-id", "default")
		for _, tc := range []struct {
			pod  *corev1.Pod
			want string
		}{
			{bad, `strconv.ParseInt: parsing "invalid": invalid syntax`},
			{saBad, "100 is out of range"},
			{missing, `"nobody" not found`},
			{noID, "has annotation azure.workload.identity/client-id"},
		} {
			_, err := kube.Client.CoreV1().Pods(ns).Create(ctx, tc.pod, metav1.CreateOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("pod %s: err = %v, want a denial containing %q", tc.pod.Name, err, tc.want)
			}
			t.Logf("%s: %v", tc.pod.Name, err)
		}
	})

	t.Run("token from the API server exchanges at Ward with the injected values", func(t *testing.T) {
		if mutated == nil {
			t.Skip("no mutated pod")
		}
		// What the kubelet would do for the projected volume: a TokenRequest
		// bound to the pod, with the volume's audience and lifetime.
		vol := tokenVolume(t, mutated)
		tr, err := kube.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "workload", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences: []string{vol.Audience}, ExpirationSeconds: vol.ExpirationSeconds,
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: mutated.Name, UID: mutated.UID}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jwt.ParseSigned(tr.Status.Token, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		var claims jwt.Claims
		parsed.UnsafeClaimsWithoutVerification(&claims)
		if claims.Issuer != issuer || claims.Subject != "system:serviceaccount:wi-test:workload" {
			t.Fatalf("token iss %q sub %q", claims.Issuer, claims.Subject)
		}
		file := filepath.Join(t.TempDir(), "azure-identity-token")
		os.WriteFile(file, []byte(tr.Status.Token), 0o600)

		// The SDK configured from the pod's environment, as in the pod.
		env := envOf(mutated.Spec.Containers[0])
		for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_AUTHORITY_HOST"} {
			t.Setenv(k, env[k])
		}
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: policy.ClientOptions{Transport: w.http}, TokenFilePath: file, DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		at, _ := jwt.ParseSigned(tok.Token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
		var atClaims map[string]any
		at.UnsafeClaimsWithoutVerification(&atClaims)
		if atClaims["appid"] != clientID && atClaims["azp"] != clientID {
			t.Fatalf("access token for %v/%v, want %s", atClaims["appid"], atClaims["azp"], clientID)
		}
	})

	t.Run("probes and metrics", func(t *testing.T) {
		for path, want := range map[string]string{
			"/healthz": "ok", "/readyz": "ok",
			"/metrics": `ward_webhook_admission_duration_seconds_count{result="patched"}`,
		} {
			resp, err := http.Get("http://" + probeAddr + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
				t.Errorf("GET %s: %d %.300s", path, resp.StatusCode, b)
			}
			if path == "/metrics" {
				for _, line := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(line, "ward_webhook_admission_duration_seconds_") && !strings.Contains(line, "bucket") {
						t.Log(line)
					}
				}
			}
		}
	})

	t.Run("ward doctor walks the chain", func(t *testing.T) {
		doctor := func(args ...string) (string, int) {
			out, errOut, code := w.cli(append([]string{"doctor"}, append(args, "--namespace", ns, "--kubeconfig", kube.Kubeconfig)...)...)
			return out + errOut, code
		}
		// With no role the identity can sign in but do nothing: doctor says so.
		out, code := doctor("pod", "app")
		if code == 0 || !strings.Contains(out, "has no role assignments") || !strings.Contains(out, "token exchange at") {
			t.Fatalf("doctor without a role (exit %d):\n%s", code, out)
		}
		mustCLI(t, w, "role", "assignment", "create", "--assignee", clientID, "--role", "Reader",
			"--scope", "/subscriptions/"+w.admin.SubscriptionID+"/resourceGroups/rg")
		out, code = doctor("pod", "app")
		for _, want := range []string{"OK    pod wi-test/app has label", "federated credential \"kind1-workload\" matches", "is the hosted issuer of cluster kind1",
			"token exchange at", "succeeded", "role \"Reader\" at /subscriptions/", "All checks passed."} {
			if !strings.Contains(out, want) {
				t.Errorf("doctor pod app lacks %q", want)
			}
		}
		if code != 0 {
			t.Fatalf("doctor on a good pod exited %d:\n%s", code, out)
		}
		t.Logf("ward doctor pod app:\n%s", out)
		if out, code := doctor("serviceaccount", "workload"); code != 0 {
			t.Fatalf("doctor serviceaccount (exit %d):\n%s", code, out)
		}

		// The classic mistake: the pod runs as another service account than
		// the federated credential names.
		other := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app-sa", Annotations: map[string]string{"azure.workload.identity/client-id": clientID}}}
		if _, err := kube.Client.CoreV1().ServiceAccounts(ns).Create(ctx, other, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := kube.Client.CoreV1().Pods(ns).Create(ctx, labelledPod("wrong-sa", "app-sa"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		out, code = doctor("pod", "wrong-sa")
		for _, want := range []string{
			`federated credential "kind1-workload" has subject system:serviceaccount:wi-test:workload, the pod runs as system:serviceaccount:wi-test:app-sa`,
			"fix: ward identity federated-credential create --name NAME --identity-name app-id -g rg --issuer " + issuer + " --subject system:serviceaccount:wi-test:app-sa",
			"token exchange refused: AADSTS70021",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("doctor pod wrong-sa lacks %q", want)
			}
		}
		if code == 0 {
			t.Error("doctor exited 0 on a broken pod")
		}
		t.Logf("ward doctor pod wrong-sa:\n%s", out)
		out, _ = doctor("pod", "plain")
		if !strings.Contains(out, `FAIL  pod wi-test/plain lacks label azure.workload.identity/use: "true"`) || !strings.Contains(out, "container app lacks AZURE_CLIENT_ID") {
			t.Errorf("doctor pod plain:\n%s", out)
		}
	})
}

// TestInstallManifests: what `ward aks show-install` prints (deploy/webhook
// with the ConfigMap filled in) is accepted by a real API server, with a
// server-side dry run of every object, through kubectl as a user applies it.
func TestInstallManifests(t *testing.T) {
	t.Parallel()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	w := startWard(t, "")
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	mustCLI(t, w, "aks", "create", "-n", "c1", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity")
	out := mustCLI(t, w, "aks", "show-install", "-n", "c1", "-g", "rg")
	if !strings.Contains(out, `AZURE_TENANT_ID: "`+w.admin.TenantID+`"`) || !strings.Contains(out, `AZURE_AUTHORITY_HOST: "`+w.base+`/"`) {
		t.Fatalf("show-install did not fill in the ConfigMap:\n%s", out)
	}
	saKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	kube := startKube(t, "https://issuer.example/", saKey)
	// Namespaced objects need their namespace to exist even in a dry run.
	if _, err := kube.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ward-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kubectl, "--kubeconfig", kube.Kubeconfig, "apply", "--dry-run=server", "-f", "-")
	cmd.Stdin = strings.NewReader(out)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server: %v\n%s", err, res)
	}
	for _, want := range []string{"deployment.apps/ward-webhook", "mutatingwebhookconfiguration.admissionregistration.k8s.io/ward-workload-identity-webhook",
		"poddisruptionbudget.policy/ward-webhook", "clusterrole.rbac.authorization.k8s.io/ward-webhook", "service/ward-webhook"} {
		if !strings.Contains(string(res), want) {
			t.Errorf("kubectl output lacks %s:\n%s", want, res)
		}
	}
	// And the kustomization renders the same set.
	k := exec.Command(kubectl, "kustomize", "../../deploy/webhook")
	if b, err := k.CombinedOutput(); err != nil || !strings.Contains(string(b), "kind: MutatingWebhookConfiguration") {
		t.Fatalf("kubectl kustomize deploy/webhook: %v\n%s", err, b)
	}
}

func labelledPod(name, sa string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"azure.workload.identity/use": "true"}},
		Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "app", Image: "app"}}},
	}
}

func envOf(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}
