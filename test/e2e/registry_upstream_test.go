package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The HTTP sequence of upstream's kubelet plugin, acr-credential-provider
// (kubernetes-sigs/cloud-provider-azure, cmd/acr-credential-provider and
// pkg/credentialprovider, read at commit 7b31c76ce2ff), replayed request by
// request: its module is not served by the Go module proxy here, so the
// tests below send what it sends, with the checks it makes on each answer.
// docs/registry.md documents the azure.json for Ward.
const upstreamUserAgent = "kubernetes-credentialprovider-acr"

// upstreamCloud is what the plugin learns from azure.json's
// resourceManagerEndpoint: GET <endpoint>/metadata/endpoints?api-version=
// 2019-05-01, an array whose entry named like azure.json's "cloud" (or
// the first, with no cloud) gives the authority (loginEndpoint), the ARM
// audience (audiences[0], which it indexes without a check) and the
// registry suffix (suffixes.acrLoginServer).
type upstreamCloud struct {
	loginEndpoint, audience, acrSuffix string
}

func upstreamMetadata(t *testing.T, hc *http.Client, resourceManagerEndpoint, cloudName string) upstreamCloud {
	t.Helper()
	resp, err := hc.Get(strings.TrimSuffix(resourceManagerEndpoint, "/") + "/metadata/endpoints?api-version=2019-05-01")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var entries []struct {
		Name            string `json:"name"`
		ResourceManager string `json:"resourceManager"`
		Authentication  struct {
			Audiences     []string `json:"audiences"`
			LoginEndpoint string   `json:"loginEndpoint"`
		} `json:"authentication"`
		Suffixes struct {
			AcrLoginServer *string `json:"acrLoginServer"`
		} `json:"suffixes"`
	}
	if err := jsonDecode(resp, &entries); err != nil {
		t.Fatalf("the plugin decodes the 2019-05-01 metadata as an array: %v", err)
	}
	for _, e := range entries {
		if cloudName != "" && !strings.EqualFold(e.Name, cloudName) {
			continue
		}
		if len(e.Authentication.Audiences) == 0 || e.Authentication.LoginEndpoint == "" || e.Suffixes.AcrLoginServer == nil || e.ResourceManager == "" {
			t.Fatalf("metadata entry %+v: the plugin needs audiences[0], loginEndpoint, resourceManager and suffixes.acrLoginServer", e)
		}
		return upstreamCloud{loginEndpoint: e.Authentication.LoginEndpoint, audience: e.Authentication.Audiences[0], acrSuffix: *e.Suffixes.AcrLoginServer}
	}
	t.Fatalf("no metadata entry named %q in %+v", cloudName, entries)
	return upstreamCloud{}
}

// upstreamLoginServer is the plugin's rule for a custom cloud's image: the
// image up to the end of the first occurrence of the registry suffix.
func upstreamLoginServer(image, suffix string) string {
	i := strings.Index(image, suffix)
	if suffix == "" || i < 0 {
		return ""
	}
	return image[:i+len(suffix)]
}

// upstreamChallenge is its /v2/ probe: GET https://<login server>/v2/ must
// answer 401 with exactly one Www-Authenticate header, scheme Bearer, and
// non-empty realm and service (its parser splits on commas and does not
// unescape quotes).
func upstreamChallenge(t *testing.T, hc *http.Client, loginServer string) (realm, service string) {
	t.Helper()
	req, _ := http.NewRequest("GET", (&url.URL{Scheme: "https", Host: loginServer, Path: "v2/"}).String(), nil)
	req.Header.Add("User-Agent", upstreamUserAgent)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	values := resp.Header["Www-Authenticate"]
	if resp.StatusCode != 401 || len(values) != 1 {
		t.Fatalf("/v2/: %d with %d Www-Authenticate headers; the plugin needs 401 and exactly one", resp.StatusCode, len(values))
	}
	scheme, params, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.Contains(params, `\`) {
		t.Fatalf("challenge %q: the plugin needs Bearer with unescaped quoted values", values[0])
	}
	got := map[string]string{}
	for _, p := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) {
			t.Fatalf("challenge %q: parameter %q", values[0], p)
		}
		got[k] = strings.Trim(v, `"`)
	}
	if got["realm"] == "" || got["service"] == "" {
		t.Fatalf("challenge %q lacks realm or service", values[0])
	}
	return got["realm"], got["service"]
}

// upstreamExchange is its exchange: POST to the realm's scheme and host
// (the realm's path is ignored) at /oauth2/exchange, the older grant name
// access_token_refresh_token with the Entra token as both access_token and
// refresh_token, the challenge's service and azure.json's tenantId.
func upstreamExchange(t *testing.T, hc *http.Client, realm, service, tenant, token string) string {
	t.Helper()
	u, err := url.Parse(realm)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"service": {service}, "grant_type": {"access_token_refresh_token"}, "access_token": {token}, "refresh_token": {token}, "tenant": {tenant}}
	body := form.Encode()
	req, _ := http.NewRequest("POST", u.Scheme+"://"+u.Host+"/oauth2/exchange", strings.NewReader(body))
	req.Header.Add("User-Agent", upstreamUserAgent)
	req.Header.Add("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || out.RefreshToken == "" {
		t.Fatalf("exchange: %d %s", resp.StatusCode, b)
	}
	return out.RefreshToken
}

// upstreamCacheTTL is how long the plugin tells the kubelet to keep the
// credentials it returns.
const upstreamCacheTTL = 60 * time.Minute

// TestUpstreamACRCredentialProviderNode replays the plugin in its node
// mode (azure.json: useManagedIdentityExtension, userAssignedIdentityID =
// the kubelet identity's client ID, resourceManagerEndpoint = Ward): the
// metadata gives the suffix that makes the image Ward's, the node's
// managed identity (through `ward agent`) gets the registry token, the
// probe and the exchange succeed, and the credentials pull, for at least
// as long as the plugin has the kubelet cache them.
func TestUpstreamACRCredentialProviderNode(t *testing.T) {
	w := startWard(t, "")
	f := w.registryFixture(t, "up-node", "upnodeacr")
	m := w.machineFixture(t, "up-node", "node1")
	w.assign(t, m.appPrincipal, f.id, "7f951dda-4ed3-4680-a7ca-43fe172d538d") // AcrPull for the "kubelet" identity
	image := f.loginServer + "/system/pause:v1"
	pushRandom(t, w, f, image)

	hc := f.client // the node trusts Ward's CA (SSL_CERT_FILE for the plugin)
	azureJSON := map[string]any{"cloud": "", "tenantId": w.admin.TenantID, "useManagedIdentityExtension": true,
		"userAssignedIdentityID": m.appClient, "resourceManagerEndpoint": w.base + "/"}
	c := upstreamMetadata(t, hc, azureJSON["resourceManagerEndpoint"].(string), "")
	if c.loginEndpoint != w.base+"/" {
		t.Errorf("loginEndpoint = %q, want %s/", c.loginEndpoint, w.base)
	}
	loginServer := upstreamLoginServer(image, c.acrSuffix)
	if loginServer != f.loginServer {
		t.Fatalf("the plugin reads the login server of %s under suffix %q as %q, want %s", image, c.acrSuffix, loginServer, f.loginServer)
	}

	endpoint, secret, _ := appService(t, "--state-dir", w.join(t, m.token))
	useEnv(t, "IDENTITY_ENDPOINT", endpoint, "IDENTITY_HEADER", secret)
	mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(m.appClient)})
	if err != nil {
		t.Fatal(err)
	}
	token := upstreamToken(t, mi)
	realm, service := upstreamChallenge(t, hc, loginServer)
	rt := upstreamExchange(t, hc, realm, service, azureJSON["tenantId"].(string), token)
	if exp := time.Unix(int64(unverifiedClaims(t, rt)["exp"].(float64)), 0); time.Until(exp) < upstreamCacheTTL {
		t.Errorf("the refresh token expires in %v, before the %v the plugin has the kubelet cache it", time.Until(exp).Round(time.Second), upstreamCacheTTL)
	}
	ref, _ := name.ParseReference(image)
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "00000000-0000-0000-0000-000000000000", Password: rt}), remote.WithTransport(hc.Transport)); err != nil {
		t.Fatalf("pull with the plugin's credentials: %v", err)
	}
}

// TestUpstreamACRCredentialProviderPod replays the plugin's service-account
// token mode (Kubernetes 1.34+): the service account's annotations
// kubernetes.azure.com/acr-client-id and acr-tenant-id, a
// ClientAssertionCredential at the metadata's authority with instance
// discovery left on, then the same probe and exchange (which it performs
// only when azure.json has useManagedIdentityExtension). Its instance
// discovery goes to login.microsoftonline.com, not Ward, which is what
// stops it; past that, the pod whose identity holds AcrPull pulls and
// another does not. Ward's own plugin reads the same annotations.
func TestUpstreamACRCredentialProviderPod(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "runs upstream's credential provider through its pod-identity path")
	w := startWard(t, "")
	f := w.registryFixture(t, "up-pod", "uppodacr")
	rg := "/subscriptions/" + w.admin.SubscriptionID + "/resourceGroups/up-pod"
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
		if st, fic, _ := w.request("PUT", id+"/federatedIdentityCredentials/pod?api-version=2023-01-31",
			`{"properties":{"issuer":"`+issuer+`","subject":"`+subject+`","audiences":["api://AzureADTokenExchange"]}}`); st != 201 {
			t.Fatalf("federated credential: %d %v", st, fic)
		}
		p := b["properties"].(map[string]any)
		return p["clientId"].(string), p["principalId"].(string)
	}
	appClient, appPrincipal := identity("app", "system:serviceaccount:shop:app")
	otherClient, _ := identity("other", "system:serviceaccount:shop:other")
	w.assign(t, appPrincipal, f.id, "7f951dda-4ed3-4680-a7ca-43fe172d538d")
	image := f.loginServer + "/shop/app:v1"
	pushRandom(t, w, f, image)
	saToken := func(sa string) string {
		st, b, _ := w.request("POST", rg+"/providers/Microsoft.ContainerService/managedClusters/c1/getServiceAccountToken?api-version=2024-05-01",
			`{"namespace":"shop","serviceAccount":"`+sa+`","audience":"api://AzureADTokenExchange"}`)
		if st != 200 {
			t.Fatalf("service-account token: %d %v", st, b)
		}
		return b["token"].(string)
	}

	annotations := func(clientID string) map[string]string {
		return map[string]string{"kubernetes.azure.com/acr-client-id": clientID, "kubernetes.azure.com/acr-tenant-id": w.admin.TenantID}
	}
	hc := f.client
	cl := upstreamMetadata(t, hc, w.base+"/", "")
	loginServer := upstreamLoginServer(image, cl.acrSuffix)
	ref, _ := name.ParseReference(image)
	// The plugin's credential: azure.json's cloud, and instance discovery
	// left on (azure.json cannot turn it off).
	credential := func(sa string, annotations map[string]string, transport policy.Transporter, discovery bool) azcore.TokenCredential {
		tenant, clientID := annotations["kubernetes.azure.com/acr-tenant-id"], annotations["kubernetes.azure.com/acr-client-id"]
		token := saToken(sa)
		cred, err := azidentity.NewClientAssertionCredential(tenant, clientID, func(context.Context) (string, error) { return token, nil },
			&azidentity.ClientAssertionCredentialOptions{DisableInstanceDiscovery: !discovery, ClientOptions: policy.ClientOptions{Transport: transport, Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: cl.loginEndpoint,
				Services:                     map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: w.base + "/", Audience: cl.audience}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	// What blocks upstream's pod mode against any authority but Entra's:
	// MSAL validates an authority it does not know by asking
	// login.microsoftonline.com (instance discovery), which refuses a host
	// it does not know (AADSTS50049), before any request reaches Ward.
	asked := &hostRecorder{allow: w.addr}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := credential("app", annotations(appClient), asked, true).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://containerregistry.azure.net/.default"}})
	if err == nil || !asked.saw("login.microsoftonline.com") {
		t.Fatalf("upstream's pod-mode credential: %v, asked %v; want it to ask login.microsoftonline.com first (if this changed, docs/registry.md's note on upstream's pod mode is out of date)", err, asked.hosts)
	}

	// Every other request of that sequence Ward answers: the same
	// credential with discovery off (as Ward's own plugin has it), then
	// upstream's probe and exchange.
	pull := func(sa string, annotations map[string]string) error {
		cred := credential(sa, annotations, hc, false)
		realm, service := upstreamChallenge(t, hc, loginServer)
		rt := upstreamExchange(t, hc, realm, service, w.admin.TenantID, upstreamToken(t, cred))
		_, err = remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "00000000-0000-0000-0000-000000000000", Password: rt}), remote.WithTransport(hc.Transport))
		return err
	}
	if err := pull("app", annotations(appClient)); err != nil {
		t.Fatalf("the pod whose identity holds AcrPull: %v", err)
	}
	if err := pull("other", annotations(otherClient)); !isStatus(err, 401) {
		t.Fatalf("the pod whose identity holds no role: %v, want 401", err)
	}

	// Ward's plugin, given the same request (upstream's annotation names),
	// pulls as the same identity.
	req, _ := json.Marshal(map[string]any{"apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest", "image": image,
		"serviceAccountToken": saToken("app"), "serviceAccountAnnotations": annotations(appClient)})
	cmd := exec.Command(wardBin, "acr", "credential-provider", "--ca-file", filepath.Join(w.dataDir, "ca.pem"), "--authority-host", w.base)
	cmd.Env, cmd.Stdin = agentEnv(), strings.NewReader(string(req))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ward acr credential-provider with upstream's annotations: %v %s", err, exitStderr(err))
	}
	var resp struct {
		Auth map[string]struct{ Username, Password string }
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	a := resp.Auth[f.loginServer]
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: a.Username, Password: a.Password}), remote.WithTransport(hc.Transport)); err != nil {
		t.Fatalf("pull with Ward's plugin's credentials: %v", err)
	}
}

// hostRecorder is a transport that records the hosts asked and refuses
// every host but allow (Ward), so that nothing leaves the machine.
type hostRecorder struct {
	allow string
	hosts []string
}

func (h *hostRecorder) Do(req *http.Request) (*http.Response, error) {
	h.hosts = append(h.hosts, req.URL.Host)
	if req.URL.Host != h.allow {
		return nil, errors.New("the test does not let " + req.URL.Host + " be reached")
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (h *hostRecorder) saw(host string) bool {
	for _, x := range h.hosts {
		if x == host {
			return true
		}
	}
	return false
}

func upstreamToken(t *testing.T, cred azcore.TokenCredential) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://containerregistry.azure.net/.default"}})
	if err != nil {
		t.Fatalf("token for the registry: %v", err)
	}
	return tok.Token
}

// pushRandom pushes a random image as the admin.
func pushRandom(t *testing.T, w *ward, f registryFixture, image string) {
	t.Helper()
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(1024, 1)
	admin := principal{AppID: w.admin.ClientID, Secret: w.admin.ClientSecret}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "00000000-0000-0000-0000-000000000000", Password: w.exchange(t, f, admin)}),
		remote.WithTransport(f.client.Transport)); err != nil {
		t.Fatal(err)
	}
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestUpstreamACRCredentialProviderBinary runs upstream's
// acr-credential-provider itself, as the kubelet runs it, when
// WARD_ACR_PROVIDER_BIN names a build of it (its module is not on the Go
// module proxy, so the suite cannot build it): node mode with the
// azure.json docs/registry.md gives, Ward's CA through SSL_CERT_FILE, the
// node's identity from `ward agent`. The credentials it prints pull.
// Needs *.azurecr.localhost to resolve to loopback (libnss-myhostname).
func TestUpstreamACRCredentialProviderBinary(t *testing.T) {
	t.Parallel()
	bin := os.Getenv("WARD_ACR_PROVIDER_BIN")
	if bin == "" {
		t.Skip("WARD_ACR_PROVIDER_BIN is not set")
	}
	w := startWard(t, "")
	f := w.registryFixture(t, "up-bin", "upbinacr")
	m := w.machineFixture(t, "up-bin", "node1")
	w.assign(t, m.appPrincipal, f.id, "7f951dda-4ed3-4680-a7ca-43fe172d538d")
	image := f.loginServer + "/system/pause:v1"
	pushRandom(t, w, f, image)
	endpoint, secret, _ := appService(t, "--state-dir", w.join(t, m.token))

	azureJSON, _ := json.Marshal(map[string]any{"cloud": "", "tenantId": w.admin.TenantID, "useManagedIdentityExtension": true,
		"userAssignedIdentityID": m.appClient, "resourceManagerEndpoint": w.base + "/"})
	cfgFile := filepath.Join(t.TempDir(), "azure.json")
	if err := os.WriteFile(cfgFile, azureJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, cfgFile)
	cmd.Env = append(agentEnv(), "SSL_CERT_FILE="+filepath.Join(w.dataDir, "ca.pem"), "IDENTITY_ENDPOINT="+endpoint, "IDENTITY_HEADER="+secret)
	cmd.Stdin = strings.NewReader(`{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"` + image + `"}`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("acr-credential-provider: %v\n%s", err, exitStderr(err))
	}
	var resp struct {
		Kind string
		Auth map[string]struct{ Username, Password string }
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.Kind != "CredentialProviderResponse" {
		t.Fatalf("acr-credential-provider printed %s: %v", out, err)
	}
	a, ok := resp.Auth[f.loginServer]
	if !ok || a.Username != "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("no credentials for %s: %s", f.loginServer, out)
	}
	ref, _ := name.ParseReference(image)
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: a.Username, Password: a.Password}), remote.WithTransport(f.client.Transport)); err != nil {
		t.Fatalf("pull with upstream's credentials: %v", err)
	}
}
