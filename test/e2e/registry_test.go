package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/ward-id/ward/internal/postgrestest"
)

// registryFixture is a registry on a running Ward: its ARM ID, login
// server and an HTTP client that reaches every host name at the server.
type registryFixture struct {
	id, loginServer string
	client          *http.Client
}

func (w *ward) registryFixture(t *testing.T, group, reg string) registryFixture {
	t.Helper()
	rg := "/subscriptions/" + w.admin.SubscriptionID + "/resourceGroups/" + group
	if st, b, _ := w.request("PUT", rg+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 && st != 200 {
		t.Fatalf("group: %d %v", st, b)
	}
	st, b, _ := w.request("PUT", rg+"/providers/Microsoft.ContainerRegistry/registries/"+reg+"?api-version=2023-07-01", `{"location":"westeurope","sku":{"name":"Basic"}}`)
	if st != 201 {
		t.Fatalf("registry: %d %v", st, b)
	}
	props := b["properties"].(map[string]any)
	return registryFixture{id: b["id"].(string), loginServer: props["loginServer"].(string), client: w.hostsClient()}
}

// exchange does what az acr login and the kubelet's plugin do: an Entra
// token for the registry, exchanged at /oauth2/exchange for a refresh token.
func (w *ward) exchange(t *testing.T, f registryFixture, p principal) string {
	t.Helper()
	aad := w.tokenFor(t, p, "https://containerregistry.azure.net/.default")
	resp, err := f.client.PostForm("https://"+f.loginServer+"/oauth2/exchange", url.Values{"grant_type": {"access_token"},
		"service": {f.loginServer}, "tenant": {w.admin.TenantID}, "access_token": {aad}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	if err := jsonDecode(resp, &out); err != nil || resp.StatusCode != 200 || out["refresh_token"] == "" {
		t.Fatalf("exchange: %d %v %v", resp.StatusCode, out, err)
	}
	return out["refresh_token"]
}

// TestRegistryPushPullByRole: a real client (go-containerregistry, as crane
// does) pushes with an AcrPush identity and pulls with an AcrPull one
// through ACR's null-GUID login against an unmodified CNCF distribution
// registry; a principal without a role gets 401 insufficient_scope, and
// revoking AcrPull stops new pulls within a second.
func TestRegistryPushPullByRole(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	f := w.registryFixture(t, "acr-rg", "teamacr")
	if f.loginServer != "teamacr.azurecr.localhost:"+strings.Split(w.addr, ":")[1] {
		t.Fatalf("loginServer = %q", f.loginServer)
	}
	pusher, puller, nobody := w.newPrincipal(t, "acr-pusher"), w.newPrincipal(t, "acr-puller"), w.newPrincipal(t, "acr-nobody")
	w.assign(t, pusher.ObjectID, f.id, "8311e382-0749-4cb8-b61a-304f252e45ec") // AcrPush
	pullAssignment := w.assign(t, puller.ObjectID, f.id, "7f951dda-4ed3-4680-a7ca-43fe172d538d")

	// /v2/ challenges as ACR does.
	resp, err := f.client.Get("https://" + f.loginServer + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantChallenge := `Bearer realm="https://` + f.loginServer + `/oauth2/token",service="` + f.loginServer + `"`
	if resp.StatusCode != 401 || resp.Header.Get("Www-Authenticate") != wantChallenge {
		t.Fatalf("/v2/: %d %q, want 401 %q", resp.StatusCode, resp.Header.Get("Www-Authenticate"), wantChallenge)
	}

	ref, err := name.ParseReference(f.loginServer + "/apps/hello:v1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	tr := f.client.Transport
	// docker login's shape: the null GUID and the refresh token as the
	// password (ggcr then GETs /oauth2/token with Basic).
	basic := func(rt string) remote.Option {
		return remote.WithAuth(&authn.Basic{Username: "00000000-0000-0000-0000-000000000000", Password: rt})
	}
	// An identity token (docker's config after an ACR login): ggcr POSTs
	// the refresh_token grant.
	identity := func(rt string) remote.Option {
		return remote.WithAuth(authn.FromConfig(authn.AuthConfig{IdentityToken: rt}))
	}
	ctx := context.Background()
	if err := remote.Write(ref, img, basic(w.exchange(t, f, pusher)), remote.WithTransport(tr), remote.WithContext(ctx)); err != nil {
		t.Fatalf("push as AcrPush: %v", err)
	}
	want, _ := img.Digest()
	pullRT := w.exchange(t, f, puller)
	for name, auth := range map[string]remote.Option{"basic": basic(pullRT), "identity token": identity(pullRT)} {
		got, err := remote.Image(ref, auth, remote.WithTransport(tr))
		if err != nil {
			t.Fatalf("pull as AcrPull (%s): %v", name, err)
		}
		if d, _ := got.Digest(); d != want {
			t.Fatalf("pulled %s, pushed %s", d, want)
		}
		if _, err := got.RawManifest(); err != nil {
			t.Fatal(err)
		}
	}
	// AcrPull does not push.
	other, _ := name.ParseReference(f.loginServer + "/apps/hello:v2")
	if err := remote.Write(other, img, identity(pullRT), remote.WithTransport(tr)); !isStatus(err, 401) {
		t.Fatalf("push as AcrPull: %v, want 401", err)
	}
	// No role: the token service answers a token with no access; the
	// registry refuses it with 401 insufficient_scope.
	nobodyRT := w.exchange(t, f, nobody)
	if _, err := remote.Image(ref, basic(nobodyRT), remote.WithTransport(tr)); !isStatus(err, 401) {
		t.Fatalf("pull with no role: %v, want 401", err)
	}
	at := containerdToken(t, f, nobodyRT, "repository:apps/hello:pull")
	req, _ := http.NewRequest("GET", "https://"+f.loginServer+"/v2/apps/hello/manifests/v1", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	resp, err = f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("Www-Authenticate"), `error="insufficient_scope"`) {
		t.Fatalf("no role: %d %q, want 401 insufficient_scope", resp.StatusCode, resp.Header.Get("Www-Authenticate"))
	}
	// containerd's password grant for the puller works.
	at = containerdToken(t, f, pullRT, "repository:apps/hello:pull")
	req.Header.Set("Authorization", "Bearer "+at)
	if resp, err = f.client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("pull with containerd's token: %v %v", resp, err)
	}
	resp.Body.Close()

	// Revocation: the same refresh token gets no pull once AcrPull is gone.
	if st, b, _ := w.request("DELETE", f.id+"/providers/Microsoft.Authorization/roleAssignments/"+pullAssignment+"?api-version=2022-04-01", ""); st != 200 {
		t.Fatalf("revoke: %d %v", st, b)
	}
	deadline := time.Now().Add(time.Second)
	for {
		_, err := remote.Image(ref, basic(pullRT), remote.WithTransport(tr))
		if isStatus(err, 401) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pull 1 s after revoking AcrPull: %v, want 401", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A registry deleted with its group and created again starts empty.
	if st, b, _ := w.request("DELETE", "/subscriptions/"+w.admin.SubscriptionID+"/resourceGroups/acr-rg?api-version=2021-04-01", ""); st != 200 && st != 202 {
		t.Fatalf("delete group: %d %v", st, b)
	}
	f = w.registryFixture(t, "acr-rg", "teamacr")
	admin := principal{AppID: w.admin.ClientID, Secret: w.admin.ClientSecret}
	if _, err := remote.Image(ref, basic(w.exchange(t, f, admin)), remote.WithTransport(tr)); !isStatus(err, 404) {
		t.Fatalf("pull from a registry created again under the old name: %v, want 404", err)
	}
}

// containerdToken asks /oauth2/token as containerd does: the password
// grant with the null GUID.
func containerdToken(t *testing.T, f registryFixture, rt, scope string) string {
	t.Helper()
	resp, err := f.client.PostForm("https://"+f.loginServer+"/oauth2/token", url.Values{"grant_type": {"password"},
		"username": {"00000000-0000-0000-0000-000000000000"}, "password": {rt}, "service": {f.loginServer}, "scope": {scope},
		"client_id": {"containerd-client"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	if err := jsonDecode(resp, &out); err != nil || resp.StatusCode != 200 || out["access_token"] == "" {
		t.Fatalf("password grant: %d %v %v", resp.StatusCode, out, err)
	}
	return out["access_token"]
}

func isStatus(err error, status int) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == status
}

func jsonDecode(resp *http.Response, v any) error {
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", resp.Status, err)
	}
	return nil
}

// registryAccessToken exchanges an Entra token at host's /oauth2/exchange
// and asks /oauth2/token for scope, as docker and az do.
func (w *ward) registryAccessToken(t *testing.T, host, aad, scope string) string {
	t.Helper()
	post := func(path string, form url.Values) map[string]string {
		req, _ := http.NewRequest("POST", w.base+path, strings.NewReader(form.Encode()))
		req.Host = host
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := w.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		if err := jsonDecode(resp, &out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v %v", path, resp.StatusCode, out, err)
		}
		return out
	}
	rt := post("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {host}, "access_token": {aad}})["refresh_token"]
	return post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "service": {host}, "refresh_token": {rt}, "scope": {scope}})["access_token"]
}

// TestCLIACR walks the guide's commands: ward acr create, show, list,
// login (docker's config, and --expose-token as az prints it), show-config
// (a configuration distribution parses) and delete; the refresh token the
// CLI got pushes an image with a real client.
func TestCLIACR(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "a long end-to-end flow")
	w := startWard(t, "")
	dockerDir := t.TempDir()
	f := newFlowCLI(t, filepath.Dir(w.dataDir), "DOCKER_CONFIG="+dockerDir)
	f.ok("group", "create", "-n", "rg", "-l", "westeurope")
	r := f.json("acr", "create", "-n", "cliacr", "-g", "rg", "--sku", "Standard", "--tags", "env=dev")
	_, port, _ := net.SplitHostPort(w.addr)
	loginServer := "cliacr.azurecr.localhost:" + port
	props := r["properties"].(map[string]any)
	if r["resourceGroup"] != "rg" || props["loginServer"] != loginServer || r["sku"].(map[string]any)["name"] != "Standard" || props["adminUserEnabled"] != false {
		t.Fatalf("acr create = %v", r)
	}
	if msg := f.fails("acr", "create", "-n", "bad", "-g", "rg"); !strings.Contains(msg, "InvalidResourceName") {
		t.Fatalf("a 3-letter name: %s", msg)
	}
	if msg := f.fails("acr", "create", "-n", "adminacr", "-g", "rg", "--admin-enabled"); !strings.Contains(msg, "no admin user") {
		t.Fatalf("--admin-enabled: %s", msg)
	}
	if got := f.ok("acr", "show", "-n", "cliacr", "--query", "properties.loginServer", "-o", "tsv"); got != loginServer {
		t.Fatalf("acr show = %q", got)
	}
	if got := f.ok("acr", "list", "--query", "[].name", "-o", "tsv"); got != "cliacr" {
		t.Fatalf("acr list = %q", got)
	}
	// The cloud metadata names the suffix az derives login servers from.
	st, _, _ := w.request("GET", "/metadata/endpoints?api-version=2022-09-01", "")
	if st != 200 {
		t.Fatalf("metadata: %d", st)
	}
	resp, err := w.http.Get(w.base + "/metadata/endpoints?api-version=2022-09-01")
	if err != nil {
		t.Fatal(err)
	}
	// 2022-09-01 is one object (go-azure-sdk decodes one).
	var meta struct {
		Suffixes map[string]any `json:"suffixes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	resp.Body.Close()
	if got := meta.Suffixes["acrLoginServer"]; got != ".azurecr.localhost:"+port {
		t.Fatalf("acrLoginServer = %v", got)
	}

	tok := f.json("acr", "login", "-n", "cliacr", "--expose-token")
	if tok["loginServer"] != loginServer || tok["username"] != "00000000-0000-0000-0000-000000000000" || tok["accessToken"] == "" {
		t.Fatalf("acr login --expose-token = %v", tok)
	}
	if out := f.ok("acr", "login", "-n", "cliacr"); !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("acr login = %q", out)
	}
	b, err := os.ReadFile(filepath.Join(dockerDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Auths[loginServer].Auth == "" {
		t.Fatalf("docker config = %s (%v)", b, err)
	}
	// docker's stored credentials push (the admin is Owner).
	ref, _ := name.ParseReference(loginServer + "/cli/img:v1")
	img, _ := random.Image(512, 1)
	auth := authn.FromConfig(authn.AuthConfig{Auth: cfg.Auths[loginServer].Auth})
	if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithTransport(w.hostsClient().Transport)); err != nil {
		t.Fatalf("push with docker's stored login: %v", err)
	}

	conf := f.ok("acr", "show-config", "-n", "cliacr", "--root-directory", "/srv/registry")
	parsed, err := configuration.Parse(strings.NewReader(conf))
	if err != nil {
		t.Fatalf("show-config printed what distribution refuses:\n%s\n%v", conf, err)
	}
	if tokCfg := parsed.Auth["token"]; tokCfg["service"] != loginServer || tokCfg["realm"] != "https://"+loginServer+"/oauth2/token" {
		t.Fatalf("show-config auth = %v", tokCfg)
	}
	// --attach-acr: AcrPull for the kubelet identity at the registry, as AKS does; --detach-acr removes it.
	kubelet := f.ok("aks", "create", "-n", "c1", "-g", "rg", "--attach-acr", "cliacr", "--query", "identityProfile.kubeletidentity.objectId", "-o", "tsv")
	acrID := r["id"].(string)
	held := func() string {
		return f.ok("role", "assignment", "list", "--scope", acrID, "--assignee", kubelet, "--query", "[?scope=='"+acrID+"'].roleDefinitionName", "-o", "tsv")
	}
	if got := held(); got != "AcrPull" {
		t.Fatalf("after --attach-acr the kubelet identity holds %q at the registry, want AcrPull", got)
	}
	f.ok("aks", "update", "-n", "c1", "-g", "rg", "--attach-acr", acrID) // by ID, and a second attach is a no-op
	if got := held(); got != "AcrPull" {
		t.Fatalf("after a second --attach-acr: %q", got)
	}
	f.ok("aks", "update", "-n", "c1", "-g", "rg", "--detach-acr", "cliacr")
	if got := held(); got != "" {
		t.Fatalf("after --detach-acr the kubelet identity holds %q", got)
	}

	f.ok("acr", "delete", "-n", "cliacr", "--yes")
	if msg := f.fails("acr", "show", "-n", "cliacr"); !strings.Contains(msg, "ResourceNotFound") {
		t.Fatalf("show a deleted registry: %s", msg)
	}
}

// TestACRCredentialProviderNode runs `ward acr credential-provider` as the
// kubelet runs a plugin (a CredentialProviderRequest on stdin, the node's
// identity from `ward agent`): the credentials it prints pull an image the
// node's identity holds AcrPull for, and stop pulling once the assignment
// is removed.
func TestACRCredentialProviderNode(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	f := w.registryFixture(t, "acr-node", "nodeacr")
	m := w.machineFixture(t, "acr-node", "node1")
	pullID := w.assign(t, m.systemPrincipal, f.id, "7f951dda-4ed3-4680-a7ca-43fe172d538d")

	ref, _ := name.ParseReference(f.loginServer + "/system/pause:v1")
	img, _ := random.Image(1024, 1)
	admin := principal{AppID: w.admin.ClientID, Secret: w.admin.ClientSecret}
	basic := func(user, pass string) remote.Option {
		return remote.WithAuth(&authn.Basic{Username: user, Password: pass})
	}
	tr := remote.WithTransport(f.client.Transport)
	if err := remote.Write(ref, img, basic("00000000-0000-0000-0000-000000000000", w.exchange(t, f, admin)), tr); err != nil {
		t.Fatal(err)
	}

	endpoint, secret, _ := appService(t, "--state-dir", w.join(t, m.token))
	request := `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"` + ref.String() + `"}`
	plugin := func() (map[string]any, string) {
		cmd := exec.Command(wardBin, "acr", "credential-provider", "--ca-file", filepath.Join(w.dataDir, "ca.pem"))
		cmd.Env = append(agentEnv(), "IDENTITY_ENDPOINT="+endpoint, "IDENTITY_HEADER="+secret)
		cmd.Stdin = strings.NewReader(request)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return nil, errOut.String()
		}
		var resp map[string]any
		if err := json.Unmarshal([]byte(out.String()), &resp); err != nil {
			t.Fatalf("plugin printed %q: %v", out.String(), err)
		}
		return resp, errOut.String()
	}
	resp, errOut := plugin()
	if resp == nil || resp["kind"] != "CredentialProviderResponse" || resp["cacheKeyType"] != "Registry" {
		t.Fatalf("credential provider: %v %s", resp, errOut)
	}
	auth := resp["auth"].(map[string]any)[f.loginServer].(map[string]any)
	user, pass := auth["username"].(string), auth["password"].(string)
	if user != "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("username = %q", user)
	}
	got, err := remote.Image(ref, basic(user, pass), tr)
	if err != nil {
		t.Fatalf("pull with the node's credentials: %v", err)
	}
	if d, _ := got.Digest(); d.String() == "" {
		t.Fatal("no digest")
	}
	other, _ := name.ParseReference(f.loginServer + "/system/other:v1")
	if err := remote.Write(other, img, basic(user, pass), tr); !isStatus(err, 401) {
		t.Fatalf("push with AcrPull credentials: %v, want 401", err)
	}

	// A kubelet configured for pod mode passes every pod's token; a pod
	// whose service account names no identity pulls as the node.
	request = `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"` + ref.String() +
		`","serviceAccountToken":"a.b.c","serviceAccountAnnotations":{"unrelated":"x"}}`
	resp, errOut = plugin()
	if resp == nil || resp["cacheKeyType"] != "Registry" {
		t.Fatalf("a pod whose service account names no identity: %v %s", resp, errOut)
	}
	auth = resp["auth"].(map[string]any)[f.loginServer].(map[string]any)
	if _, err := remote.Image(ref, basic(auth["username"].(string), auth["password"].(string)), tr); err != nil {
		t.Fatalf("pull as the node for a pod without an identity: %v", err)
	}

	if st, b, _ := w.request("DELETE", f.id+"/providers/Microsoft.Authorization/roleAssignments/"+pullID+"?api-version=2022-04-01", ""); st != 200 {
		t.Fatalf("revoke: %d %v", st, b)
	}
	resp, errOut = plugin()
	if resp == nil {
		t.Fatalf("credential provider after revocation: %s", errOut)
	}
	auth = resp["auth"].(map[string]any)[f.loginServer].(map[string]any)
	if _, err := remote.Image(ref, basic(auth["username"].(string), auth["password"].(string)), tr); !isStatus(err, 401) {
		t.Fatalf("pull after AcrPull was removed: %v, want 401", err)
	}
}

// TestACRCredentialProviderPod: the same plugin in service-account token
// mode (Kubernetes ≥ 1.34 hands it the pod's token and annotations): the
// pod's own workload identity, not the node's, decides what it may pull.
// The token comes from a cluster's hosted issuer, as kube-apiserver would
// project it.
func TestACRCredentialProviderPod(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	f := w.registryFixture(t, "acr-pod", "podacr")
	rg := "/subscriptions/" + w.admin.SubscriptionID + "/resourceGroups/acr-pod"
	st, c, _ := w.request("PUT", rg+"/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2024-05-01", `{"location":"westeurope","properties":{"oidcIssuerProfile":{"enabled":true}}}`)
	if st != 201 {
		t.Fatalf("cluster: %d %v", st, c)
	}
	issuer := c["properties"].(map[string]any)["oidcIssuerProfile"].(map[string]any)["issuerURL"].(string)
	identity := func(n, subject string) (clientID, principalID string) {
		id := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + n
		st, b, _ := w.request("PUT", id+"?api-version=2023-01-31", `{"location":"westeurope"}`)
		if st != 201 {
			t.Fatalf("identity: %d %v", st, b)
		}
		st, fic, _ := w.request("PUT", id+"/federatedIdentityCredentials/pod?api-version=2023-01-31",
			`{"properties":{"issuer":"`+issuer+`","subject":"`+subject+`","audiences":["api://AzureADTokenExchange"]}}`)
		if st != 201 {
			t.Fatalf("federated credential: %d %v", st, fic)
		}
		p := b["properties"].(map[string]any)
		return p["clientId"].(string), p["principalId"].(string)
	}
	appClient, appPrincipal := identity("app", "system:serviceaccount:shop:app")
	otherClient, _ := identity("other", "system:serviceaccount:shop:other")
	w.assign(t, appPrincipal, f.id, "7f951dda-4ed3-4680-a7ca-43fe172d538d")

	ref, _ := name.ParseReference(f.loginServer + "/shop/app:v1")
	img, _ := random.Image(1024, 1)
	tr := remote.WithTransport(f.client.Transport)
	basic := func(user, pass string) remote.Option {
		return remote.WithAuth(&authn.Basic{Username: user, Password: pass})
	}
	if err := remote.Write(ref, img, basic("00000000-0000-0000-0000-000000000000", w.exchange(t, f, principal{AppID: w.admin.ClientID, Secret: w.admin.ClientSecret})), tr); err != nil {
		t.Fatal(err)
	}
	saToken := func(sa string) string {
		st, b, _ := w.request("POST", rg+"/providers/Microsoft.ContainerService/managedClusters/c1/getServiceAccountToken?api-version=2024-05-01",
			`{"namespace":"shop","serviceAccount":"`+sa+`","audience":"api://AzureADTokenExchange"}`)
		if st != 200 {
			t.Fatalf("service-account token: %d %v", st, b)
		}
		return b["token"].(string)
	}
	pull := func(sa, clientID string) error {
		req, _ := json.Marshal(map[string]any{"apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest", "image": ref.String(),
			"serviceAccountToken": saToken(sa), "serviceAccountAnnotations": map[string]string{"azure.workload.identity/client-id": clientID}})
		cmd := exec.Command(wardBin, "acr", "credential-provider", "--ca-file", filepath.Join(w.dataDir, "ca.pem"), "--authority-host", w.base, "--tenant-id", w.admin.TenantID)
		cmd.Env, cmd.Stdin = agentEnv(), strings.NewReader(string(req))
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("credential provider for %s: %v %s", sa, err, errOut.String())
		}
		var resp struct {
			CacheKeyType string `json:"cacheKeyType"`
			Auth         map[string]struct{ Username, Password string }
		}
		if err := json.Unmarshal([]byte(out.String()), &resp); err != nil || resp.CacheKeyType != "Image" {
			t.Fatalf("response %q: %v (a pod's credentials are cached per image)", out.String(), err)
		}
		a := resp.Auth[f.loginServer]
		_, err := remote.Image(ref, basic(a.Username, a.Password), tr)
		return err
	}
	if err := pull("app", appClient); err != nil {
		t.Fatalf("the pod whose identity holds AcrPull: %v", err)
	}
	if err := pull("other", otherClient); !isStatus(err, 401) {
		t.Fatalf("the pod whose identity holds no role: %v, want 401", err)
	}
}

// TestRegistryReplicas: on two replicas of one PostgreSQL, a refresh token
// one replica issued is honoured by the other (one KEK-derived key), and a
// revoked AcrPull empties the other replica's access tokens within the
// change feed's bound.
func TestRegistryReplicas(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "starts several replicas")
	pg := postgrestest.StartServer(t)
	rs := startReplicas(t, pg.DSN, filepath.Join(t.TempDir(), "kek"), 2)
	a, b := rs[0], rs[1]
	b.http = a.http
	f := a.registryFixture(t, "acr-repl", "replacr")
	p := a.newPrincipal(t, "repl-puller")
	id := a.assign(t, p.ObjectID, f.id, "7f951dda-4ed3-4680-a7ca-43fe172d538d")
	form := func(w *ward, path string, v url.Values) map[string]any {
		req, _ := http.NewRequest("POST", w.base+path, strings.NewReader(v.Encode()))
		req.Host = f.loginServer
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := w.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := jsonDecode(resp, &out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s on %s: %d %v %v", path, w.addr, resp.StatusCode, out, err)
		}
		return out
	}
	rt := form(a, "/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {f.loginServer},
		"access_token": {a.tokenFor(t, p, "https://containerregistry.azure.net/.default")}})["refresh_token"].(string)
	access := func() []any {
		at := form(b, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "service": {f.loginServer}, "refresh_token": {rt},
			"scope": {"repository:apps/x:pull"}})["access_token"].(string)
		l, _ := unverifiedClaims(t, at)["access"].([]any)
		return l
	}
	if got := access(); len(got) != 1 {
		t.Fatalf("replica b's access for an AcrPull holder = %v, want pull", got)
	}
	if st, body, _ := a.request("DELETE", f.id+"/providers/Microsoft.Authorization/roleAssignments/"+id+"?api-version=2022-04-01", ""); st != 200 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	d := propagation(t, "AcrPull revocation on replica b", func() bool { return len(access()) == 0 })
	t.Logf("replica b stopped granting pull %v after the revocation on a", d)
}
