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
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/directory"
	"github.com/ward-id/ward/internal/issuer"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// Spec is a cluster's settings, stored as JSON.
type Spec struct {
	IdentityType         string `json:"identityType"` // SystemAssigned or UserAssigned
	SystemPrincipalID    string `json:"systemPrincipalId,omitempty"`
	SystemAppID          string `json:"systemAppId,omitempty"`
	ControlPlaneIdentity string `json:"controlPlaneIdentity,omitempty"` // UAMI resource ID
	KubeletIdentity      string `json:"kubeletIdentity"`                // UAMI resource ID
	KubeletManaged       bool   `json:"kubeletManaged"`                 // created (and deleted) by Ward
	NodeResourceGroup    string `json:"nodeResourceGroup"`
	// NodeResourceGroupOwned is set when Ward created the node resource
	// group for this cluster: only then does deleting the cluster delete it.
	NodeResourceGroupOwned bool   `json:"nodeResourceGroupOwned,omitempty"`
	OIDCIssuer             bool   `json:"oidcIssuer"`
	WorkloadIdentity       bool   `json:"workloadIdentity"`
	KubernetesVersion      string `json:"kubernetesVersion"`
	DNSPrefix              string `json:"dnsPrefix"`
	// ServiceAccountKeys, when set, are the public keys of a self-managed
	// cluster's kube-apiserver (bring your own): the issuer publishes them
	// and Ward mints no tokens for the cluster.
	ServiceAccountKeys *jose.JSONWebKeySet `json:"serviceAccountKeys,omitempty"`
	// NodePools holds the node pools other than the default one, and the
	// default one once identities are attached to it (nodepools.go).
	NodePools map[string]NodePool `json:"nodePools,omitempty"`
}

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

// Cluster is a stored cluster with its spec decoded.
type Cluster struct {
	storage.Cluster
	Spec Spec
}

// Service manages clusters.
type Service struct {
	store    storage.Storage
	msi      *msi.Service
	dir      *directory.Service
	issuers  *issuer.Service
	tenantID string
	now      func() time.Time
	// PrincipalDeleted is called when a system-assigned identity goes, so
	// its role assignments go too.
	PrincipalDeleted func(ctx context.Context, principalID string) error
}

// New returns a Service; issuers hosts the clusters' OIDC issuers.
func New(store storage.Storage, identities *msi.Service, dir *directory.Service, issuers *issuer.Service, tenantID string, now func() time.Time) *Service {
	return &Service{store: store, msi: identities, dir: dir, issuers: issuers, tenantID: strings.ToLower(tenantID), now: now}
}

var clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,61}[a-zA-Z0-9]$`)

func invalid(format string, args ...any) *msi.Error {
	return &msi.Error{Kind: msi.KindInvalid, Code: "BadRequest", Message: fmt.Sprintf(format, args...)}
}

func decode(c storage.Cluster) (Cluster, error) {
	var sp Spec
	if err := json.Unmarshal([]byte(c.Spec), &sp); err != nil {
		return Cluster{}, fmt.Errorf("cluster %s: corrupt spec: %w", c.Name, err)
	}
	return Cluster{Cluster: c, Spec: sp}, nil
}

// Get reads a cluster.
func (s *Service) Get(ctx context.Context, ref storage.ClusterRef) (Cluster, error) {
	if _, err := s.msi.Group(ctx, ref.SubscriptionID, ref.ResourceGroup); err != nil {
		return Cluster{}, err
	}
	c, err := s.store.GetCluster(ctx, ref)
	if errors.Is(err, storage.ErrNotFound) {
		return Cluster{}, &msi.Error{Kind: msi.KindNotFound, Code: "ResourceNotFound", Message: fmt.Sprintf(
			"The Resource 'Microsoft.ContainerService/managedClusters/%s' under resource group '%s' was not found.", ref.Name, ref.ResourceGroup)}
	}
	if err != nil {
		return Cluster{}, err
	}
	return decode(c)
}

// List lists clusters in a group or subscription.
func (s *Service) List(ctx context.Context, sub, rg string) ([]Cluster, error) {
	all, err := s.store.ListClusters(ctx, sub, rg)
	if err != nil {
		return nil, err
	}
	out := make([]Cluster, 0, len(all))
	for _, c := range all {
		d, err := decode(c)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
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

// Put creates or updates a cluster, with AKS's rules.
func (s *Service) Put(ctx context.Context, ref storage.ClusterRef, req Request) (Cluster, bool, error) {
	if !clusterNameRE.MatchString(ref.Name) {
		return Cluster{}, false, invalid("The cluster name '%s' is invalid: 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit.", ref.Name)
	}
	rg, err := s.msi.Group(ctx, ref.SubscriptionID, ref.ResourceGroup)
	if err != nil {
		return Cluster{}, false, err
	}
	now := s.now().UTC()
	old, err := s.Get(ctx, ref)
	var me *msi.Error
	created := errors.As(err, &me) && me.Kind == msi.KindNotFound
	if err != nil && !created {
		return Cluster{}, false, err
	}
	c := old
	if created {
		loc := msi.NormalizeLocation(req.Location)
		if loc == "" {
			loc = rg.Location
		}
		c = Cluster{Cluster: storage.Cluster{ID: uuid.NewString(), SubscriptionID: ref.SubscriptionID, ResourceGroup: rg.Name, Name: ref.Name,
			Location: loc, CreatedAt: now}}
		c.Spec.NodeResourceGroup = fmt.Sprintf("MC_%s_%s_%s", rg.Name, ref.Name, loc)
		// A cluster never adopts a group it did not create: deleting the
		// cluster deletes its node resource group with everything in it.
		if _, err := s.msi.Group(ctx, ref.SubscriptionID, c.Spec.NodeResourceGroup); err == nil {
			return Cluster{}, false, &msi.Error{Kind: msi.KindConflict, Code: "NodeResourceGroupAlreadyExists", Message: fmt.Sprintf(
				"The node resource group '%s' of cluster '%s' already exists. A managed cluster creates its node resource group and deletes it with the cluster, so it cannot use an existing one: delete or rename that group, or choose another cluster name.",
				c.Spec.NodeResourceGroup, ref.Name)}
		}
		c.Spec.KubernetesVersion, c.Spec.DNSPrefix = "1.31.1", ref.Name+"-dns"
	} else if l := msi.NormalizeLocation(req.Location); l != "" && l != c.Location {
		return Cluster{}, false, invalid("Changing property 'location' is not allowed.")
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
			return Cluster{}, false, invalid("OIDC issuer feature cannot be disabled once it is enabled on cluster '%s'.", ref.Name)
		}
		c.Spec.OIDCIssuer = *req.OIDCIssuer
	}
	if req.WorkloadIdentity != nil {
		c.Spec.WorkloadIdentity = *req.WorkloadIdentity
	}
	if req.ServiceAccountKeys != nil {
		keys, err := issuer.KubeKeys(*req.ServiceAccountKeys)
		if err != nil {
			return Cluster{}, false, fromIssuer(err)
		}
		c.Spec.ServiceAccountKeys = &keys
	}
	if c.Spec.WorkloadIdentity && !c.Spec.OIDCIssuer {
		return Cluster{}, false, invalid("Enabling workload identity requires enabling the OIDC issuer feature (--enable-oidc-issuer).")
	}
	// Control-plane identity.
	switch t := req.IdentityType; {
	case strings.EqualFold(t, "UserAssigned"):
		if err := req.canUse(ctx, req.UserAssignedIdentity); err != nil {
			return Cluster{}, false, err
		}
		id, err := s.Identity(ctx, req.UserAssignedIdentity)
		if err != nil {
			return Cluster{}, false, err
		}
		if !strings.EqualFold(id.TenantID, s.tenantID) {
			return Cluster{}, false, invalid("Managed identity-enabled clusters cannot move across tenants.")
		}
		if c.Spec.IdentityType == "SystemAssigned" && c.Spec.SystemPrincipalID != "" {
			if err := s.dropSystemIdentity(ctx, c.Spec); err != nil {
				return Cluster{}, false, err
			}
			c.Spec.SystemPrincipalID, c.Spec.SystemAppID = "", ""
		}
		c.Spec.IdentityType, c.Spec.ControlPlaneIdentity = "UserAssigned", resourceid.IdentityID(id.SubscriptionID, id.ResourceGroup, id.Name)
	case t == "" || strings.EqualFold(t, "SystemAssigned"):
		if c.Spec.IdentityType == "UserAssigned" && t == "" {
			break // an update that does not mention the identity keeps it
		}
		if c.Spec.SystemPrincipalID == "" {
			sp, err := s.dir.Create(ctx, ref.Name)
			if err != nil {
				return Cluster{}, false, err
			}
			c.Spec.SystemPrincipalID, c.Spec.SystemAppID = sp.ObjectID, sp.AppID
		}
		c.Spec.IdentityType, c.Spec.ControlPlaneIdentity = "SystemAssigned", ""
	default:
		return Cluster{}, false, invalid("The identity type '%s' is not supported: use SystemAssigned or UserAssigned.", t)
	}
	// Kubelet identity: given, or <cluster>-agentpool in the node group.
	if req.KubeletIdentity != "" {
		if err := req.canUse(ctx, req.KubeletIdentity); err != nil {
			return Cluster{}, false, err
		}
		id, err := s.Identity(ctx, req.KubeletIdentity)
		if err != nil {
			return Cluster{}, false, err
		}
		c.Spec.KubeletIdentity, c.Spec.KubeletManaged = resourceid.IdentityID(id.SubscriptionID, id.ResourceGroup, id.Name), false
	} else if c.Spec.KubeletIdentity == "" {
		_, groupCreated, err := s.msi.PutGroup(ctx, ref.SubscriptionID, c.Spec.NodeResourceGroup, msi.GroupSpec{Location: c.Location})
		if err != nil {
			return Cluster{}, false, err
		}
		if groupCreated {
			c.Spec.NodeResourceGroupOwned = true
		} else if !c.Spec.NodeResourceGroupOwned {
			return Cluster{}, false, &msi.Error{Kind: msi.KindConflict, Code: "NodeResourceGroupAlreadyExists", Message: fmt.Sprintf(
				"The node resource group '%s' exists and was not created by cluster '%s'; the cluster will not adopt it or its identities.", c.Spec.NodeResourceGroup, ref.Name)}
		}
		name := ref.Name + "-agentpool"
		id, idCreated, err := s.msi.PutIdentity(ctx, storage.IdentityRef{SubscriptionID: ref.SubscriptionID, ResourceGroup: c.Spec.NodeResourceGroup, Name: name}, msi.IdentitySpec{Location: c.Location})
		if err != nil {
			return Cluster{}, false, err
		}
		if !idCreated {
			return Cluster{}, false, &msi.Error{Kind: msi.KindConflict, Code: "Conflict", Message: fmt.Sprintf(
				"The identity '%s' already exists in node resource group '%s'; the cluster will not adopt an identity it did not create. Pass --assign-kubelet-identity to use it deliberately.", name, c.Spec.NodeResourceGroup)}
		}
		c.Spec.KubeletIdentity, c.Spec.KubeletManaged = resourceid.IdentityID(id.SubscriptionID, id.ResourceGroup, id.Name), true
	}
	spec, err := json.Marshal(c.Spec)
	if err != nil {
		return Cluster{}, false, err
	}
	c.Cluster.Spec, c.UpdatedAt = string(spec), now
	if _, err := s.store.PutCluster(ctx, c.Cluster); err != nil {
		return Cluster{}, false, err
	}
	if c.Spec.OIDCIssuer {
		if err := s.issuers.Ensure(ctx, c.ID); err != nil {
			return Cluster{}, false, err
		}
	}
	got, err := s.Get(ctx, ref)
	return got, created, err
}

func (s *Service) dropSystemIdentity(ctx context.Context, sp Spec) error {
	if s.PrincipalDeleted != nil {
		if err := s.PrincipalDeleted(ctx, sp.SystemPrincipalID); err != nil {
			return err
		}
	}
	if err := s.dir.Delete(ctx, sp.SystemPrincipalID); err != nil && !errors.Is(err, directory.ErrNotFound) {
		return err
	}
	return nil
}

// Delete deletes a cluster with what AKS deletes with it: the system-assigned
// identity (and its role assignments) and the node resource group with the
// kubelet identity Ward created there, only when Ward created that group
// (clusters never adopt existing groups). Identities the user gave survive.
func (s *Service) Delete(ctx context.Context, ref storage.ClusterRef) (bool, error) {
	c, err := s.Get(ctx, ref)
	var me *msi.Error
	if errors.As(err, &me) && me.Kind == msi.KindNotFound {
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
		if _, err := s.msi.DeleteGroup(ctx, ref.SubscriptionID, c.Spec.NodeResourceGroup); err != nil {
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
