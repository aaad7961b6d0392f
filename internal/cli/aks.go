package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/deploy"
	"github.com/ward-id/ward/internal/shellquote"
)

// clusterView is a cluster as az prints it: properties flattened to the top
// level, the issuer URL spelled issuerUrl, the resource group added.
func clusterView(c map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range c {
		if k != "properties" {
			out[k] = v
		}
	}
	if props, ok := c["properties"].(map[string]any); ok {
		for k, v := range props {
			out[k] = v
		}
	}
	if oidc, ok := out["oidcIssuerProfile"].(map[string]any); ok {
		if u, ok := oidc["issuerURL"]; ok {
			oidc["issuerUrl"] = u
			delete(oidc, "issuerURL")
		}
	}
	if id, ok := c["id"].(string); ok {
		out["resourceGroup"] = groupOf(id)
	}
	return out
}

// clusterOut is a cluster's az-shaped view.
func clusterOut(c client.Cluster) map[string]any { return clusterView(c.Raw) }

func aksCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "aks", Short: "Managed clusters: identities and hosted OIDC issuers"}
	cmd.AddCommand(
		g.command("create", "Create a managed cluster", &aksPut{}),
		g.command("update", "Update a managed cluster (enable the OIDC issuer or workload identity, change identities)", &aksPut{}),
		g.command("show", "Show a managed cluster (and warn when federated credentials name its issuer at an old host:port)", &aksShow{}),
		g.command("list", "List managed clusters", &aksList{}),
		g.command("delete", "Delete a managed cluster with its system-assigned identity and node resource group", &aksDelete{}),
		g.command("get-token", "Print a service-account token from the cluster's hosted issuer, as kube-apiserver would project it", &aksGetToken{}),
		g.command("get-service-account-signing-key", "Export the Ward-managed issuer key for kube-apiserver's --service-account-signing-key-file (recorded in the activity log)", &aksSigningKey{}),
		g.command("show-apiserver-flags", "Print the kube-apiserver flags that make its tokens verify against the cluster's hosted issuer", &aksAPIServerFlags{}),
		g.command("rotate-service-account-signing-key", "Sign service-account tokens with a new issuer key; the old one stays published until its tokens expire", &aksRotate{}),
		g.command("show-install", "Print the manifests that install the workload identity webhook and the node agent on a cluster (kubectl apply -f -)", &aksShowInstall{}),
		g.command("get-credentials", "Explain where a cluster's credentials come from: Ward hosts a cluster's OIDC issuer, not its API server", &aksGetCredentials{}),
		aksNodepoolCmd(g))
	return cmd
}

// aksCluster is the --name/--resource-group pair every per-cluster verb takes.
type aksCluster struct{ nameGroup }

func (v *aksCluster) flags(cmd *cobra.Command) { v.bind(cmd, "cluster name") }

// aksPut is `ward aks create` and `ward aks update`: both PUT the cluster.
type aksPut struct {
	aksCluster
	location, assignIdentity, kubeletIdentity string
	managedIdentity, oidc, wi                 bool
	publicKeys                                []string
	jwks                                      string
	kubernetesVersion, dnsPrefix              string
	network                                   map[string]*string // networkProfile field → flag value
	ignored                                   []ignoredFlag
	attachACR, detachACR                      string
}

// aksNetworkFlags are az's network flags, stored in the cluster's
// networkProfile as given (Ward runs no network; the cluster answers with
// what was declared, as AKS does).
var aksNetworkFlags = []struct{ flag, field, usage string }{
	{"network-plugin", "networkPlugin", "network plugin (kubenet, azure, none), stored in networkProfile"},
	{"network-plugin-mode", "networkPluginMode", "network plugin mode (overlay), stored in networkProfile"},
	{"network-policy", "networkPolicy", "network policy (azure, calico, cilium), stored in networkProfile"},
	{"network-dataplane", "networkDataplane", "network dataplane (azure, cilium), stored in networkProfile"},
	{"service-cidr", "serviceCidr", "service CIDR, stored in networkProfile"},
	{"dns-service-ip", "dnsServiceIP", "DNS service IP, stored in networkProfile"},
	{"pod-cidr", "podCidr", "pod CIDR, stored in networkProfile"},
	{"docker-bridge-address", "dockerBridgeCidr", "docker bridge CIDR (deprecated in AKS), stored in networkProfile"},
	{"load-balancer-sku", "loadBalancerSku", "load balancer SKU, stored in networkProfile"},
	{"outbound-type", "outboundType", "outbound type, stored in networkProfile"},
}

// ignoredFlag is an az flag Ward accepts so that the guides' commands run
// as pasted, and reports as not acted on: why says what Ward does instead.
type ignoredFlag struct {
	name, why string
	boolean   bool
	value     *string
	set       *bool
}

// aksIgnoredFlags are az's node, SSH and add-on flags. Ward runs
// no nodes, so these change nothing; each is named on stderr when given.
var aksIgnoredFlags = []ignoredFlag{
	{name: "generate-ssh-keys", boolean: true, why: "Ward runs no nodes"},
	{name: "no-ssh-key", boolean: true, why: "Ward runs no nodes"},
	{name: "ssh-key-value", why: "Ward runs no nodes"},
	{name: "node-count", why: "Ward runs no nodes; node pools only carry identities"},
	{name: "node-vm-size", why: "Ward runs no nodes"},
	{name: "nodepool-name", why: "the default node pool is nodepool1"},
	{name: "enable-cluster-autoscaler", boolean: true, why: "Ward runs no nodes"},
	{name: "min-count", why: "Ward runs no nodes"},
	{name: "max-count", why: "Ward runs no nodes"},
	{name: "max-pods", why: "Ward runs no nodes"},
	{name: "zones", why: "Ward runs no nodes"},
	{name: "os-sku", why: "Ward runs no nodes"},
	{name: "vnet-subnet-id", why: "Ward runs no network"},
	{name: "enable-addons", why: "Ward installs no add-ons (ward aks show-install prints the webhook and agent manifests)"},
	{name: "tier", why: "Ward has no pricing tiers"},
	{name: "no-wait", boolean: true, why: "Ward's writes complete before it answers"},
	{name: "yes", boolean: true, why: "Ward does not prompt"},
}

func (v *aksPut) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&v.location, "location", "l", "", "location (default: the resource group's)")
	f.BoolVar(&v.managedIdentity, "enable-managed-identity", false, "use a system-assigned control-plane identity (the default)")
	f.StringVar(&v.assignIdentity, "assign-identity", "", "resource ID of a user-assigned control-plane identity")
	f.StringVar(&v.kubeletIdentity, "assign-kubelet-identity", "", "resource ID of the kubelet identity (default: <cluster>-agentpool in the node resource group)")
	f.BoolVar(&v.oidc, "enable-oidc-issuer", false, "host an OIDC issuer for the cluster's service-account tokens")
	f.BoolVar(&v.wi, "enable-workload-identity", false, "enable workload identity (needs the OIDC issuer)")
	f.StringArrayVar(&v.publicKeys, "service-account-public-key", nil, "bring your own: a kube-apiserver service-account public key, PEM or @file (repeatable)")
	f.StringVar(&v.jwks, "service-account-jwks", "", "bring your own: the apiserver's JWKS (kubectl get --raw /openid/v1/jwks), JSON or @file")
	f.StringVarP(&v.kubernetesVersion, "kubernetes-version", "k", "", "Kubernetes version the cluster reports")
	f.StringVar(&v.dnsPrefix, "dns-name-prefix", "", "DNS name prefix (default: <cluster>-dns)")
	v.network = map[string]*string{}
	for _, n := range aksNetworkFlags {
		v.network[n.field] = f.String(n.flag, "", n.usage)
	}
	v.ignored = slices.Clone(aksIgnoredFlags)
	for i := range v.ignored {
		fl := &v.ignored[i]
		usage := "accepted for az compatibility and not acted on: " + fl.why
		if fl.boolean {
			fl.set = f.Bool(fl.name, false, usage)
		} else {
			fl.value = f.String(fl.name, "", usage)
		}
	}
	f.StringVar(&v.attachACR, "attach-acr", "", "grant the kubelet identity AcrPull at this registry (name or resource ID)")
	f.StringVar(&v.detachACR, "detach-acr", "", "remove the kubelet identity's AcrPull at this registry (name or resource ID)")
	v.aksCluster.flags(cmd)
}

// report names the given flags Ward accepted but does not act on.
func (v *aksPut) report(e env) {
	for _, fl := range v.ignored {
		if !e.changed(fl.name) {
			continue
		}
		given := "--" + fl.name
		if fl.value != nil {
			given += " " + *fl.value
		}
		fmt.Fprintf(e.errOut, "ward: %s accepted and not acted on: %s.\n", given, fl.why)
	}
}

// body is the PUT body: only what the flags given ask for.
func (v *aksPut) body(changed func(string) bool) (map[string]any, error) {
	b := map[string]any{}
	if v.location != "" {
		b["location"] = v.location
	}
	props := map[string]any{}
	switch {
	case v.assignIdentity != "":
		b["identity"] = map[string]any{"type": "UserAssigned", "userAssignedIdentities": map[string]any{v.assignIdentity: map[string]any{}}}
	case v.managedIdentity:
		b["identity"] = map[string]any{"type": "SystemAssigned"}
	}
	if v.kubeletIdentity != "" {
		props["identityProfile"] = map[string]any{"kubeletidentity": map[string]any{"resourceId": v.kubeletIdentity}}
	}
	oidcProfile := map[string]any{}
	if changed("enable-oidc-issuer") {
		oidcProfile["enabled"] = v.oidc
	}
	if keys, err := uploadedKeys(v.publicKeys, v.jwks); err != nil {
		return nil, err
	} else if keys != nil {
		oidcProfile["wardServiceAccountKeys"] = keys
	}
	if len(oidcProfile) > 0 {
		props["oidcIssuerProfile"] = oidcProfile
	}
	if changed("enable-workload-identity") {
		props["securityProfile"] = map[string]any{"workloadIdentity": map[string]any{"enabled": v.wi}}
	}
	if v.kubernetesVersion != "" {
		props["kubernetesVersion"] = v.kubernetesVersion
	}
	if v.dnsPrefix != "" {
		props["dnsPrefix"] = v.dnsPrefix
	}
	network := map[string]any{}
	for _, n := range aksNetworkFlags {
		if val := v.network[n.field]; val != nil && *val != "" {
			network[n.field] = *val
		}
	}
	if len(network) > 0 {
		props["networkProfile"] = network
	}
	b["properties"] = props
	return b, nil
}

func (*aksPut) inSubscription() {}

func (v *aksPut) run(ctx context.Context, e env, c *conn) (any, error) {
	b, err := v.body(e.changed)
	if err != nil {
		return nil, err
	}
	v.report(e)
	cluster, err := c.client.PutCluster(ctx, c.sub, v.group, v.name, b)
	if err != nil {
		return nil, err
	}
	for _, a := range []struct {
		ref    string
		detach bool
	}{{v.attachACR, false}, {v.detachACR, true}} {
		if a.ref != "" {
			if err := attachACR(ctx, c, cluster, a.ref, a.detach); err != nil {
				return nil, err
			}
		}
	}
	return clusterOut(cluster), nil
}

// aksGetCredentials is `ward aks get-credentials`: Ward serves a
// cluster's identities and OIDC issuer, not its Kubernetes API server, so
// there is no kubeconfig to merge. It says so (exit 1), after checking the
// cluster exists, so that a pasted guide stops with the reason.
type aksGetCredentials struct {
	aksCluster
	admin, overwrite bool
	file             string
}

func (v *aksGetCredentials) flags(cmd *cobra.Command) {
	v.aksCluster.flags(cmd)
	f := cmd.Flags()
	f.BoolVarP(&v.admin, "admin", "a", false, "cluster admin credentials (none in Ward)")
	f.BoolVar(&v.overwrite, "overwrite-existing", false, "overwrite an existing kubeconfig entry (nothing is written)")
	f.StringVarP(&v.file, "file", "f", "", "kubeconfig file (nothing is written)")
}

func (*aksGetCredentials) inSubscription() {}

func (v *aksGetCredentials) run(ctx context.Context, _ env, c *conn) (any, error) {
	if _, err := c.client.GetCluster(ctx, c.sub, v.group, v.name); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("cluster '%s' runs outside Ward: Ward hosts its OIDC issuer and identities, not its Kubernetes API server, so it has no credentials to give. "+
		"Use the kubeconfig of the cluster itself (kind, k3s, your AKS or other distribution); then `ward aks show-install -n %s -g %s | kubectl apply -f -` installs the webhook and agent, "+
		"and `ward aks show-apiserver-flags -n %s -g %s` prints the kube-apiserver flags", v.name, v.name, v.group, v.name, v.group)
}

// aksShow is `ward aks show`.
type aksShow struct{ aksCluster }

func (*aksShow) inSubscription() {}

func (v *aksShow) run(ctx context.Context, e env, c *conn) (any, error) {
	out, err := c.client.GetCluster(ctx, c.sub, v.group, v.name)
	if err != nil {
		return nil, err
	}
	view := clusterOut(out)
	if iss := out.Properties.OIDCIssuerProfile.IssuerURL; iss != "" {
		issuerMoves(ctx, c, c.sub, iss).warn(e.errOut)
	}
	return view, nil
}

// aksList is `ward aks list`.
type aksList struct{ group string }

func (v *aksList) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&v.group, "resource-group", "g", "", "resource group")
}

func (*aksList) inSubscription() {}

func (v *aksList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return viewsOf(clusterOut)(c.client.ListClusters(ctx, c.sub, v.group))
}

// aksDelete is `ward aks delete`.
type aksDelete struct{ aksCluster }

func (v *aksDelete) flags(cmd *cobra.Command) {
	cmd.Flags().BoolP("yes", "y", false, "do not prompt for confirmation")
	v.aksCluster.flags(cmd)
}

func (*aksDelete) inSubscription() {}

func (v *aksDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	return nil, c.client.DeleteCluster(ctx, c.sub, v.group, v.name)
}

// aksGetToken is `ward aks get-token`.
type aksGetToken struct {
	aksCluster
	namespace, serviceAccount, audience string
	duration                            time.Duration
}

func (v *aksGetToken) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&v.namespace, "namespace", "default", "namespace of the service account")
	f.StringVar(&v.serviceAccount, "service-account", "", "service account: NAME (with --namespace), or NAMESPACE/NAME")
	f.StringVar(&v.audience, "audience", DefaultAudience, "token audience")
	f.DurationVar(&v.duration, "duration", time.Hour, "token lifetime (10m to 48h)")
	v.aksCluster.flags(cmd)
	f.StringVar(&v.name, "cluster", "", "cluster name (same as --name)")
}

func (v *aksGetToken) check(cmd *cobra.Command) error {
	if err := requireFlags(cmd, "name", "resource-group", "service-account"); err != nil {
		return err
	}
	// The reference is checked before connecting, so a typo fails without credentials.
	_, _, err := parseServiceAccount(v.serviceAccount, v.namespace, cmd.Flags().Changed("namespace"))
	return err
}

func (v *aksGetToken) run(ctx context.Context, e env, c *conn) (any, error) {
	ns, sa, err := parseServiceAccount(v.serviceAccount, v.namespace, e.changed("namespace"))
	if err != nil {
		return nil, err
	}
	sub, err := c.subscription()
	if err != nil {
		return nil, err
	}
	return c.client.GetServiceAccountToken(ctx, sub, v.group, v.name, ns, sa, v.audience, int64(v.duration.Seconds()))
}

// aksSigningKey is `ward aks get-service-account-signing-key`.
type aksSigningKey struct {
	aksCluster
	file string
}

func (v *aksSigningKey) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.file, "file", "", "write the private key here (mode 0600) and the public key beside it (.pub)")
	v.aksCluster.flags(cmd)
}

func (*aksSigningKey) inSubscription() {}

func (v *aksSigningKey) run(ctx context.Context, _ env, c *conn) (any, error) {
	k, err := c.client.GetServiceAccountSigningKey(ctx, c.sub, v.group, v.name)
	if err != nil {
		return nil, err
	}
	if v.file == "" {
		return k, nil
	}
	pub := strings.TrimSuffix(v.file, ".key") + ".pub"
	if err := os.WriteFile(v.file, []byte(k.PrivateKeyPEM), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pub, []byte(k.PublicKeyPEM), 0o644); err != nil {
		return nil, err
	}
	return map[string]string{"kid": k.KID, "privateKeyFile": v.file, "publicKeyFile": pub}, nil
}

// aksAPIServerFlags is `ward aks show-apiserver-flags`.
type aksAPIServerFlags struct{ aksCluster }

func (*aksAPIServerFlags) inSubscription() {}

func (v *aksAPIServerFlags) run(ctx context.Context, e env, c *conn) (any, error) {
	cl, err := c.client.GetCluster(ctx, c.sub, v.group, v.name)
	if err != nil {
		return nil, err
	}
	lines, err := apiServerFlags(v.name, v.group, cl.Properties.OIDCIssuerProfile.IssuerURL)
	for _, l := range lines {
		fmt.Fprintln(e.out, l)
	}
	return nil, err
}

// apiServerFlags is what ward aks show-apiserver-flags prints for cluster
// name in group whose issuer is iss: one flag a line, each a shell word
// (kube-apiserver's command line or its manifest's args; the issuer URL is
// Ward's, quoted all the same), or, without an issuer, the command that
// enables it.
func apiServerFlags(name, group, iss string) ([]string, error) {
	if iss == "" {
		return nil, fmt.Errorf("cluster %s has no OIDC issuer: %s", name, shellquote.Join("ward", "aks", "update", "-n", name, "-g", group, "--enable-oidc-issuer"))
	}
	var lines []string
	for _, f := range []string{"--service-account-issuer=" + iss, "--service-account-jwks-uri=" + iss + "openid/v1/jwks",
		"--service-account-signing-key-file=/etc/kubernetes/pki/ward-sa.key", "--service-account-key-file=/etc/kubernetes/pki/ward-sa.pub"} {
		lines = append(lines, shellquote.Quote(f))
	}
	return lines, nil
}

// aksRotate is `ward aks rotate-service-account-signing-key`.
type aksRotate struct{ aksCluster }

func (*aksRotate) inSubscription() {}

func (v *aksRotate) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.RotateServiceAccountSigningKey(ctx, c.sub, v.group, v.name)
}

// uploadedKeys reads bring-your-own keys: PEM public keys and/or a JWKS.
func uploadedKeys(pems []string, jwksArg string) (*jose.JSONWebKeySet, error) {
	if len(pems) == 0 && jwksArg == "" {
		return nil, nil
	}
	set := &jose.JSONWebKeySet{}
	read := func(v string) ([]byte, error) {
		if strings.HasPrefix(v, "@") {
			return os.ReadFile(v[1:])
		}
		return []byte(v), nil
	}
	for _, p := range pems {
		data, err := read(p)
		if err != nil {
			return nil, err
		}
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("--service-account-public-key: no PEM block")
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("--service-account-public-key: %w", err)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: pub})
	}
	if jwksArg != "" {
		data, err := read(jwksArg)
		if err != nil {
			return nil, err
		}
		var more jose.JSONWebKeySet
		if err := json.Unmarshal(data, &more); err != nil {
			return nil, fmt.Errorf("--service-account-jwks: %w", err)
		}
		set.Keys = append(set.Keys, more.Keys...)
	}
	return set, nil
}

// installManifests is deploy/webhook as one YAML stream, with the
// ConfigMap filled in for this Ward server and a header that says what
// else the cluster needs.
func installManifests(cluster installTarget, tenant, authority, image, imageNote string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Ward workload identity webhook for cluster %v (apply with: kubectl apply -f -)\n", cluster.Name)
	if cluster.Issuer == "" {
		fmt.Fprintf(&b, "# The cluster has no OIDC issuer yet: %s\n", cluster.enableIssuerCommand())
	} else {
		fmt.Fprintf(&b, "# Tokens must carry iss=%s: see ward aks show-apiserver-flags, or upload the\n# apiserver's keys with ward aks update --service-account-jwks.\n", cluster.Issuer)
	}
	if w := loopbackAuthority(authority); w != "" {
		b.WriteString("# WARNING: " + w + "\n")
	}
	fmt.Fprintf(&b, "# Image: %s (ward image build pushes it; --image names another).\n", image)
	b.WriteString(imageNote)
	for _, f := range deploy.WebhookFiles {
		data, err := deploy.Webhook.ReadFile("webhook/" + f)
		if err != nil {
			return "", err
		}
		text := withImage(string(data), image)
		if f == "configmap.yaml" {
			text = strings.NewReplacer(
				`AZURE_TENANT_ID: "00000000-0000-0000-0000-000000000000"`, fmt.Sprintf("AZURE_TENANT_ID: %q", tenant),
				`AZURE_AUTHORITY_HOST: "https://ward.example.internal/"`, fmt.Sprintf("AZURE_AUTHORITY_HOST: %q", authority),
			).Replace(text)
		}
		b.WriteString("---\n# " + f + "\n" + text)
	}
	return b.String(), nil
}

// withImage puts image in a manifest's container where deploy/ names the
// image ward (kustomize's name for it, set in its images: list).
func withImage(manifest, image string) string {
	return strings.ReplaceAll(manifest, "\n          image: ward\n", "\n          image: "+image+"\n")
}

// loopbackAuthority warns when the authority host pods are given is a
// loopback address: inside a pod, 127.0.0.1 and localhost are the pod
// itself, so every token exchange would fail.
func loopbackAuthority(authority string) string {
	u, err := url.Parse(authority)
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	ip := net.ParseIP(host)
	if (ip == nil || !ip.IsLoopback()) && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return ""
	}
	return fmt.Sprintf("AZURE_AUTHORITY_HOST would be %s, a loopback address: pods cannot reach it (it is the pod itself). Restart Ward with an address pods reach, e.g. ward serve --addr 0.0.0.0:8443 --public-url https://HOST:8443 (HOST: a name pods resolve to this machine)", authority)
}

// installTarget is what the install text says of a cluster.
type installTarget struct {
	Name, Group string
	Issuer      string // "" until the OIDC issuer is enabled
}

func installTargetOf(c client.Cluster) installTarget {
	return installTarget{Name: c.Name, Group: groupOf(c.ID), Issuer: c.Properties.OIDCIssuerProfile.IssuerURL}
}

// enableIssuerCommand is the command that turns on the cluster's OIDC
// issuer.
func (t installTarget) enableIssuerCommand() string {
	return shellquote.Join("ward", "aks", "update", "-n", t.Name, "-g", t.Group, "--enable-oidc-issuer")
}
