package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/wardimage"
)

// aksShowInstall is `ward aks show-install`: the webhook's and the node
// agent's manifests with Ward's image, or, with
// --credential-provider-config, the kubelet's image credential provider
// configuration for the cluster's nodes.
type aksShowInstall struct {
	aksCluster
	image, acr         string
	credentialProvider bool
}

func (v *aksShowInstall) flags(cmd *cobra.Command) {
	v.aksCluster.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&v.image, "image", "", "Ward's image in the manifests (default: <login server>/"+wardimage.Repository+":"+wardimage.Tag()+" of --acr, or of the one registry attached to the cluster)")
	f.StringVar(&v.acr, "acr", "", "the registry holding Ward's image, as `ward image build --acr` pushed it")
	f.BoolVar(&v.credentialProvider, "credential-provider-config", false, "print the kubelet's CredentialProviderConfig instead: nodes (and, on Kubernetes 1.34+, pods) pull from Ward's registries with their own identity")
}

func (v *aksShowInstall) run(ctx context.Context, e env, c *conn) (any, error) {
	cl, err := c.client.GetCluster(ctx, c.sub, v.group, v.name)
	if err != nil {
		return nil, err
	}
	if v.credentialProvider {
		suffix, err := acrSuffix(ctx, c)
		if err != nil {
			return nil, err
		}
		_, err = io.WriteString(e.out, credentialProviderConfig(cl, suffix, c.server+"/", c.tenant))
		return nil, err
	}
	image, note, err := v.installImage(ctx, c, cl)
	if err != nil {
		return nil, err
	}
	out, err := installManifests(installTargetOf(cl), c.tenant, c.server+"/", image, note)
	if err != nil {
		return nil, err
	}
	agentOut, err := agentInstall(installTargetOf(cl), c.server, c.profile.CAFile, image)
	if err != nil {
		return nil, err
	}
	out += agentOut
	if w := loopbackAuthority(c.server + "/"); w != "" {
		fmt.Fprintln(e.errOut, "WARNING: "+w)
	}
	_, err = io.WriteString(e.out, out)
	return nil, err
}

// installImage is the image the manifests run: --image; else
// <login server>/ward:<this ward's tag> in --acr's registry, or in the one
// registry the cluster's kubelet identity holds AcrPull at (where `ward
// image build --acr` pushes and the nodes can pull from); else ward:<tag>,
// with a note saying how to push it.
func (v *aksShowInstall) installImage(ctx context.Context, c *conn, cluster client.Cluster) (image, note string, err error) {
	if v.image != "" {
		// Checked as an image reference: it is written into YAML as is.
		if _, err := name.ParseReference(v.image); err != nil {
			return "", "", fmt.Errorf("--image %q: %w", v.image, err)
		}
		return v.image, "", nil
	}
	tag := wardimage.Repository + ":" + wardimage.Tag()
	if v.acr != "" {
		r, err := findRegistry(ctx, c, "", v.acr)
		if err != nil {
			return "", "", err
		}
		return r.Properties.LoginServer + "/" + tag, "", nil
	}
	attached, err := attachedRegistries(ctx, c, cluster)
	if err != nil {
		return "", "", err
	}
	if len(attached) == 1 {
		return attached[0] + "/" + tag, "", nil
	}
	why := "no registry is attached to the cluster (ward aks update --attach-acr REGISTRY)"
	if len(attached) > 1 {
		why = "several registries are attached to the cluster (" + strings.Join(attached, ", ") + ")"
	}
	return tag, "# " + why + ": push Ward's image with `ward image build --acr REGISTRY` and pass\n# --acr REGISTRY (or --image REFERENCE) to name it here.\n", nil
}

// attachedRegistries are the login servers of the registries where the
// cluster's kubelet identity holds AcrPull, as --attach-acr grants it.
func attachedRegistries(ctx context.Context, c *conn, cluster client.Cluster) ([]string, error) {
	kubelet, _ := cluster.Kubelet()
	oid := kubelet.ObjectID
	if oid == "" || c.sub == "" {
		return nil, nil
	}
	held, err := c.client.ListRoleAssignments(ctx, "/subscriptions/"+c.sub, "principalId eq '"+oid+"'")
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, a := range held {
		scope := a.Properties.Scope
		_, reg, ok := strings.Cut(strings.ToLower(scope), "/providers/microsoft.containerregistry/registries/")
		if !ok || strings.Contains(reg, "/") || !strings.HasSuffix(strings.ToLower(a.Properties.RoleDefinitionID), "/"+acrPullID) || seen[reg] {
			continue
		}
		seen[reg] = true
		r, err := findRegistry(ctx, c, groupOf(scope), scope[len(scope)-len(reg):])
		if err != nil {
			continue // a registry deleted since: its assignment is left behind
		}
		out = append(out, r.Properties.LoginServer)
	}
	return out, nil
}

// acrSuffix is the registry DNS suffix the server publishes in its cloud
// metadata (suffixes.acrLoginServer, e.g. ".azurecr.localhost:8443").
func acrSuffix(ctx context.Context, c *conn) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.server+"/metadata/endpoints?api-version=2022-09-01", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.creds.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("read the cloud metadata: %w", err)
	}
	defer resp.Body.Close()
	var meta struct {
		Suffixes struct {
			AcrLoginServer string `json:"acrLoginServer"`
		} `json:"suffixes"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&meta); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("read the cloud metadata: %s %v", resp.Status, err)
	}
	if meta.Suffixes.AcrLoginServer == "" {
		return "", errors.New("the server publishes no container registry suffix (suffixes.acrLoginServer): it runs without registries")
	}
	return meta.Suffixes.AcrLoginServer, nil
}

// Where the printed CredentialProviderConfig expects things on a node.
const (
	credProviderConfigPath = "/etc/kubernetes/ward-credential-provider.yaml"
	credProviderBinDir     = "/etc/kubernetes/credential-providers"
	credProviderCAPath     = "/etc/ward/ca.pem"
	// podIdentityAudience is the audience of the service-account token the
	// kubelet hands the plugin: the one federated credentials expect.
	podIdentityAudience = "api://AzureADTokenExchange"
	// podIdentityMinor is the first Kubernetes 1.x whose kubelet passes a
	// service-account token to a credential provider by default (beta; a
	// kubelet before it refuses the tokenAttributes field).
	podIdentityMinor = 34
)

// credentialProviderConfig is the kubelet's CredentialProviderConfig
// (kubelet.config.k8s.io/v1) running `ward acr credential-provider` for
// images under the registry suffix: the kubelet identity for the nodes
// and, from Kubernetes 1.34, the pod's own identity when its service
// account names one.
func credentialProviderConfig(cluster client.Cluster, suffix, authority, tenant string) string {
	var b strings.Builder
	name, version := cluster.Name, cluster.Properties.KubernetesVersion
	pattern := "*" + suffix
	if !strings.HasPrefix(suffix, ".") {
		pattern = "*." + suffix
	}
	args := []string{"acr", "credential-provider", "--ca-file", credProviderCAPath}
	if kubelet, _ := cluster.Kubelet(); kubelet.ClientID != "" {
		args = append(args, "--client-id", kubelet.ClientID)
	}
	args = append(args, "--authority-host", authority, "--tenant-id", tenant)
	pods := kubernetesMinor(version) >= podIdentityMinor
	fmt.Fprintf(&b, "# Kubelet image credential provider for cluster %s: nodes pull images from Ward's registries\n", name)
	fmt.Fprintf(&b, "# (%s) as the kubelet identity, which needs AcrPull (ward aks update --attach-acr REGISTRY).\n", pattern)
	if pods {
		b.WriteString("# A pod whose service account is annotated with an identity's client ID\n")
		fmt.Fprintf(&b, "# (%s or %s) pulls as that identity instead:\n", annotationClientID, upstreamAnnotationClientID)
		b.WriteString("# its federated credential must trust the cluster's issuer with audience " + podIdentityAudience + ",\n")
		b.WriteString("# and the nodes may request tokens for that audience (Kubernetes 1.34+: see docs/registry.md).\n")
	} else {
		b.WriteString("# The cluster reports Kubernetes " + version + ": pods pull as the node. From 1.34 the kubelet can\n")
		b.WriteString("# hand the plugin the pod's service-account token (tokenAttributes), so pods pull as their own identity.\n")
	}
	b.WriteString("# On each node: Ward's CA at " + credProviderCAPath + ", the ward binary (or a symlink to it) as\n")
	b.WriteString("# " + credProviderBinDir + "/ward, this file as " + credProviderConfigPath + ", and the kubelet started with\n")
	b.WriteString("#   --image-credential-provider-config=" + credProviderConfigPath + "\n")
	b.WriteString("#   --image-credential-provider-bin-dir=" + credProviderBinDir + "\n")
	b.WriteString("apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n")
	b.WriteString("  - name: ward\n    apiVersion: " + credProviderAPIVersion + "\n")
	b.WriteString("    matchImages:\n      - " + strconv.Quote(pattern) + "\n")
	fmt.Fprintf(&b, "    defaultCacheDuration: %s\n", credProviderCache)
	b.WriteString("    args:\n")
	for _, a := range args {
		b.WriteString("      - " + strconv.Quote(a) + "\n")
	}
	if pods {
		b.WriteString("    tokenAttributes:\n")
		b.WriteString("      serviceAccountTokenAudience: " + strconv.Quote(podIdentityAudience) + "\n")
		b.WriteString("      # Pods without a service account (static pods) pull as the node.\n")
		b.WriteString("      requireServiceAccount: false\n")
		b.WriteString("      # The credentials depend on the service account's identity only.\n")
		b.WriteString("      cacheType: ServiceAccount\n")
		b.WriteString("      optionalServiceAccountAnnotationKeys:\n")
		for _, k := range []string{annotationClientID, annotationTenantID, upstreamAnnotationClientID, upstreamAnnotationTenantID} {
			b.WriteString("        - " + k + "\n")
		}
	}
	return b.String()
}

// kubernetesMinor is the minor version of a Kubernetes 1.x version
// ("1.34.2", "v1.34"), or 0.
func kubernetesMinor(v string) int {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) < 2 || parts[0] != "1" {
		return 0
	}
	n, _ := strconv.Atoi(parts[1])
	return n
}
