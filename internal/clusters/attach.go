package clusters

import (
	"context"
	"time"

	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/storage"
)

// kubeletSince is the earliest moment a cluster's kubelet identity can
// have been attached: the cluster's creation, and for the one Ward created
// with it, the end of the creating request (that identity is created
// after the cluster's creation time is stamped).
func kubeletSince(c Cluster) time.Time {
	if c.Spec.KubeletManaged {
		return c.CreatedAt.Add(time.Minute)
	}
	return c.CreatedAt
}

// Kubelet checks a cluster's kubelet identity attachment.
func (s *Service) Kubelet(ctx context.Context, c Cluster) msi.Attachment {
	return s.msi.CheckAttachment(ctx, s.tenantID, c.Spec.KubeletIdentity, c.Spec.KubeletBinding, kubeletSince(c))
}

// ControlPlane checks a cluster's user-assigned control-plane identity.
func (s *Service) ControlPlane(ctx context.Context, c Cluster) msi.Attachment {
	return s.msi.CheckAttachment(ctx, s.tenantID, c.Spec.ControlPlaneIdentity, c.Spec.ControlPlaneBinding, c.CreatedAt)
}

// PoolIdentities checks the user-assigned identities of a node pool of c.
func (s *Service) PoolIdentities(ctx context.Context, c Cluster, p NodePool) []msi.Attachment {
	out := make([]msi.Attachment, 0, len(p.UserAssigned))
	for _, rid := range p.UserAssigned {
		rec, _ := storage.BindingOf(p.Bindings, rid)
		out = append(out, s.msi.CheckAttachment(ctx, s.tenantID, rid, rec, c.CreatedAt))
	}
	return out
}

func canonical(id storage.Identity) string { return msi.Canonical(id) }

// BindingFor returns what to record for an identity attached now.
func BindingFor(id storage.Identity) storage.Binding { return msi.BindingFor(id) }

// PoolAttachments is PoolIdentities for the cluster ref names (a pool's
// ARM view). Without the cluster, attachments that predate recording are
// not proved, so they show as refused. A pool with no identities needs no
// read of the cluster (most pools: a pool's GET is then one query).
func (s *Service) PoolAttachments(ctx context.Context, ref storage.ClusterRef, p NodePool) []msi.Attachment {
	if len(p.UserAssigned) == 0 {
		return []msi.Attachment{}
	}
	c, err := s.store.GetCluster(ctx, ref)
	if err != nil {
		c = Cluster{}
	}
	return s.PoolIdentities(ctx, c, p)
}
