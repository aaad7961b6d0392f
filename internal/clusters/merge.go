package clusters

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
)

// DefaultKubernetesVersion is what a new cluster reports when the request
// names no version.
const DefaultKubernetesVersion = "1.31.1"

// maxEcho bounds the stored JSON a cluster's requests declared (each
// request is bounded by ARM's body cap; updates merge into it).
const maxEcho = 128 << 10

// maxNetworkProfile bounds the stored network profile.
const maxNetworkProfile = 16 << 10

// resolved is what Put looked up before merging: the request's identities
// as canonical resource IDs, and its keys validated with their kids.
type resolved struct {
	controlPlane string // with IdentityType UserAssigned
	kubelet      string // when the request names a kubelet identity
	// The principals the named identities have now, recorded as attached
	// (the caller was authorized to assign them).
	controlPlaneBinding, kubeletBinding storage.Binding
	keys                                *jose.JSONWebKeySet
}

// origin is where a new cluster is created: its reference, resource group,
// fresh GUID and the time of the request.
type origin struct {
	ref   storage.ClusterRef
	group storage.ResourceGroup
	id    string
	now   time.Time
}

// merge is the cluster a PUT asks for, from the stored one (nil: a new
// cluster) and the request. It applies every rule of a PUT and does no
// I/O, so it can run inside the store's transaction. What it cannot
// decide alone it leaves blank for Put's ensure steps: the principal of a
// system-assigned identity (SystemPrincipalID "") and a Ward-created
// kubelet identity (KubeletIdentity "").
func merge(old *Cluster, req Request, r resolved, o origin) (Cluster, error) {
	var c Cluster
	if old == nil {
		loc := resources.NormalizeLocation(req.Location)
		if loc == "" {
			loc = o.group.Location
		}
		c = Cluster{ID: o.id, SubscriptionID: o.ref.SubscriptionID, ResourceGroup: o.group.Name, Name: o.ref.Name, Location: loc, CreatedAt: o.now}
		c.Spec.NodeResourceGroup = fmt.Sprintf("MC_%s_%s_%s", o.group.Name, o.ref.Name, loc)
		c.Spec.KubernetesVersion, c.Spec.DNSPrefix = DefaultKubernetesVersion, o.ref.Name+"-dns"
	} else {
		c = *old
		if l := resources.NormalizeLocation(req.Location); l != "" && l != c.Location {
			return Cluster{}, invalid("Changing property 'location' is not allowed.")
		}
	}
	if req.KubernetesVersion != "" {
		c.Spec.KubernetesVersion = req.KubernetesVersion
	}
	if req.DNSPrefix != "" {
		c.Spec.DNSPrefix = req.DNSPrefix
	}
	if req.Tags != nil {
		c.Tags = req.Tags
	}
	// Issuer and workload identity: can be enabled later, never disabled.
	if req.OIDCIssuer != nil {
		if !*req.OIDCIssuer && c.Spec.OIDCIssuer {
			return Cluster{}, invalid("OIDC issuer feature cannot be disabled once it is enabled on cluster '%s'.", o.ref.Name)
		}
		c.Spec.OIDCIssuer = *req.OIDCIssuer
	}
	if req.WorkloadIdentity != nil {
		c.Spec.WorkloadIdentity = *req.WorkloadIdentity
	}
	if r.keys != nil {
		c.Spec.ServiceAccountKeys = r.keys
	}
	if np := bytes.TrimSpace(req.NetworkProfile); len(np) > 0 && string(np) != "null" {
		if np[0] != '{' || len(np) > maxNetworkProfile {
			return Cluster{}, invalid("properties.networkProfile must be a JSON object of at most %d bytes.", maxNetworkProfile)
		}
		c.Spec.NetworkProfile = append([]byte(nil), np...)
	}
	if len(req.Echo) > 0 {
		c.Spec.Echo = mergeEcho(c.Spec.Echo, req.Echo)
		if len(c.Spec.Echo) > maxEcho {
			return Cluster{}, invalid("The cluster's declared properties would exceed the %d bytes Ward stores for a cluster; send fewer.", maxEcho)
		}
	}
	if c.Spec.WorkloadIdentity && !c.Spec.OIDCIssuer {
		return Cluster{}, invalid("Enabling workload identity requires enabling the OIDC issuer feature (--enable-oidc-issuer).")
	}
	// Control-plane identity.
	switch t := req.IdentityType; {
	case strings.EqualFold(t, "UserAssigned"):
		// A system-assigned principal the cluster had is released by Put
		// once the cluster no longer names it.
		c.Spec.SystemPrincipalID, c.Spec.SystemAppID = "", ""
		c.Spec.IdentityType, c.Spec.ControlPlaneIdentity = "UserAssigned", r.controlPlane
		b := r.controlPlaneBinding
		c.Spec.ControlPlaneBinding = &b
	case t == "" && c.Spec.IdentityType == "UserAssigned":
		// An update that does not mention the identity keeps it.
	case t == "" || strings.EqualFold(t, "SystemAssigned"):
		c.Spec.IdentityType, c.Spec.ControlPlaneIdentity, c.Spec.ControlPlaneBinding = "SystemAssigned", "", nil
	default:
		return Cluster{}, invalid("The identity type '%s' is not supported: use SystemAssigned or UserAssigned.", t)
	}
	// Kubelet identity: given, or kept, or <cluster>-agentpool in the node
	// group (created by Put when blank).
	if r.kubelet != "" {
		b := r.kubeletBinding
		c.Spec.KubeletIdentity, c.Spec.KubeletManaged, c.Spec.KubeletBinding = r.kubelet, false, &b
	}
	c.UpdatedAt = o.now
	return c, nil
}

// mergeEcho merges a request's echo (the JSON it sent, see Request.Echo) into an earlier one for an update that
// does not repeat every property: top-level keys and keys of "properties"
// the update sent replace the earlier ones (null removes one), the others
// stay, as Ward keeps modelled properties an update leaves out.
func mergeEcho(old, upd json.RawMessage) json.RawMessage {
	if len(old) == 0 {
		return upd
	}
	var o, u map[string]any
	if json.Unmarshal(old, &o) != nil || o == nil {
		return upd
	}
	if json.Unmarshal(upd, &u) != nil {
		return old
	}
	for k, v := range u {
		op, ook := o[k].(map[string]any)
		up, uok := v.(map[string]any)
		if k == "properties" && ook && uok {
			for pk, pv := range up {
				op[pk] = pv
			}
			continue
		}
		o[k] = v
	}
	out, err := json.Marshal(o)
	if err != nil {
		return upd
	}
	return out
}
