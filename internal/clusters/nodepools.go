package clusters

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// DefaultNodePool is the node pool every cluster has, as AKS names its
// first pool. Its nodes' agents attest with the service account
// ward-system/ward-agent; another pool p's with ward-system/ward-agent-p.
const DefaultNodePool = "nodepool1"

// maxPoolIdentities bounds the user-assigned identities of one pool.
const maxPoolIdentities = 100

// NodePool is a node pool: the user-assigned identities attached to its
// nodes (AKS attaches them to the pool's scale set), served by the node
// agent besides the cluster's kubelet identity.
type NodePool struct {
	UserAssigned []string `json:"userAssigned,omitempty"` // identity resource IDs
}

// NamedPool is a node pool with its name.
type NamedPool struct {
	Name string
	NodePool
}

// AKS agent pool names: a lower-case letter, then up to 11 lower-case
// letters or digits.
var poolNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// NodePool returns the pool named name (any case); the default pool
// always exists.
func (sp Spec) NodePool(name string) (NodePool, bool) {
	for n, p := range sp.NodePools {
		if strings.EqualFold(n, name) {
			return p, true
		}
	}
	return NodePool{}, strings.EqualFold(name, DefaultNodePool)
}

// NodePools lists a cluster's node pools by name, the default one first.
func (s *Service) NodePools(ctx context.Context, ref storage.ClusterRef) ([]NamedPool, error) {
	c, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return c.Spec.pools(), nil
}

func (sp Spec) pools() []NamedPool {
	def, _ := sp.NodePool(DefaultNodePool)
	out := []NamedPool{{Name: DefaultNodePool, NodePool: def}}
	var names []string
	for n := range sp.NodePools {
		if !strings.EqualFold(n, DefaultNodePool) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, NamedPool{Name: n, NodePool: sp.NodePools[n]})
	}
	return out
}

func poolNotFound(cluster, name string) error {
	return armerr.NotFound(armerr.CodeResourceNotFound,
		"The Resource 'Microsoft.ContainerService/managedClusters/%s/agentPools/%s' was not found.", cluster, name)
}

// GetNodePool reads one node pool.
func (s *Service) GetNodePool(ctx context.Context, ref storage.ClusterRef, name string) (NamedPool, error) {
	c, err := s.Get(ctx, ref)
	if err != nil {
		return NamedPool{}, err
	}
	for _, p := range c.Spec.pools() {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
	}
	return NamedPool{}, poolNotFound(ref.Name, name)
}

// PoolRequest is what a PUT of a node pool asks for.
type PoolRequest struct {
	// UserAssigned replaces the pool's user-assigned identities (resource
	// IDs); nil keeps them.
	UserAssigned []string
	// CanUse is the linked authorization for identities the request newly
	// attaches (assign/action), as for the cluster's own identities.
	CanUse func(ctx context.Context, identityID string) error
}

// PutNodePool creates a node pool or replaces its identities.
func (s *Service) PutNodePool(ctx context.Context, ref storage.ClusterRef, name string, req PoolRequest) (NamedPool, bool, error) {
	if !poolNameRE.MatchString(name) {
		return NamedPool{}, false, invalid("The agent pool name '%s' is invalid: a lower-case letter, then up to 11 lower-case letters or digits.", name)
	}
	c, err := s.Get(ctx, ref)
	if err != nil {
		return NamedPool{}, false, err
	}
	old, exists := c.Spec.NodePool(name)
	_, stored := c.Spec.NodePools[name]
	created := !exists
	p := old
	if req.UserAssigned != nil {
		if len(req.UserAssigned) > maxPoolIdentities {
			return NamedPool{}, false, invalid("A node pool can have at most %d user-assigned identities.", maxPoolIdentities)
		}
		var ids []string
		for _, id := range req.UserAssigned {
			if !slices.ContainsFunc(old.UserAssigned, func(a string) bool { return strings.EqualFold(a, id) }) {
				if err := (Request{CanUse: req.CanUse}).canUse(ctx, id); err != nil {
					return NamedPool{}, false, err
				}
			}
			got, err := s.Identity(ctx, id)
			if err != nil {
				return NamedPool{}, false, err
			}
			canon := resourceid.IdentityID(got.SubscriptionID, got.ResourceGroup, got.Name)
			if !slices.ContainsFunc(ids, func(a string) bool { return strings.EqualFold(a, canon) }) {
				ids = append(ids, canon)
			}
		}
		sort.Strings(ids)
		p.UserAssigned = ids
	}
	if c.Spec.NodePools == nil {
		c.Spec.NodePools = map[string]NodePool{}
	}
	if !stored {
		// Keep the stored name's case as first written.
		for n := range c.Spec.NodePools {
			if strings.EqualFold(n, name) {
				name = n
			}
		}
	}
	c.Spec.NodePools[name] = p
	if err := s.writeSpec(ctx, c); err != nil {
		return NamedPool{}, false, err
	}
	return NamedPool{Name: name, NodePool: p}, created, nil
}

// DeleteNodePool deletes a node pool; its nodes' agents are refused from
// their next request. The default pool cannot be deleted.
func (s *Service) DeleteNodePool(ctx context.Context, ref storage.ClusterRef, name string) (bool, error) {
	c, err := s.Get(ctx, ref)
	if err != nil {
		return false, err
	}
	if strings.EqualFold(name, DefaultNodePool) {
		return false, invalid("The node pool '%s' is the cluster's system pool and cannot be deleted; detach its identities with a PUT instead.", DefaultNodePool)
	}
	for n := range c.Spec.NodePools {
		if strings.EqualFold(n, name) {
			delete(c.Spec.NodePools, n)
			return true, s.writeSpec(ctx, c)
		}
	}
	return false, nil
}

func (s *Service) writeSpec(ctx context.Context, c Cluster) error {
	spec, err := json.Marshal(c.Spec)
	if err != nil {
		return err
	}
	c.Cluster.Spec, c.UpdatedAt = string(spec), s.now().UTC()
	_, err = s.store.PutCluster(ctx, c.Cluster)
	return err
}
