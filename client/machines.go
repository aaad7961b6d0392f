package client

import (
	"context"
	"net/http"
	"strings"
)

// APIVersionMachines is the Microsoft.HybridCompute/machines api-version
// sent (the Go SDK's armhybridcompute/v2).
const APIVersionMachines = "2024-07-10"

func machinePath(sub, rg, name string) string {
	return groupPath(sub, rg) + "/providers/Microsoft.HybridCompute/machines/" + esc(name)
}

// Machine is a connected machine as the management API returns it: the
// fields Ward's tools act on, typed, and the whole body in Raw (for
// display, and for properties this type does not name).
type Machine struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Identity   ManagedIdentity   `json:"identity"`
	Properties MachineProperties `json:"properties"`
	Raw        map[string]any    `json:"-"`
}

// MachineProperties are the typed properties of a Machine.
type MachineProperties struct {
	// Status is Connected once an agent holds the machine's credential.
	Status string `json:"status"`
	// WardJoinToken and WardJoinTokenExpiresOn are set only in the
	// response that issued the one-time join token.
	WardJoinToken          string `json:"wardJoinToken"`
	WardJoinTokenExpiresOn string `json:"wardJoinTokenExpiresOn"`
}

// UnmarshalJSON fills the typed fields and Raw from one body.
func (m *Machine) UnmarshalJSON(b []byte) error {
	type plain Machine
	return decodeWithRaw(b, (*plain)(m), &m.Raw)
}

// ManagedIdentity is a resource's identity block: its type
// ("SystemAssigned", "UserAssigned", both comma-separated, or "None"), the
// system-assigned principal and the attached user-assigned identities by
// resource ID.
type ManagedIdentity struct {
	Type                   string                          `json:"type"`
	PrincipalID            string                          `json:"principalId"`
	TenantID               string                          `json:"tenantId"`
	UserAssignedIdentities map[string]UserAssignedIdentity `json:"userAssignedIdentities"`
}

// HasSystemAssigned reports whether the type includes a system-assigned
// identity (ARM compares types without case).
func (i ManagedIdentity) HasSystemAssigned() bool {
	return strings.Contains(strings.ToLower(i.Type), "systemassigned")
}

// UserAssignedIdentity is one attached user-assigned identity: the
// principal and client ID recorded when it was attached (both empty, and
// WardWarning set, when the identity was deleted or re-created since).
type UserAssignedIdentity struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
	WardWarning string `json:"wardWarning"`
}

// PutMachine creates or replaces a connected machine; body is the ARM
// shape. The response that creates it carries the one-time join token in
// Properties.WardJoinToken.
func (c *Client) PutMachine(ctx context.Context, sub, rg, name string, body map[string]any) (Machine, error) {
	var out Machine
	_, err := c.do(ctx, http.MethodPut, machinePath(sub, rg, name), APIVersionMachines, body, &out)
	return out, err
}

// PatchMachine updates a machine's tags or identities; a user-assigned
// identity mapped to nil is detached.
func (c *Client) PatchMachine(ctx context.Context, sub, rg, name string, body map[string]any) (Machine, error) {
	var out Machine
	_, err := c.do(ctx, http.MethodPatch, machinePath(sub, rg, name), APIVersionMachines, body, &out)
	return out, err
}

// GetMachine reads a machine.
func (c *Client) GetMachine(ctx context.Context, sub, rg, name string) (Machine, error) {
	var out Machine
	_, err := c.do(ctx, http.MethodGet, machinePath(sub, rg, name), APIVersionMachines, nil, &out)
	return out, err
}

// ListMachines lists machines in a group or the subscription.
func (c *Client) ListMachines(ctx context.Context, sub, rg string) ([]Machine, error) {
	path := "/subscriptions/" + esc(sub) + "/providers/Microsoft.HybridCompute/machines"
	if rg != "" {
		path = groupPath(sub, rg) + "/providers/Microsoft.HybridCompute/machines"
	}
	return listAll[Machine](ctx, c, path, APIVersionMachines)
}

// DeleteMachine deletes a machine with its system-assigned identity; its
// agent is refused from its next request. It reports whether it existed.
func (c *Client) DeleteMachine(ctx context.Context, sub, rg, name string) (bool, error) {
	status, err := c.do(ctx, http.MethodDelete, machinePath(sub, rg, name), APIVersionMachines, nil, nil)
	return status == http.StatusOK, err
}

// JoinToken is a machine's one-time join token.
type JoinToken struct {
	JoinToken string `json:"joinToken"`
	ExpiresOn string `json:"expiresOn"`
}

// ResetMachineCredential revokes the machine agent's key and returns a new
// join token valid for lifetimeSeconds (0: one hour).
func (c *Client) ResetMachineCredential(ctx context.Context, sub, rg, name string, lifetimeSeconds int64) (JoinToken, error) {
	var out JoinToken
	body := map[string]any{}
	if lifetimeSeconds > 0 {
		body["joinTokenLifetimeSeconds"] = lifetimeSeconds
	}
	_, err := c.do(ctx, http.MethodPost, machinePath(sub, rg, name)+"/resetAgentCredential", APIVersionMachines, body, &out)
	return out, err
}

func agentPoolPath(sub, rg, cluster, pool string) string {
	return clusterPath(sub, rg, cluster) + "/agentPools/" + esc(pool)
}

// AgentPool is a cluster's node pool as the management API returns it:
// the fields Ward's tools act on, typed, and the whole body in Raw.
type AgentPool struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Properties AgentPoolProperties `json:"properties"`
	Raw        map[string]any      `json:"-"`
}

// AgentPoolProperties are the typed properties of an AgentPool.
type AgentPoolProperties struct {
	// WardUserAssignedIdentities are the identities the pool's nodes
	// serve besides the cluster's kubelet identity, by resource ID.
	WardUserAssignedIdentities map[string]UserAssignedIdentity `json:"wardUserAssignedIdentities"`
	// WardAgentServiceAccount is the namespace/name the pool's agents
	// attest with.
	WardAgentServiceAccount string `json:"wardAgentServiceAccount"`
}

// UnmarshalJSON fills the typed fields and Raw from one body.
func (p *AgentPool) UnmarshalJSON(b []byte) error {
	type plain AgentPool
	return decodeWithRaw(b, (*plain)(p), &p.Raw)
}

// ListAgentPools lists a cluster's node pools.
func (c *Client) ListAgentPools(ctx context.Context, sub, rg, cluster string) ([]AgentPool, error) {
	return listAll[AgentPool](ctx, c, clusterPath(sub, rg, cluster)+"/agentPools", APIVersionClusters)
}

// GetAgentPool reads a node pool.
func (c *Client) GetAgentPool(ctx context.Context, sub, rg, cluster, pool string) (AgentPool, error) {
	var out AgentPool
	_, err := c.do(ctx, http.MethodGet, agentPoolPath(sub, rg, cluster, pool), APIVersionClusters, nil, &out)
	return out, err
}

// PutAgentPool creates a node pool or replaces its user-assigned
// identities (properties.wardUserAssignedIdentities).
func (c *Client) PutAgentPool(ctx context.Context, sub, rg, cluster, pool string, body map[string]any) (AgentPool, error) {
	var out AgentPool
	_, err := c.do(ctx, http.MethodPut, agentPoolPath(sub, rg, cluster, pool), APIVersionClusters, body, &out)
	return out, err
}

// DeleteAgentPool deletes a node pool.
func (c *Client) DeleteAgentPool(ctx context.Context, sub, rg, cluster, pool string) (bool, error) {
	status, err := c.do(ctx, http.MethodDelete, agentPoolPath(sub, rg, cluster, pool), APIVersionClusters, nil, nil)
	// AKS answers a deleted pool 202 (a long-running operation) and a
	// missing one 204.
	return status == http.StatusOK || status == http.StatusAccepted, err
}
