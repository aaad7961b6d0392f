package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	credv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
)

// Wire names of the kubelet's credential provider protocol and of the
// workload identity annotations the service-account mode reads.
const (
	credProviderAPIVersion = "credentialprovider.kubelet.k8s.io/v1"
	annotationClientID     = "azure.workload.identity/client-id"
	annotationTenantID     = "azure.workload.identity/tenant-id"
	// The annotations upstream's acr-credential-provider reads (AKS's
	// names), accepted too so that one service account serves both plugins.
	upstreamAnnotationClientID = "kubernetes.azure.com/acr-client-id"
	upstreamAnnotationTenantID = "kubernetes.azure.com/acr-tenant-id"
	// credProviderCache is how long the kubelet may reuse the credentials:
	// well inside the refresh token's life, as upstream's plugin does.
	credProviderCache = 5 * time.Minute
)

var realmRE = regexp.MustCompile(`realm="([^"]+)"`)

func acrCredentialProviderCmd() *cobra.Command {
	p := &credentialProvider{}
	cmd := &cobra.Command{Use: "credential-provider", Args: cobra.NoArgs,
		Short: "Kubelet image credential provider: a CredentialProviderRequest on stdin, registry credentials from the node's (or the pod's) identity on stdout",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return p.run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout())
		}}
	f := cmd.Flags()
	f.StringVar(&p.clientID, "client-id", "", "the node's user-assigned (kubelet) identity's client ID (default: the system-assigned identity)")
	f.StringVar(&p.caFile, "ca-file", "", "PEM bundle to trust for the registry (Ward's ca.pem) besides the system roots")
	f.StringVar(&p.authorityHost, "authority-host", os.Getenv("AZURE_AUTHORITY_HOST"), "Ward's URL, for the service-account token mode (env AZURE_AUTHORITY_HOST)")
	f.StringVar(&p.tenantID, "tenant-id", os.Getenv("AZURE_TENANT_ID"), "tenant, for the service-account token mode (env AZURE_TENANT_ID)")
	return cmd
}

// credentialProvider is `ward acr credential-provider`: the node's
// managed identity (IMDS or App Service, through `ward agent`) or, when
// the kubelet passes a pod's service-account token (Kubernetes ≥ 1.34 with
// tokenAttributes in the provider config), the pod's workload identity,
// exchanged at the image's registry for a refresh token.
type credentialProvider struct {
	clientID, caFile, authorityHost, tenantID string
}

func (p *credentialProvider) run(ctx context.Context, in io.Reader, out io.Writer) error {
	var req credv1.CredentialProviderRequest
	if err := json.NewDecoder(io.LimitReader(in, 1<<20)).Decode(&req); err != nil {
		return fmt.Errorf("read the CredentialProviderRequest on stdin: %w", err)
	}
	if req.APIVersion != credProviderAPIVersion || req.Kind != "CredentialProviderRequest" {
		return fmt.Errorf("the request is %s %s, want %s CredentialProviderRequest", req.APIVersion, req.Kind, credProviderAPIVersion)
	}
	host, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(req.Image, "https://"), "http://"), "/")
	if host == "" || !strings.ContainsAny(host, ".:") {
		return fmt.Errorf("the image %q names no registry host", req.Image)
	}
	hc, err := client.NewHTTPClient(p.caFile)
	if err != nil {
		return err
	}
	cred, err := p.credential(hc, req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{registryResource + "/.default"}})
	if err != nil {
		return fmt.Errorf("token for the registry: %w", err)
	}
	realmHost, err := realmHostOf(ctx, hc, host)
	if err != nil {
		return err
	}
	rt, err := client.RegistryRefreshToken(ctx, hc, realmHost, p.tenantOf(req), tok.Token)
	if err != nil {
		return err
	}
	resp := credv1.CredentialProviderResponse{
		TypeMeta:      metav1.TypeMeta{APIVersion: credProviderAPIVersion, Kind: "CredentialProviderResponse"},
		CacheKeyType:  credv1.RegistryPluginCacheKeyType,
		CacheDuration: &metav1.Duration{Duration: credProviderCache},
		Auth:          map[string]credv1.AuthConfig{host: {Username: client.RegistryNullUsername, Password: rt}},
	}
	if podIdentity(req) != "" {
		// The pod's own credentials are the pod's: never shared by registry.
		resp.CacheKeyType = credv1.ImagePluginCacheKeyType
	}
	return json.NewEncoder(out).Encode(resp)
}

func (p *credentialProvider) tenantOf(req credv1.CredentialProviderRequest) string {
	if t := annotation(req, annotationTenantID, upstreamAnnotationTenantID); t != "" {
		return t
	}
	return p.tenantID
}

// annotation is the first of the service account's annotations keys that
// is set.
func annotation(req credv1.CredentialProviderRequest, keys ...string) string {
	for _, k := range keys {
		if v := req.ServiceAccountAnnotations[k]; v != "" {
			return v
		}
	}
	return ""
}

// podIdentity is the client ID of the identity a pod pulls as: its
// service account's annotation, when the kubelet passed its token.
func podIdentity(req credv1.CredentialProviderRequest) string {
	if req.ServiceAccountToken == "" {
		return ""
	}
	return annotation(req, annotationClientID, upstreamAnnotationClientID)
}

// credential is the node's managed identity, or the pod's workload
// identity when the kubelet passed its service-account token.
func (p *credentialProvider) credential(hc *http.Client, req credv1.CredentialProviderRequest) (azcore.TokenCredential, error) {
	opts := policy.ClientOptions{Transport: hc}
	clientID := podIdentity(req)
	if clientID == "" {
		// No token, or a service account that names no identity: the pod
		// pulls as the node, as every pod does on AKS.
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if p.clientID != "" {
			mo.ID = azidentity.ClientID(p.clientID)
		}
		return azidentity.NewManagedIdentityCredential(mo)
	}
	tenant := p.tenantOf(req)
	if tenant == "" || p.authorityHost == "" {
		return nil, fmt.Errorf("the service account names identity %s: pulling as it needs a tenant (annotation %s, or --tenant-id) and --authority-host", clientID, annotationTenantID)
	}
	opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: strings.TrimSuffix(p.authorityHost, "/") + "/"}
	saToken := req.ServiceAccountToken
	return azidentity.NewClientAssertionCredential(tenant, clientID, func(context.Context) (string, error) { return saToken, nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
}

// realmHostOf probes https://host/v2/ for ACR's challenge and returns the
// realm's host, where the exchange is sent (its path is ignored, as
// upstream's plugin does).
func realmHostOf(ctx context.Context, hc *http.Client, host string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/v2/", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("probe the registry %s: %w", host, err)
	}
	resp.Body.Close()
	m := realmRE.FindStringSubmatch(resp.Header.Get("Www-Authenticate"))
	if resp.StatusCode != http.StatusUnauthorized || m == nil {
		return "", fmt.Errorf("the registry %s answered /v2/ with %s and no Bearer realm: not an ACR-compatible registry", host, resp.Status)
	}
	u, err := url.Parse(m[1])
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", errors.New("the registry's realm " + m[1] + " is not an https URL")
	}
	return u.Host, nil
}
