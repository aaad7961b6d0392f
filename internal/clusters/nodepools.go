package clusters

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/storage"
)

// DefaultNodePool is the node pool every cluster has, as AKS names its
// first pool. Its nodes' agents attest with the service account
// ward-system/ward-agent; another pool p's with ward-system/ward-agent-p.
const DefaultNodePool = storage.DefaultNodePool

// maxPoolIdentities bounds the user-assigned identities of one pool.
const maxPoolIdentities = 100

// NodePool is a node pool: the user-assigned identities attached to its
// nodes, served by the node agent besides the cluster's kubelet identity.
type NodePool = storage.NodePool

// NamedPool is a node pool with its name.
type NamedPool struct {
	Name string
	NodePool
}

// AKS agent pool names: a lower-case letter, then up to 11 lower-case
// letters or digits.
var poolNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// NodePools lists a cluster's node pools by name, the default one first.
func (s *Service) NodePools(ctx context.Context, ref storage.ClusterRef) ([]NamedPool, error) {
	c, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return pools(c.Spec), nil
}

// Pools lists a cluster spec's node pools by name, the default one first.
func Pools(sp Spec) []NamedPool { return pools(sp) }

// pools lists a spec's node pools by name, the default one first.
func pools(sp Spec) []NamedPool {
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
	for _, p := range pools(c.Spec) {
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
	// Echo replaces the JSON the pool's PUT declared (NodePool.Echo); nil
	// keeps it.
	Echo json.RawMessage
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
	created := !exists
	var ids []string // the pool's new identities, when req.UserAssigned is set
	var bindings map[string]storage.Binding
	if req.UserAssigned != nil {
		if len(req.UserAssigned) > maxPoolIdentities {
			return NamedPool{}, false, invalid("A node pool can have at most %d user-assigned identities.", maxPoolIdentities)
		}
		for _, id := range req.UserAssigned {
			b, err := s.attach(ctx, c, old, id, req.CanUse)
			if err != nil {
				return NamedPool{}, false, err
			}
			if !slices.ContainsFunc(ids, func(a string) bool { return strings.EqualFold(a, b.ResourceID) }) {
				ids = append(ids, b.ResourceID)
				bindings = storage.Bind(bindings, b.ResourceID, b.Binding)
			}
		}
		sort.Strings(ids)
	}
	var p NodePool
	err = s.updateSpec(ctx, ref, func(sp *Spec) bool {
		cur, _ := sp.NodePool(name)
		if req.UserAssigned != nil {
			cur.UserAssigned, cur.Bindings = ids, bindings
		}
		if req.Echo != nil {
			cur.Echo = req.Echo
		}
		p = cur
		// Keep the stored name's case as first written.
		for n := range sp.NodePools {
			if strings.EqualFold(n, name) {
				name = n
			}
		}
		if sp.NodePools == nil {
			sp.NodePools = map[string]NodePool{}
		}
		sp.NodePools[name] = cur
		return true
	})
	if err != nil {
		return NamedPool{}, false, err
	}
	return NamedPool{Name: name, NodePool: p}, created, nil
}

// attach resolves an identity a node pool PUT names. One the pool has,
// still the identity it was attached as, keeps its binding; any other
// (new to the pool, or re-created under the name since) needs the caller's
// linked authorization, checked before the lookup so that a caller
// without it learns nothing of the identity, and is bound to the principal
// it has now.
func (s *Service) attach(ctx context.Context, c Cluster, pool NodePool, rid string, canUse func(context.Context, string) error) (msi.Attachment, error) {
	if slices.ContainsFunc(pool.UserAssigned, func(a string) bool { return strings.EqualFold(a, rid) }) {
		rec, _ := storage.BindingOf(pool.Bindings, rid)
		if a := s.msi.CheckAttachment(ctx, s.tenantID, rid, rec, c.CreatedAt); a.Served() {
			a.ResourceID = canonical(a.Identity)
			return a, nil
		}
	}
	if err := (Request{CanUse: canUse}).canUse(ctx, rid); err != nil {
		return msi.Attachment{}, err
	}
	got, err := s.Identity(ctx, rid)
	if err != nil {
		return msi.Attachment{}, err
	}
	return msi.Attachment{ResourceID: canonical(got), Binding: BindingFor(got), Identity: got, Found: true}, nil
}

// DeleteNodePool deletes a node pool; its nodes' agents are refused from
// their next request. The default pool cannot be deleted.
func (s *Service) DeleteNodePool(ctx context.Context, ref storage.ClusterRef, name string) (bool, error) {
	if _, err := s.Get(ctx, ref); err != nil {
		return false, err
	}
	if strings.EqualFold(name, DefaultNodePool) {
		return false, invalid("The node pool '%s' is the cluster's system pool and cannot be deleted; detach its identities with a PUT instead.", DefaultNodePool)
	}
	deleted := false
	err := s.updateSpec(ctx, ref, func(sp *Spec) bool {
		deleted = false
		for n := range sp.NodePools {
			if strings.EqualFold(n, name) {
				delete(sp.NodePools, n)
				deleted = true
			}
		}
		return deleted
	})
	return deleted, err
}

// updateSpec saves change to a stored cluster's spec in one transaction;
// change reports whether it changed anything. It may run more than once.
func (s *Service) updateSpec(ctx context.Context, ref storage.ClusterRef, change func(sp *Spec) bool) error {
	now := s.now().UTC()
	_, err := s.store.UpdateCluster(ctx, ref, func(old *Cluster) (*Cluster, error) {
		if old == nil {
			return nil, notFound(ref)
		}
		nu := *old
		nu.Spec.NodePools = maps.Clone(old.Spec.NodePools)
		if !change(&nu.Spec) {
			return nil, nil
		}
		nu.UpdatedAt = now
		return &nu, nil
	})
	return err
}
