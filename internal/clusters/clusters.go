// Package clusters holds Ward's managed clusters: the AKS-shaped resource
// with its control-plane (system- or user-assigned) and kubelet identities,
// its node pools and node resource group. Each cluster with the OIDC issuer
// enabled has a hosted issuer, which the issuer package owns (keys,
// rotation, service-account tokens): clusters creates it and checks the
// cluster's settings before calling it. It knows nothing of HTTP.
package clusters

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/directory"
	"github.com/ward-id/ward/internal/issuer"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
)

// Spec is a cluster's settings, a typed field of the stored cluster.
type Spec = storage.ClusterSpec

// Cluster is a stored cluster.
type Cluster = storage.Cluster

// Request is what a PUT asks for.
type Request struct {
	Location             string
	Tags                 map[string]string
	IdentityType         string // "", SystemAssigned, UserAssigned
	UserAssignedIdentity string // with UserAssigned: the one control-plane identity
	KubeletIdentity      string // resource ID, or "" for a Ward-created one
	OIDCIssuer           *bool
	WorkloadIdentity     *bool
	KubernetesVersion    string
	DNSPrefix            string
	// ServiceAccountKeys switches the issuer to bring-your-own keys.
	ServiceAccountKeys *jose.JSONWebKeySet
	// NetworkProfile replaces the stored network profile when set (a JSON
	// object, echoed as sent).
	NetworkProfile json.RawMessage
	// Echo is the request's JSON as sent, less what is stored elsewhere
	// and secrets: Ward acts on none of it but answers with it, so what
	// the user declared reads back unchanged (arm/echo.go has the rule).
	// An update merges into the stored one (mergeEcho).
	Echo json.RawMessage
	// CanUse checks that the caller may attach the user-assigned identity
	// with this resource ID (ARM's linked authorization:
	// Microsoft.ManagedIdentity/userAssignedIdentities/assign/action on it).
	// It runs before the identity is looked up, so a caller without the
	// right learns nothing of it. nil allows every identity.
	CanUse func(ctx context.Context, identityID string) error
}

func (req Request) canUse(ctx context.Context, identityID string) error {
	if req.CanUse == nil || identityID == "" {
		return nil
	}
	return req.CanUse(ctx, identityID)
}

// Service manages clusters.
type Service struct {
	store            storage.Storage
	groups           *resources.Service
	msi              *msi.Service
	dir              *directory.Service
	issuers          *issuer.Service
	tenantID         string
	now              func() time.Time
	principalDeleted func(ctx context.Context, principalID string) error
}

// Config configures a Service.
type Config struct {
	Store storage.Storage
	// Groups holds the clusters' and node resource groups, Identities the
	// kubelet identities, Issuers the clusters' OIDC issuers.
	Groups     *resources.Service
	Identities *msi.Service
	Directory  *directory.Service
	Issuers    *issuer.Service
	TenantID   string
	Now        func() time.Time // default time.Now
	// PrincipalDeleted is called when a system-assigned identity goes, so
	// its role assignments go too.
	PrincipalDeleted func(ctx context.Context, principalID string) error
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: cfg.Store, groups: cfg.Groups, msi: cfg.Identities, dir: cfg.Directory, issuers: cfg.Issuers,
		tenantID: strings.ToLower(cfg.TenantID), now: cfg.Now, principalDeleted: cfg.PrincipalDeleted}
}

var clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,61}[a-zA-Z0-9]$`)

func invalid(format string, args ...any) *armerr.Error {
	return armerr.BadRequest("BadRequest", format, args...)
}

func notFound(ref storage.ClusterRef) error {
	return armerr.NotFound(armerr.CodeResourceNotFound,
		"The Resource 'Microsoft.ContainerService/managedClusters/%s' under resource group '%s' was not found.", ref.Name, ref.ResourceGroup)
}

// Get reads a cluster.
func (s *Service) Get(ctx context.Context, ref storage.ClusterRef) (Cluster, error) {
	// The cluster first: the store keeps a cluster only inside its group
	// (a group's delete cascades to it), so a hit needs no other read. Only
	// a miss reads the group and subscription, to say which is missing.
	// One query instead of three on the path every read of a cluster takes
	// (its GET, its node pools', a node's attestation).
	c, err := s.store.GetCluster(ctx, ref)
	if !errors.Is(err, storage.ErrNotFound) {
		return c, err
	}
	if _, err := s.groups.Group(ctx, ref.SubscriptionID, ref.ResourceGroup); err != nil {
		return Cluster{}, err
	}
	return Cluster{}, notFound(ref)
}

// List lists clusters in a group or subscription.
func (s *Service) List(ctx context.Context, sub, rg string) ([]Cluster, error) {
	return storage.All(func(p storage.Page) ([]storage.Cluster, string, error) {
		return s.store.ListClusters(ctx, sub, rg, p)
	})
}

// identityRef parses a user-assigned identity resource ID.
func identityRef(id string) (storage.IdentityRef, error) {
	p, err := resourceid.Parse(id)
	if err != nil || !p.TypeMatches("Microsoft.ManagedIdentity/userAssignedIdentities") || p.ResourceGroup == "" || len(p.Types) != 1 {
		return storage.IdentityRef{}, invalid("'%s' is not a user-assigned identity resource ID (/subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/…).", id)
	}
	return storage.IdentityRef{SubscriptionID: p.Subscription, ResourceGroup: p.ResourceGroup, Name: p.Types[0].Name}, nil
}

// Identity resolves a user-assigned identity by resource ID.
func (s *Service) Identity(ctx context.Context, id string) (storage.Identity, error) {
	ref, err := identityRef(id)
	if err != nil {
		return storage.Identity{}, err
	}
	got, err := s.msi.Identity(ctx, ref)
	if err != nil {
		return got, invalid("The user-assigned identity '%s' does not exist: %v", id, err)
	}
	return got, nil
}

// Put creates or updates a cluster, with AKS's rules, in four steps: look
// up what the request names (identities, keys), merge the request into the
// stored cluster (a pure function: every rule, no I/O), ensure what the
// merged cluster needs and does not have yet (system-assigned principal,
// node resource group with the kubelet identity), then save it through
// UpdateCluster, which refuses if the cluster changed in between. The
// issuer's keys and the release of a replaced system identity follow.
func (s *Service) Put(ctx context.Context, ref storage.ClusterRef, req Request) (Cluster, bool, error) {
	if !clusterNameRE.MatchString(ref.Name) {
		return Cluster{}, false, invalid("The cluster name '%s' is invalid: 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit.", ref.Name)
	}
	rg, err := s.groups.Group(ctx, ref.SubscriptionID, ref.ResourceGroup)
	if err != nil {
		return Cluster{}, false, err
	}
	var pre *Cluster
	switch c, err := s.Get(ctx, ref); {
	case err == nil:
		pre = &c
	case !isNotFound(err):
		return Cluster{}, false, err
	}
	res, err := s.resolve(ctx, req)
	if err != nil {
		return Cluster{}, false, err
	}
	o := origin{ref: ref, group: rg, id: uuid.NewString(), now: s.now().UTC()}
	c, err := merge(pre, req, res, o)
	if err != nil {
		return Cluster{}, false, err
	}
	ens, err := s.ensure(ctx, pre, c)
	if err != nil {
		return Cluster{}, false, err
	}
	saved, err := s.store.UpdateCluster(ctx, ref, func(old *Cluster) (*Cluster, error) {
		if (old == nil) != (pre == nil) || (old != nil && !old.UpdatedAt.Equal(pre.UpdatedAt)) {
			return nil, armerr.Conflict(armerr.CodeConflict, "The cluster '%s' was modified concurrently; retry the request.", ref.Name)
		}
		nu, err := merge(old, req, res, o)
		if err != nil {
			return nil, err
		}
		ens.apply(&nu.Spec)
		return &nu, nil
	})
	if err != nil {
		return Cluster{}, false, err
	}
	if pre != nil && pre.Spec.SystemPrincipalID != "" && saved.Spec.SystemPrincipalID == "" {
		if err := s.dropSystemIdentity(ctx, pre.Spec); err != nil {
			return Cluster{}, false, err
		}
	}
	if saved.Spec.OIDCIssuer {
		if err := s.issuers.Ensure(ctx, saved.ID); err != nil {
			return Cluster{}, false, err
		}
	}
	return saved, pre == nil, nil
}

func isNotFound(err error) bool { return armerr.IsNotFound(err) }

// resolve looks up what a request names: its user-assigned identities
// (after the caller's linked authorization) and its uploaded keys.
func (s *Service) resolve(ctx context.Context, req Request) (resolved, error) {
	var r resolved
	if strings.EqualFold(req.IdentityType, "UserAssigned") {
		if err := req.canUse(ctx, req.UserAssignedIdentity); err != nil {
			return r, err
		}
		id, err := s.Identity(ctx, req.UserAssignedIdentity)
		if err != nil {
			return r, err
		}
		if !strings.EqualFold(id.TenantID, s.tenantID) {
			return r, invalid("Managed identity-enabled clusters cannot move across tenants.")
		}
		r.controlPlane, r.controlPlaneBinding = canonical(id), BindingFor(id)
	}
	if req.KubeletIdentity != "" {
		if err := req.canUse(ctx, req.KubeletIdentity); err != nil {
			return r, err
		}
		id, err := s.Identity(ctx, req.KubeletIdentity)
		if err != nil {
			return r, err
		}
		r.kubelet, r.kubeletBinding = canonical(id), BindingFor(id)
	}
	if req.ServiceAccountKeys != nil {
		keys, err := issuer.KubeKeys(*req.ServiceAccountKeys)
		if err != nil {
			return r, fromIssuer(err)
		}
		r.keys = &keys
	}
	return r, nil
}

// ensured is what Put created for a cluster outside its transaction.
type ensured struct {
	systemPrincipalID, systemAppID string
	kubelet                        string // a Ward-created kubelet identity
	kubeletBinding                 storage.Binding
}

// apply fills the blanks merge left with what was created.
func (e ensured) apply(sp *Spec) {
	if sp.IdentityType == "SystemAssigned" && sp.SystemPrincipalID == "" && e.systemPrincipalID != "" {
		sp.SystemPrincipalID, sp.SystemAppID = e.systemPrincipalID, e.systemAppID
	}
	if sp.KubeletIdentity == "" && e.kubelet != "" {
		b := e.kubeletBinding
		sp.KubeletIdentity, sp.KubeletManaged, sp.NodeResourceGroupOwned, sp.KubeletBinding = e.kubelet, true, true, &b
	}
}

// ensure creates what the merged cluster c needs and does not have: on
// creation, a node resource group that must not exist yet; a principal for
// a system-assigned identity; and, without a given kubelet identity, the
// node resource group with <cluster>-agentpool in it.
func (s *Service) ensure(ctx context.Context, pre *Cluster, c Cluster) (ensured, error) {
	var e ensured
	if pre == nil {
		// A cluster never adopts a group it did not create: deleting the
		// cluster deletes its node resource group with everything in it.
		if _, err := s.groups.Group(ctx, c.SubscriptionID, c.Spec.NodeResourceGroup); err == nil {
			return e, armerr.Conflict("NodeResourceGroupAlreadyExists",
				"The node resource group '%s' of cluster '%s' already exists. A managed cluster creates its node resource group and deletes it with the cluster, so it cannot use an existing one: delete or rename that group, or choose another cluster name.",
				c.Spec.NodeResourceGroup, c.Name)
		}
	}
	if c.Spec.IdentityType == "SystemAssigned" && c.Spec.SystemPrincipalID == "" {
		id := resourceid.ClusterID(c.SubscriptionID, c.ResourceGroup, c.Name)
		sp, err := s.dir.CreateManaged(ctx, c.Name, id)
		if err != nil {
			return e, err
		}
		e.systemPrincipalID, e.systemAppID = sp.ObjectID, sp.AppID
	}
	if c.Spec.KubeletIdentity != "" {
		return e, nil
	}
	_, groupCreated, err := s.groups.PutGroup(ctx, c.SubscriptionID, c.Spec.NodeResourceGroup, resources.GroupSpec{Location: c.Location})
	if err != nil {
		return e, err
	}
	if !groupCreated && !c.Spec.NodeResourceGroupOwned {
		return e, armerr.Conflict("NodeResourceGroupAlreadyExists",
			"The node resource group '%s' exists and was not created by cluster '%s'; the cluster will not adopt it or its identities.", c.Spec.NodeResourceGroup, c.Name)
	}
	name := c.Name + "-agentpool"
	id, idCreated, err := s.msi.PutIdentity(ctx, storage.IdentityRef{SubscriptionID: c.SubscriptionID, ResourceGroup: c.Spec.NodeResourceGroup, Name: name}, msi.IdentitySpec{Location: c.Location})
	if err != nil {
		return e, err
	}
	if !idCreated {
		return e, armerr.Conflict("Conflict",
			"The identity '%s' already exists in node resource group '%s'; the cluster will not adopt an identity it did not create. Pass --assign-kubelet-identity to use it deliberately.", name, c.Spec.NodeResourceGroup)
	}
	e.kubelet, e.kubeletBinding = canonical(id), BindingFor(id)
	return e, nil
}

func (s *Service) dropSystemIdentity(ctx context.Context, sp Spec) error {
	return s.dir.DeleteSystemPrincipal(ctx, sp.SystemPrincipalID, s.principalDeleted)
}

// Delete deletes a cluster with what AKS deletes with it: the system-assigned
// identity (and its role assignments) and the node resource group with the
// kubelet identity Ward created there, only when Ward created that group
// (clusters never adopt existing groups). Identities the user gave survive.
func (s *Service) Delete(ctx context.Context, ref storage.ClusterRef) (bool, error) {
	c, err := s.Get(ctx, ref)
	if armerr.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if c.Spec.SystemPrincipalID != "" {
		if err := s.dropSystemIdentity(ctx, c.Spec); err != nil {
			return false, err
		}
	}
	if c.Spec.NodeResourceGroupOwned {
		if _, err := s.groups.DeleteGroup(ctx, ref.SubscriptionID, c.Spec.NodeResourceGroup); err != nil {
			return false, err
		}
	}
	if err := s.store.DeleteCluster(ctx, ref); err != nil {
		return false, err
	}
	s.issuers.Forget(c.ID)
	return true, nil
}

// IssuerURL is a cluster's issuer URL: <public-url>/oidc/<tenant>/<cluster guid>/.
func (s *Service) IssuerURL(clusterID string) string { return s.issuers.URL(clusterID) }

// TokenRequest asks for a service-account token (the issuer's request).
type TokenRequest = issuer.TokenRequest

// fromIssuer turns the issuer's refusals into ARM's 400.
func fromIssuer(err error) error {
	var inv *issuer.InvalidError
	if errors.As(err, &inv) {
		return invalid("%s", inv.Message)
	}
	return err
}

// ServiceAccountToken mints a token shaped exactly like kube-apiserver's
// projected service-account token with the cluster's issuer.
func (s *Service) ServiceAccountToken(ctx context.Context, ref storage.ClusterRef, req TokenRequest) (string, time.Time, error) {
	c, err := s.Get(ctx, ref)
	if err != nil {
		return "", time.Time{}, err
	}
	if !c.Spec.OIDCIssuer {
		return "", time.Time{}, invalid("Cluster '%s' has no OIDC issuer: enable it with 'ward aks update --enable-oidc-issuer'.", ref.Name)
	}
	if c.Spec.ServiceAccountKeys != nil {
		return "", time.Time{}, invalid("Cluster '%s' uses its own service-account keys (bring your own): its kube-apiserver issues the tokens, Ward cannot.", ref.Name)
	}
	tok, exp, err := s.issuers.ServiceAccountToken(ctx, c.ID, req)
	return tok, exp, fromIssuer(err)
}

// SigningKeyPEM returns the current private key of a cluster's Ward-managed
// issuer, for a kube-apiserver's --service-account-signing-key-file.
func (s *Service) SigningKeyPEM(ctx context.Context, ref storage.ClusterRef) ([]byte, []byte, error) {
	c, err := s.Get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if !c.Spec.OIDCIssuer || c.Spec.ServiceAccountKeys != nil {
		return nil, nil, invalid("Cluster '%s' has no Ward-managed OIDC issuer key.", ref.Name)
	}
	return s.issuers.SigningKeyPEM(ctx, c.ID)
}

// KeyID returns the kid of a cluster's current Ward-managed issuer key.
func (s *Service) KeyID(ctx context.Context, clusterID string) (string, error) {
	return s.issuers.KeyID(ctx, clusterID)
}

// RotateIssuerKey makes a cluster's Ward-managed issuer sign with a new key;
// the old one stays published until the tokens it signed expire.
func (s *Service) RotateIssuerKey(ctx context.Context, ref storage.ClusterRef) (string, error) {
	c, err := s.Get(ctx, ref)
	if err != nil {
		return "", err
	}
	if !c.Spec.OIDCIssuer || c.Spec.ServiceAccountKeys != nil {
		return "", invalid("Cluster '%s' has no Ward-managed OIDC issuer key to rotate.", ref.Name)
	}
	return s.issuers.Rotate(ctx, c.ID)
}
