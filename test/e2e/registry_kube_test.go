//go:build kube

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeletv1 "k8s.io/kubelet/config/v1"
	"sigs.k8s.io/yaml"
)

// TestACRCredentialProviderPodKube: pod mode with tokens a real
// kube-apiserver minted, the plugin run as the kubelet runs it with the
// configuration `ward aks show-install --credential-provider-config`
// printed. For each pod the test does what a 1.34 kubelet does: a
// TokenRequest bound to the pod with the configured audience, and the
// service account's annotations the configuration names. The pod whose
// service account is federated to an AcrPull identity pulls; another
// service account's token gets credentials that the registry refuses.
func TestACRCredentialProviderPodKube(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := startWard(t, "")
	f := w.registryFixture(t, "rg", "kubeacr")
	mustCLI(t, w, "aks", "create", "-n", "kind1", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity", "-k", "1.34.1")
	issuer := strings.TrimSpace(mustCLI(t, w, "aks", "show", "-n", "kind1", "-g", "rg", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))

	saKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	kube := startKube(t, issuer, saKey)
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(jwksFile, kube.raw(t, "/openid/v1/jwks"), 0o600)
	mustCLI(t, w, "aks", "update", "-n", "kind1", "-g", "rg", "--service-account-jwks", "@"+jwksFile)

	// Two identities, each federated to one service account; only app's holds AcrPull.
	clients := map[string]string{}
	for _, sa := range []string{"app", "other"} {
		clients[sa] = strings.TrimSpace(mustCLI(t, w, "identity", "create", "-n", sa+"-id", "-g", "rg", "--query", "clientId", "-o", "tsv"))
		mustCLI(t, w, "identity", "federated-credential", "create", "--name", "kind1-"+sa, "--identity-name", sa+"-id", "-g", "rg",
			"--issuer", issuer, "--subject", "system:serviceaccount:shop:"+sa)
	}
	principal := strings.TrimSpace(mustCLI(t, w, "identity", "show", "-n", "app-id", "-g", "rg", "--query", "principalId", "-o", "tsv"))
	w.assign(t, principal, f.id, "7f951dda-4ed3-4680-a7ca-43fe172d538d")
	image := f.loginServer + "/shop/app:v1"
	pushRandom(t, w, f, image)

	// The kubelet's configuration, as Ward prints it.
	var cfg kubeletv1.CredentialProviderConfig
	if err := yaml.UnmarshalStrict([]byte(mustCLI(t, w, "aks", "show-install", "-n", "kind1", "-g", "rg", "--credential-provider-config")), &cfg); err != nil {
		t.Fatal(err)
	}
	p := cfg.Providers[0]
	if p.TokenAttributes == nil {
		t.Fatal("no tokenAttributes for a 1.34 cluster")
	}
	args := append([]string{}, p.Args...)
	for i, a := range args {
		if a == "/etc/ward/ca.pem" {
			args[i] = filepath.Join(w.dataDir, "ca.pem")
		}
	}

	if _, err := kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(image)
	// pull runs the plugin for a pod of service account sa annotated with
	// identity's client ID; a refusal by the plugin is pluginErr.
	pull := func(sa, identity string) (pluginErr string, pullErr error) {
		t.Helper()
		acct, err := kube.Client.CoreV1().ServiceAccounts("shop").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa,
			Annotations: map[string]string{"kubernetes.azure.com/acr-client-id": clients[identity], "unrelated": "x"}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod, err := kube.Client.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: sa + "-pod"},
			Spec: corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "app", Image: image}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The kubelet's TokenRequest: bound to the pod, the configured audience.
		tr, err := kube.Client.CoreV1().ServiceAccounts("shop").CreateToken(ctx, sa, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences:      []string{p.TokenAttributes.ServiceAccountTokenAudience},
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		annotations := map[string]string{}
		for _, k := range append(p.TokenAttributes.RequiredServiceAccountAnnotationKeys, p.TokenAttributes.OptionalServiceAccountAnnotationKeys...) {
			if v, ok := acct.Annotations[k]; ok {
				annotations[k] = v
			}
		}
		req, _ := json.Marshal(map[string]any{"apiVersion": p.APIVersion, "kind": "CredentialProviderRequest", "image": image,
			"serviceAccountToken": tr.Status.Token, "serviceAccountAnnotations": annotations})
		cmd := exec.Command(wardBin, args...)
		cmd.Env, cmd.Stdin = agentEnv(), strings.NewReader(string(req))
		out, err := cmd.Output()
		if err != nil {
			return exitStderr(err), nil
		}
		var resp struct {
			Auth map[string]struct{ Username, Password string }
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("response %s: %v", out, err)
		}
		a, ok := resp.Auth[f.loginServer]
		if !ok {
			t.Fatalf("no credentials for %s in %s", f.loginServer, out)
		}
		_, err = remote.Image(ref, remote.WithAuth(&authn.Basic{Username: a.Username, Password: a.Password}), remote.WithTransport(f.client.Transport))
		return "", err
	}
	if refused, err := pull("app", "app"); refused != "" || err != nil {
		t.Fatalf("the pod whose service account is federated to an AcrPull identity: %s %v", refused, err)
	}
	if refused, err := pull("other", "other"); refused != "" || !isStatus(err, 401) {
		t.Fatalf("the pod of a service account whose identity holds no role: %s %v, want 401 from the registry", refused, err)
	}
	// A service account that names the AcrPull identity without being
	// federated to it: its token is refused at the exchange.
	if refused, _ := pull("intruder", "app"); !strings.Contains(refused, "AADSTS") {
		t.Fatalf("another service account's token for the AcrPull identity: plugin said %q, want Ward's AADSTS refusal", refused)
	}
}
