package arm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// Managed cluster wire names.
const (
	ProviderContainerService = "Microsoft.ContainerService"
	TypeManagedCluster       = resourceid.TypeManagedCluster
	typeServiceAccountToken  = "Microsoft.ContainerService/managedClusters/getServiceAccountToken"
	typeSigningKey           = "Microsoft.ContainerService/managedClusters/getServiceAccountSigningKey"
	typeRotateSigningKey     = "Microsoft.ContainerService/managedClusters/rotateServiceAccountSigningKey"
)

// clusterAPIVersions: az 2.45 and azure-mgmt-containerservice 21.1 send
// 2022-11-01, Go armcontainerservice/v6 6.6 2025-02-01,
// @azure/arm-containerservice 24.1 2025-10-01, 25.3 2026-04-01 and 25.5
// 2026-06-01.
var clusterAPIVersions = []string{"2022-11-01", "2023-08-01", "2024-01-01", "2024-02-01", "2024-05-01", "2024-07-01", "2024-08-01", "2024-09-01",
	"2024-10-01", "2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2025-07-01", "2025-10-01", "2026-04-01", "2026-06-01"}

type clusterJSON struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	Identity struct {
		Type                   string                       `json:"type"`
		PrincipalID            string                       `json:"principalId,omitempty"`
		TenantID               string                       `json:"tenantId,omitempty"`
		UserAssignedIdentities map[string]map[string]string `json:"userAssignedIdentities,omitempty"`
	} `json:"identity"`
	Properties struct {
		ProvisioningState       string                       `json:"provisioningState"`
		KubernetesVersion       string                       `json:"kubernetesVersion"`
		DNSPrefix               string                       `json:"dnsPrefix"`
		NodeResourceGroup       string                       `json:"nodeResourceGroup"`
		IdentityProfile         map[string]map[string]string `json:"identityProfile"`
		OIDCIssuerProfile       map[string]any               `json:"oidcIssuerProfile"`
		SecurityProfile         map[string]any               `json:"securityProfile"`
		ServicePrincipalProfile map[string]string            `json:"servicePrincipalProfile"`
		AgentPoolProfiles       []agentPoolProfile           `json:"agentPoolProfiles"`
		NetworkProfile          json.RawMessage              `json:"networkProfile"`
		PowerState              map[string]string            `json:"powerState"`
	} `json:"properties"`
	SKU map[string]string `json:"sku"`
}

// agentPoolProfile is one of a cluster's properties.agentPoolProfiles, made
// from Ward's node pools: az's `aks update` refuses a cluster without one
// before it sends anything, and Terraform reads its default node pool from
// it. Ward runs no nodes, so count and size are the ones AKS gives a
// default pool; the pool's identities are on its agentPools resource.
type agentPoolProfile struct {
	Name                string            `json:"name"`
	Count               int               `json:"count"`
	VMSize              string            `json:"vmSize"`
	OSType              string            `json:"osType"`
	OSSKU               string            `json:"osSKU"`
	Mode                string            `json:"mode"`
	Type                string            `json:"type"`
	EnableAutoScaling   bool              `json:"enableAutoScaling"`
	OrchestratorVersion string            `json:"orchestratorVersion"`
	ProvisioningState   string            `json:"provisioningState"`
	PowerState          map[string]string `json:"powerState"`
}

// defaultNetworkProfile is what AKS reports for a cluster created without
// network settings (kubenet, its default ranges). Ward acts on none of it;
// az's `aks update` refuses a cluster without a network profile.
var defaultNetworkProfile = json.RawMessage(`{"networkPlugin":"kubenet","podCidr":"10.244.0.0/16","serviceCidr":"10.0.0.0/16","dnsServiceIP":"10.0.0.10","outboundType":"loadBalancer","loadBalancerSku":"standard"}`)

func agentPoolProfiles(c clusters.Cluster) []agentPoolProfile {
	out := []agentPoolProfile{}
	for _, p := range clusters.Pools(c.Spec) {
		mode := "User"
		if strings.EqualFold(p.Name, clusters.DefaultNodePool) {
			mode = "System"
		}
		out = append(out, agentPoolProfile{Name: p.Name, Count: 1, VMSize: "Standard_DS2_v2", OSType: "Linux", OSSKU: "Ubuntu", Mode: mode,
			Type: "VirtualMachineScaleSets", OrchestratorVersion: c.Spec.KubernetesVersion, ProvisioningState: "Succeeded",
			PowerState: map[string]string{"code": "Running"}})
	}
	return out
}

// toCluster is a cluster's answer: what Ward computes, with what the user
// declared filled in (echo.go).
func (h *Handler) toCluster(r *http.Request, c clusters.Cluster) any {
	j := h.clusterView(r, c)
	echoed := sentAgentPools(c.Spec.Echo)
	if sentSKU(c.Spec.Echo) {
		// Base/Free is AKS's default, not a fact Ward acts on: a declared
		// SKU answers as sent.
		j.SKU = nil
	}
	if echoed {
		// The node pools the user declared answer as sent, each completed
		// with what AKS adds to a pool.
		j.Properties.AgentPoolProfiles = nil
	}
	v, err := withEcho(j, c.Spec.Echo)
	if err != nil {
		return j
	}
	if m, ok := v.(map[string]any); ok && echoed {
		def := agentPoolProfiles(c)
		if len(def) > 0 {
			fillPools(m, def[0])
		}
	}
	return v
}

// sentSKU reports whether a stored echo declares a SKU.
func sentSKU(echo json.RawMessage) bool {
	var b struct {
		SKU map[string]any `json:"sku"`
	}
	return json.Unmarshal(echo, &b) == nil && len(b.SKU) > 0
}

// sentAgentPools reports whether a stored echo declares agent pools.
func sentAgentPools(echo json.RawMessage) bool {
	var b struct {
		Properties struct {
			AgentPoolProfiles []json.RawMessage `json:"agentPoolProfiles"`
		} `json:"properties"`
	}
	return json.Unmarshal(echo, &b) == nil && len(b.Properties.AgentPoolProfiles) > 0
}

// fillPools completes each of answer's properties.agentPoolProfiles with
// def's fields it lacks.
func fillPools(answer map[string]any, def agentPoolProfile) {
	props, _ := answer["properties"].(map[string]any)
	pools, _ := props["agentPoolProfiles"].([]any)
	b, err := json.Marshal(def)
	if err != nil {
		return
	}
	for _, p := range pools {
		pm, ok := p.(map[string]any)
		if !ok {
			continue
		}
		var d map[string]any
		if decodeNumbers(b, &d) != nil {
			return
		}
		delete(d, "name")
		fillFrom(pm, d)
	}
}

func (h *Handler) clusterView(r *http.Request, c clusters.Cluster) clusterJSON {
	j := clusterJSON{ID: resourceid.ReturnedID(c.SubscriptionID, c.ResourceGroup, TypeManagedCluster, c.Name),
		Name: c.Name, Type: TypeManagedCluster, Location: c.Location, Tags: c.Tags}
	if j.Tags == nil {
		j.Tags = map[string]string{}
	}
	j.Identity.Type = c.Spec.IdentityType
	if c.Spec.IdentityType == "SystemAssigned" {
		j.Identity.PrincipalID, j.Identity.TenantID = c.Spec.SystemPrincipalID, h.tenantID
	} else if c.Spec.ControlPlaneIdentity != "" {
		j.Identity.UserAssignedIdentities = userAssignedView([]msi.Attachment{h.clusters.ControlPlane(r.Context(), c)})
	}
	p := &j.Properties
	p.ProvisioningState, p.KubernetesVersion, p.DNSPrefix, p.NodeResourceGroup = "Succeeded", c.Spec.KubernetesVersion, c.Spec.DNSPrefix, c.Spec.NodeResourceGroup
	// The kubelet identity as attached (AKS records its IDs too), with
	// Ward's warning when it is no longer served.
	kubelet := map[string]string{}
	if c.Spec.KubeletIdentity != "" {
		kubelet = attachmentView(h.clusters.Kubelet(r.Context(), c), "objectId")
	}
	kubelet["resourceId"] = c.Spec.KubeletIdentity
	p.IdentityProfile = map[string]map[string]string{"kubeletidentity": kubelet}
	p.OIDCIssuerProfile = map[string]any{"enabled": c.Spec.OIDCIssuer}
	if c.Spec.OIDCIssuer {
		p.OIDCIssuerProfile["issuerURL"] = h.clusters.IssuerURL(c.ID)
		p.OIDCIssuerProfile["wardKeyMode"] = "WardManaged"
		if c.Spec.ServiceAccountKeys != nil {
			p.OIDCIssuerProfile["wardKeyMode"] = "BringYourOwn"
		}
	}
	p.SecurityProfile = map[string]any{"workloadIdentity": map[string]bool{"enabled": c.Spec.WorkloadIdentity}}
	p.ServicePrincipalProfile = map[string]string{"clientId": "msi"}
	p.AgentPoolProfiles = agentPoolProfiles(c)
	p.NetworkProfile = c.Spec.NetworkProfile
	if len(p.NetworkProfile) == 0 {
		p.NetworkProfile = defaultNetworkProfile
	}
	p.PowerState = map[string]string{"code": "Running"}
	j.SKU = map[string]string{"name": "Base", "tier": "Free"}
	return j
}

// identityBlock is a request's ARM managed-identity block, as clusters and
// machines take it: userAssignedIdentities values are objects ({}) or, in
// a PATCH, null.
type identityBlock struct {
	Type                   string                     `json:"type"`
	UserAssignedIdentities map[string]json.RawMessage `json:"userAssignedIdentities"`
}

type clusterBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Identity   *identityBlock    `json:"identity"`
	Properties *struct {
		KubernetesVersion string `json:"kubernetesVersion"`
		DNSPrefix         string `json:"dnsPrefix"`
		IdentityProfile   map[string]struct {
			ResourceID string `json:"resourceId"`
		} `json:"identityProfile"`
		OIDCIssuerProfile *struct {
			Enabled *bool `json:"enabled"`
			// Ward extension: the public keys of a self-managed cluster's
			// kube-apiserver (bring your own), as its /openid/v1/jwks.
			ServiceAccountKeys *jose.JSONWebKeySet `json:"wardServiceAccountKeys"`
		} `json:"oidcIssuerProfile"`
		SecurityProfile *struct {
			WorkloadIdentity *struct {
				Enabled *bool `json:"enabled"`
			} `json:"workloadIdentity"`
		} `json:"securityProfile"`
		NetworkProfile json.RawMessage `json:"networkProfile"`
	} `json:"properties"`
	declared
}

// clusterEchoDrop are the paths of a cluster request not echoed: stored
// as fields (the network profile, bring-your-own keys) or computed.
var clusterEchoDrop = [][]string{
	{"properties", "networkProfile"},
	{"properties", "oidcIssuerProfile", "wardServiceAccountKeys"},
	{"properties", "provisioningState"},
	{"properties", "powerState"},
	{"properties", "fqdn"},
	{"id"}, {"name"}, {"type"},
}

func (b clusterBody) request() (clusters.Request, error) {
	echo, err := echoOf(b.raw, clusterEchoDrop...)
	if err != nil {
		return clusters.Request{}, err
	}
	req := clusters.Request{Location: b.Location, Tags: b.Tags, Echo: echo}
	if b.Identity != nil {
		req.IdentityType = b.Identity.Type
		for id := range b.Identity.UserAssignedIdentities {
			req.UserAssignedIdentity = id
		}
	}
	if p := b.Properties; p != nil {
		req.KubernetesVersion, req.DNSPrefix = p.KubernetesVersion, p.DNSPrefix
		if k, ok := p.IdentityProfile["kubeletidentity"]; ok {
			req.KubeletIdentity = k.ResourceID
		}
		if p.OIDCIssuerProfile != nil {
			req.OIDCIssuer = p.OIDCIssuerProfile.Enabled
			req.ServiceAccountKeys = p.OIDCIssuerProfile.ServiceAccountKeys
		}
		if p.SecurityProfile != nil && p.SecurityProfile.WorkloadIdentity != nil {
			req.WorkloadIdentity = p.SecurityProfile.WorkloadIdentity.Enabled
		}
		req.NetworkProfile = p.NetworkProfile
	}
	return req, nil
}

// serviceAccountToken serves POST .../managedClusters/{c}/getServiceAccountToken,
// Ward's addition for local development: a token as kube-apiserver would
// project it into a pod.
func (h *Handler) serviceAccountToken(q *request) error {
	w, r, ref := q.w, q.r, clusterRef(q.id.Subscription, q.id.ResourceGroup, q.name(0))
	var b struct {
		Namespace         string `json:"namespace"`
		ServiceAccount    string `json:"serviceAccount"`
		Audience          string `json:"audience"`
		ExpirationSeconds int64  `json:"expirationSeconds"`
	}
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	tok, exp, err := h.clusters.ServiceAccountToken(r.Context(), ref, clusters.TokenRequest{Namespace: b.Namespace,
		ServiceAccount: b.ServiceAccount, Audience: b.Audience, Duration: time.Duration(b.ExpirationSeconds) * time.Second})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "expirationTimestamp": exp.Format(time.RFC3339)})
	return nil
}

// signingKey serves POST .../managedClusters/{c}/getServiceAccountSigningKey:
// the Ward-managed issuer key for a kube-apiserver. It is a write (POST), so
// it needs write permission on the cluster and lands in the activity log.
func (h *Handler) signingKey(q *request) error {
	w, r, ref := q.w, q.r, clusterRef(q.id.Subscription, q.id.ResourceGroup, q.name(0))
	priv, pub, err := h.clusters.SigningKeyPEM(r.Context(), ref)
	if err != nil {
		return err
	}
	c, err := h.clusters.Get(r.Context(), ref)
	if err != nil {
		return err
	}
	kid, err := h.clusters.KeyID(r.Context(), c.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"privateKeyPem": string(priv), "publicKeyPem": string(pub), "kid": kid,
		"issuerURL": h.clusters.IssuerURL(c.ID)})
	return nil
}

// rotateSigningKey serves POST .../rotateServiceAccountSigningKey.
func (h *Handler) rotateSigningKey(q *request) error {
	w, r, ref := q.w, q.r, clusterRef(q.id.Subscription, q.id.ResourceGroup, q.name(0))
	kid, err := h.clusters.RotateIssuerKey(r.Context(), ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"kid": kid})
	return nil
}

func clusterRef(sub, rg, name string) storage.ClusterRef {
	return storage.ClusterRef{SubscriptionID: sub, ResourceGroup: rg, Name: name}
}

// ActionAssignIdentity is what attaching a user-assigned identity to a
// resource needs on the identity (Managed Identity Operator carries it).
const ActionAssignIdentity = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"

// linkedIdentityCheck returns ARM's linked authorization for identities a
// write on resource attaches: 403 LinkedAuthorizationFailed unless the
// caller holds ActionAssignIdentity on each.
func (h *Handler) linkedIdentityCheck(q *request) func(ctx context.Context, identityID string) error {
	p, action, resource := q.principal, q.action, q.scope
	return func(ctx context.Context, identityID string) error {
		if err := h.authz.Authorize(ctx, p, ActionAssignIdentity, identityID); err != nil {
			return newError(http.StatusForbidden, armerr.CodeLinkedAuthorization, fmt.Sprintf(
				"The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, it does not have permission to perform action(s) '%s' on the linked scope(s) '%s' (respectively) or the linked scope(s) are invalid.",
				p.AppID, p.ObjectID, action, resource, ActionAssignIdentity, identityID))
		}
		return nil
	}
}

// listCredential serves POST .../listClusterUserCredential (and the admin
// and monitoring variants) in AKS's shape, {"kubeconfigs":[{"name",
// "value": base64 kubeconfig}]}. Terraform's azurerm calls it on every
// read of a cluster and taints the cluster when it fails, so it must
// answer. Ward hosts a cluster's OIDC issuer and identities, not its API
// server, so the kubeconfig holds no credential: its server is under
// .invalid (RFC 6761: it never resolves, so kubectl fails at once rather
// than reaching someone else's host) and its first lines say why, as
// `ward aks get-credentials` does.
func (h *Handler) listCredential(name string) func(q *request) error {
	return func(q *request) error {
		c, err := h.clusters.Get(q.ctx(), clusterRefOf(q))
		if err != nil {
			return err
		}
		writeJSON(q.w, http.StatusOK, map[string]any{"kubeconfigs": []map[string]string{
			{"name": name, "value": base64.StdEncoding.EncodeToString([]byte(kubeconfig(c, name)))},
		}})
		return nil
	}
}

// kubeconfig is the credential-less kubeconfig of listCredential.
func kubeconfig(c clusters.Cluster, user string) string {
	prefix := c.Spec.DNSPrefix
	if prefix == "" {
		prefix = c.Name
	}
	server := "https://" + strings.ToLower(prefix) + "." + c.Location + ".ward.invalid:443"
	return fmt.Sprintf(`# Ward hosts the OIDC issuer and identities of cluster '%[1]s', not its Kubernetes
# API server, so this kubeconfig holds no credential and its server does not
# resolve. Point it at your own kube-apiserver (see `+"`ward aks get-credentials`"+`).
apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[3]s_%[4]s_%[1]s
current-context: %[1]s
preferences: {}
users:
- name: %[3]s_%[4]s_%[1]s
  user: {}
`, c.Name, server, user, c.ResourceGroup)
}
