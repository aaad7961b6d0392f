package arm

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/machines"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// Connected machine wire names.
const (
	ProviderHybridCompute = "Microsoft.HybridCompute"
	TypeMachine           = machines.Type
	typeResetCredential   = "Microsoft.HybridCompute/machines/resetAgentCredential"
	// ActionResetCredential revokes a machine's agent key and issues a new
	// join token.
	ActionResetCredential = typeResetCredential + "/action"
	TypeAgentPool         = "Microsoft.ContainerService/managedClusters/agentPools"
)

// machineAPIVersions: az connectedmachine (2.x extension) sends 2022-12-27
// to 2024-07-10, Go armhybridcompute/v2 2.0 2024-07-10,
// azure-mgmt-hybridcompute 9.0 2024-07-10, @azure/arm-hybridcompute 4.0
// 2024-07-10; the previews between are accepted as the stable shape.
var machineAPIVersions = []string{"2019-12-12", "2020-07-30-preview", "2020-08-02", "2020-08-15-preview", "2021-01-28-preview", "2021-03-25-preview",
	"2021-04-22-preview", "2021-05-17-preview", "2021-05-20", "2021-06-10-preview", "2021-12-10-preview", "2022-03-10", "2022-05-10-preview",
	"2022-08-11-preview", "2022-11-10", "2022-12-27", "2022-12-27-preview", "2023-03-15-preview", "2023-06-20-preview", "2023-10-03-preview",
	"2024-03-31-preview", "2024-05-20-preview", "2024-07-10", "2024-07-31-preview", "2024-09-10-preview", "2024-11-10-preview", "2025-01-13",
	"2025-02-19-preview"}

type machineIdentityJSON struct {
	Type                   string                       `json:"type"`
	PrincipalID            string                       `json:"principalId,omitempty"`
	TenantID               string                       `json:"tenantId,omitempty"`
	UserAssignedIdentities map[string]map[string]string `json:"userAssignedIdentities,omitempty"`
}

type machineJSON struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Type       string              `json:"type"`
	Location   string              `json:"location"`
	Tags       map[string]string   `json:"tags"`
	Identity   machineIdentityJSON `json:"identity"`
	Properties machineProps        `json:"properties"`
}

type machineProps struct {
	ProvisioningState string `json:"provisioningState"`
	// Status is Connected once an agent holds the machine's credential,
	// Disconnected before (Ward does not track agents' liveness).
	Status           string `json:"status"`
	LastStatusChange string `json:"lastStatusChange,omitempty"`
	VMID             string `json:"vmId"`
	// Ward's additions: the agent's registered key, and the one-time join
	// token (only in the response that issued it).
	WardAgent              map[string]any `json:"wardAgent"`
	WardJoinToken          string         `json:"wardJoinToken,omitempty"`
	WardJoinTokenExpiresOn string         `json:"wardJoinTokenExpiresOn,omitempty"`
}

func (h *Handler) toMachine(ctx context.Context, m machines.Machine, jt *machines.JoinToken) machineJSON {
	j := machineJSON{ID: m.ResourceID(), Name: m.Name, Type: TypeMachine, Location: m.Location, Tags: m.Tags}
	if j.Tags == nil {
		j.Tags = map[string]string{}
	}
	j.Identity.Type = m.Spec.IdentityType
	if m.Spec.HasSystem() {
		j.Identity.PrincipalID, j.Identity.TenantID = m.Spec.SystemPrincipalID, h.tenantID
	}
	if len(m.Spec.UserAssigned) > 0 {
		j.Identity.UserAssignedIdentities = userAssignedView(h.machines.Attachments(ctx, m))
	}
	p := &j.Properties
	p.ProvisioningState, p.Status, p.VMID = "Succeeded", "Disconnected", m.ID
	p.WardAgent = map[string]any{"joined": m.Spec.Joined()}
	if m.Spec.Joined() {
		p.Status, p.LastStatusChange = "Connected", m.Spec.JoinedAt.Format(time.RFC3339)
		p.WardAgent["joinedAt"], p.WardAgent["keyThumbprint"] = m.Spec.JoinedAt.Format(time.RFC3339), m.Spec.AgentThumbprint
	} else if !m.Spec.JoinTokenExpires.IsZero() {
		p.WardAgent["joinTokenExpiresOn"] = m.Spec.JoinTokenExpires.Format(time.RFC3339)
	}
	if jt != nil {
		p.WardJoinToken, p.WardJoinTokenExpiresOn = jt.Token, jt.ExpiresOn.Format(time.RFC3339)
	}
	return j
}

// userAssignedView is ARM's userAssignedIdentities map: each entry's
// principalId and clientId are the ones recorded when the identity was
// attached, as Azure keeps them; an identity deleted since, or re-created
// under its name (another principal, not served), carries Ward's
// wardWarning saying so and what to do.
func userAssignedView(attached []msi.Attachment) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, a := range attached {
		out[a.ResourceID] = attachmentView(a, "principalId")
	}
	return out
}

// attachmentView is one attachment's entry; principalKey is what the
// principal is called there (principalId, or objectId in a cluster's
// identityProfile).
func attachmentView(a msi.Attachment, principalKey string) map[string]string {
	v := map[string]string{}
	if a.Binding.PrincipalID != "" {
		v[principalKey], v["clientId"] = a.Binding.PrincipalID, a.Binding.ClientID
	}
	if a.Problem != "" {
		v["wardWarning"] = a.Problem
	}
	return v
}

// machineBody is a PUT or PATCH body. userAssignedIdentities values are
// objects ({} attaches) or null (PATCH: detaches).
type machineBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Identity   *identityBlock    `json:"identity"`
	Properties json.RawMessage   `json:"properties"`
}

func (b machineBody) identity() *machines.IdentityRequest {
	if b.Identity == nil {
		return nil
	}
	req := &machines.IdentityRequest{Type: b.Identity.Type, UserAssigned: map[string]bool{}}
	for id, v := range b.Identity.UserAssignedIdentities {
		req.UserAssigned[id] = strings.TrimSpace(string(v)) != "null"
	}
	return req
}

func machineRef(sub, rg, name string) storage.MachineRef {
	return storage.MachineRef{SubscriptionID: sub, ResourceGroup: rg, Name: name}
}

// resetCredential serves POST .../machines/{m}/resetAgentCredential, Ward's
// addition: revoke the agent's key (its next request is refused) and issue
// a new one-time join token. Body (optional): {"joinTokenLifetimeSeconds": n}.
func (h *Handler) resetCredential(q *request) error {
	w, r, ref := q.w, q.r, machineRef(q.id.Subscription, q.id.ResourceGroup, q.name(0))
	var b struct {
		JoinTokenLifetimeSeconds int64 `json:"joinTokenLifetimeSeconds"`
	}
	if r.ContentLength != 0 {
		if err := decodeBody(r, &b); err != nil {
			return err
		}
	}
	jt, err := h.machines.ResetCredential(r.Context(), ref, time.Duration(b.JoinTokenLifetimeSeconds)*time.Second)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"joinToken": jt.Token, "expiresOn": jt.ExpiresOn.Format(time.RFC3339)})
	return nil
}

type agentPoolJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
		// Ward's additions: the identities the pool's nodes serve besides
		// the kubelet identity, and the service account its agents attest
		// with.
		WardUserAssignedIdentities map[string]map[string]string `json:"wardUserAssignedIdentities"`
		WardAgentServiceAccount    string                       `json:"wardAgentServiceAccount"`
	} `json:"properties"`
}

// agentPoolEchoDrop are the paths of a pool request not echoed: computed
// by Ward, or stored as fields (the pool's identities).
var agentPoolEchoDrop = [][]string{
	{"id"}, {"name"}, {"type"}, {"properties", "provisioningState"},
	{"properties", "wardUserAssignedIdentities"}, {"properties", "wardAgentServiceAccount"},
}

// toAgentPool is a pool's answer: what Ward computes, with what the pool's
// PUT declared filled in (echo.go).
func (h *Handler) toAgentPool(ctx context.Context, ref storage.ClusterRef, p clusters.NamedPool) any {
	return answerWith(h.agentPoolView(ctx, ref, p), p.Echo, nil)
}

func (h *Handler) agentPoolView(ctx context.Context, ref storage.ClusterRef, p clusters.NamedPool) agentPoolJSON {
	j := agentPoolJSON{ID: resourceid.ReturnedID(ref.SubscriptionID, ref.ResourceGroup, TypeManagedCluster, ref.Name) + "/agentPools/" + p.Name,
		Name: p.Name, Type: TypeAgentPool}
	j.Properties.ProvisioningState = "Succeeded"
	j.Properties.WardUserAssignedIdentities = userAssignedView(h.clusters.PoolAttachments(ctx, ref, p.NodePool))
	sa := "ward-agent"
	if !strings.EqualFold(p.Name, clusters.DefaultNodePool) {
		sa += "-" + p.Name
	}
	j.Properties.WardAgentServiceAccount = "ward-system/" + sa
	return j
}
