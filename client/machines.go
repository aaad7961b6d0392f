package client

import (
	"context"
	"net/http"
)

// APIVersionMachines is the Microsoft.HybridCompute/machines api-version
// sent (the Go SDK's armhybridcompute/v2).
const APIVersionMachines = "2024-07-10"

func machinePath(sub, rg, name string) string {
	return groupPath(sub, rg) + "/providers/Microsoft.HybridCompute/machines/" + esc(name)
}

// PutMachine creates or replaces a connected machine; body is the ARM
// shape. The response that creates it carries the one-time join token in
// properties.wardJoinToken.
func (c *Client) PutMachine(ctx context.Context, sub, rg, name string, body map[string]any) (map[string]any, error) {
	var out map[string]any
	_, err := c.do(ctx, http.MethodPut, machinePath(sub, rg, name), APIVersionMachines, body, &out)
	return out, err
}

// PatchMachine updates a machine's tags or identities; a user-assigned
// identity mapped to nil is detached.
func (c *Client) PatchMachine(ctx context.Context, sub, rg, name string, body map[string]any) (map[string]any, error) {
	var out map[string]any
	_, err := c.do(ctx, http.MethodPatch, machinePath(sub, rg, name), APIVersionMachines, body, &out)
	return out, err
}

// GetMachine reads a machine in its ARM shape.
func (c *Client) GetMachine(ctx context.Context, sub, rg, name string) (map[string]any, error) {
	var out map[string]any
	_, err := c.do(ctx, http.MethodGet, machinePath(sub, rg, name), APIVersionMachines, nil, &out)
	return out, err
}

// ListMachines lists machines in a group or the subscription.
func (c *Client) ListMachines(ctx context.Context, sub, rg string) ([]map[string]any, error) {
	path := "/subscriptions/" + esc(sub) + "/providers/Microsoft.HybridCompute/machines"
	if rg != "" {
		path = groupPath(sub, rg) + "/providers/Microsoft.HybridCompute/machines"
	}
	return listAll[map[string]any](ctx, c, path, APIVersionMachines)
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

// ListAgentPools lists a cluster's node pools.
func (c *Client) ListAgentPools(ctx context.Context, sub, rg, cluster string) ([]map[string]any, error) {
	return listAll[map[string]any](ctx, c, clusterPath(sub, rg, cluster)+"/agentPools", APIVersionClusters)
}

// GetAgentPool reads a node pool.
func (c *Client) GetAgentPool(ctx context.Context, sub, rg, cluster, pool string) (map[string]any, error) {
	var out map[string]any
	_, err := c.do(ctx, http.MethodGet, agentPoolPath(sub, rg, cluster, pool), APIVersionClusters, nil, &out)
	return out, err
}

// PutAgentPool creates a node pool or replaces its user-assigned
// identities (properties.wardUserAssignedIdentities).
func (c *Client) PutAgentPool(ctx context.Context, sub, rg, cluster, pool string, body map[string]any) (map[string]any, error) {
	var out map[string]any
	_, err := c.do(ctx, http.MethodPut, agentPoolPath(sub, rg, cluster, pool), APIVersionClusters, body, &out)
	return out, err
}

// DeleteAgentPool deletes a node pool.
func (c *Client) DeleteAgentPool(ctx context.Context, sub, rg, cluster, pool string) (bool, error) {
	status, err := c.do(ctx, http.MethodDelete, agentPoolPath(sub, rg, cluster, pool), APIVersionClusters, nil, nil)
	return status == http.StatusOK, err
}
