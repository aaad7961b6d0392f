// Package clusters holds Ward's managed clusters: the AKS-shaped resource
// with its control-plane (system- or user-assigned) and kubelet identities,
// and the OIDC issuer Ward hosts for each cluster, whose keys sign
// Kubernetes-style service-account tokens for local development and verify
// them in the token exchange without any HTTP. It knows nothing of HTTP.
package clusters

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/directory"
	"github.com/ward-id/ward/internal/federation"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/signer"
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
	store     storage.Storage
	msi       *msi.Service
	dir       *directory.Service
	kek       []byte
	publicURL string
	tenantID  string
	now       func() time.Time
	// PrincipalDeleted is called when a system-assigned identity goes, so
	// its role assignments go too.
	PrincipalDeleted func(ctx context.Context, principalID string) error

	mu      sync.Mutex
	issuers map[string]*issuerKeys // cluster GUID -> its key manager
	// published caches each hosted issuer's public keys for the token
	// exchange, which would otherwise read the cluster on every request;
	// ForgetIssuers (the change feed) and issuerRefresh bound its staleness.
	published map[string]publishedKeys
}

// New returns a Service.
func New(store storage.Storage, identities *msi.Service, dir *directory.Service, kek []byte, publicURL, tenantID string, now func() time.Time) *Service {
	return &Service{store: store, msi: identities, dir: dir, kek: kek, publicURL: strings.TrimSuffix(publicURL, "/"),
		tenantID: strings.ToLower(tenantID), now: now, issuers: map[string]*issuerKeys{}}
}

var clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,61}[a-zA-Z0-9]$`)

func invalid(format string, args ...any) *armerr.Error {
	return armerr.BadRequest("BadRequest", format, args...)
}

// IssuerURL is a cluster's issuer: <public-url>/oidc/<tenant>/<cluster guid>/.
func (s *Service) IssuerURL(clusterID string) string {
	return s.publicURL + "/oidc/" + s.tenantID + "/" + strings.ToLower(clusterID) + "/"
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
		return Cluster{}, armerr.NotFound("ResourceNotFound",
			"The Resource 'Microsoft.ContainerService/managedClusters/%s' under resource group '%s' was not found.", ref.Name, ref.ResourceGroup)
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
	created := armerr.IsNotFound(err)
	if err != nil && !created {
		return Cluster{}, false, err
	}
	c := old
	if created {
		loc := resources.NormalizeLocation(req.Location)
		if loc == "" {
			loc = rg.Location
		}
		c = Cluster{Cluster: storage.Cluster{ID: uuid.NewString(), SubscriptionID: ref.SubscriptionID, ResourceGroup: rg.Name, Name: ref.Name,
			Location: loc, CreatedAt: now}}
		c.Spec.NodeResourceGroup = fmt.Sprintf("MC_%s_%s_%s", rg.Name, ref.Name, loc)
		// A cluster never adopts a group it did not create: deleting the
		// cluster deletes its node resource group with everything in it.
		if _, err := s.msi.Group(ctx, ref.SubscriptionID, c.Spec.NodeResourceGroup); err == nil {
			return Cluster{}, false, armerr.Conflict("NodeResourceGroupAlreadyExists",
				"The node resource group '%s' of cluster '%s' already exists. A managed cluster creates its node resource group and deletes it with the cluster, so it cannot use an existing one: delete or rename that group, or choose another cluster name.",
				c.Spec.NodeResourceGroup, ref.Name)
		}
		c.Spec.KubernetesVersion, c.Spec.DNSPrefix = "1.31.1", ref.Name+"-dns"
	} else if l := resources.NormalizeLocation(req.Location); l != "" && l != c.Location {
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
		keys, err := KubeKeys(*req.ServiceAccountKeys)
		if err != nil {
			return Cluster{}, false, err
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
		_, groupCreated, err := s.msi.PutGroup(ctx, ref.SubscriptionID, c.Spec.NodeResourceGroup, resources.GroupSpec{Location: c.Location})
		if err != nil {
			return Cluster{}, false, err
		}
		if groupCreated {
			c.Spec.NodeResourceGroupOwned = true
		} else if !c.Spec.NodeResourceGroupOwned {
			return Cluster{}, false, armerr.Conflict("NodeResourceGroupAlreadyExists",
				"The node resource group '%s' exists and was not created by cluster '%s'; the cluster will not adopt it or its identities.", c.Spec.NodeResourceGroup, ref.Name)
		}
		name := ref.Name + "-agentpool"
		id, idCreated, err := s.msi.PutIdentity(ctx, storage.IdentityRef{SubscriptionID: ref.SubscriptionID, ResourceGroup: c.Spec.NodeResourceGroup, Name: name}, msi.IdentitySpec{Location: c.Location})
		if err != nil {
			return Cluster{}, false, err
		}
		if !idCreated {
			return Cluster{}, false, armerr.Conflict("Conflict",
				"The identity '%s' already exists in node resource group '%s'; the cluster will not adopt an identity it did not create. Pass --assign-kubelet-identity to use it deliberately.", name, c.Spec.NodeResourceGroup)
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
		if _, err := s.issuer(ctx, c.ID); err != nil {
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
		if _, err := s.msi.DeleteGroup(ctx, ref.SubscriptionID, c.Spec.NodeResourceGroup); err != nil {
			return false, err
		}
	}
	if err := s.store.DeleteCluster(ctx, ref); err != nil {
		return false, err
	}
	s.ForgetIssuers(c.ID)
	return true, nil
}

// ForgetIssuers drops the cached key managers of the given clusters' issuers
// (all of them when none is named), so the next use reloads them from the
// database: another replica created, rotated or deleted keys.
func (s *Service) ForgetIssuers(clusterIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(clusterIDs) == 0 {
		clear(s.issuers)
		clear(s.published)
		return
	}
	for _, id := range clusterIDs {
		delete(s.issuers, strings.ToLower(id))
		delete(s.published, strings.ToLower(id))
	}
}

// issuerKeys is a cluster issuer's key manager and when it last reloaded.
type issuerKeys struct {
	m         *signer.Manager
	refreshed time.Time
}

// issuerRefresh is how often a cluster issuer's keys are reloaded from
// storage (rotation due, or another replica rotated), as the token
// service's own keys are: not on every token exchange.
const issuerRefresh = time.Minute

// issuer returns the key manager of a cluster's hosted issuer.
func (s *Service) issuer(ctx context.Context, clusterID string) (*signer.Manager, error) {
	id := strings.ToLower(clusterID)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if k, ok := s.issuers[id]; ok {
		if now.Sub(k.refreshed) < issuerRefresh {
			return k.m, nil
		}
		k.refreshed = now
		return k.m, k.m.Refresh(ctx)
	}
	m, err := signer.New(ctx, signer.Config{Store: s.store, Owner: id, KEK: s.kek, Now: s.now, KubeKID: true})
	if err != nil {
		return nil, err
	}
	s.issuers[id] = &issuerKeys{m: m, refreshed: now}
	return m, nil
}

// IssuerKeys returns the JWKS of a cluster's issuer, by cluster GUID.
func (s *Service) IssuerKeys(ctx context.Context, clusterID string) (jose.JSONWebKeySet, error) {
	c, err := s.store.GetClusterByID(ctx, clusterID)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	d, err := decode(c)
	if err != nil || !d.Spec.OIDCIssuer {
		return jose.JSONWebKeySet{}, storage.ErrNotFound
	}
	if d.Spec.ServiceAccountKeys != nil {
		return *d.Spec.ServiceAccountKeys, nil
	}
	m, err := s.issuer(ctx, c.ID)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	set := m.JWKS()
	for i := range set.Keys {
		// kube-apiserver publishes bare keys; certificates add nothing here.
		set.Keys[i].Certificates, set.Keys[i].CertificateThumbprintSHA1 = nil, nil
	}
	return set, nil
}

// Key implements federation.KeySource for Ward's own issuers: an issuer
// under <public-url>/oidc/<tenant>/ is resolved in-process, no HTTP.
func (s *Service) Key(ctx context.Context, issuer, kid string) (*jose.JSONWebKey, error) {
	clusterID, ok := s.ClusterIDFromIssuer(issuer)
	if !ok {
		return nil, fmt.Errorf("issuer %s is not hosted by this Ward server", issuer)
	}
	set, err := s.publishedKeys(ctx, clusterID)
	if err != nil {
		return nil, fmt.Errorf("hosted issuer %s: no cluster with an enabled OIDC issuer", issuer)
	}
	if keys := set.Key(kid); len(keys) > 0 {
		return &keys[0], nil
	}
	// An unknown kid may be a key rotated or uploaded a moment ago: read
	// the database once (as every request did before the cache).
	s.ForgetIssuers(clusterID)
	if set, err = s.publishedKeys(ctx, clusterID); err != nil {
		return nil, fmt.Errorf("hosted issuer %s: no cluster with an enabled OIDC issuer", issuer)
	}
	if keys := set.Key(kid); len(keys) > 0 {
		return &keys[0], nil
	}
	return nil, federation.ErrKeyNotFound
}

type publishedKeys struct {
	set jose.JSONWebKeySet
	at  time.Time
}

// publishedKeys returns a hosted issuer's keys from the cache when fresh.
func (s *Service) publishedKeys(ctx context.Context, clusterID string) (jose.JSONWebKeySet, error) {
	id := strings.ToLower(clusterID)
	now := s.now()
	s.mu.Lock()
	p, ok := s.published[id]
	s.mu.Unlock()
	if ok && now.Sub(p.at) < issuerRefresh && !now.Before(p.at) {
		return p.set, nil
	}
	set, err := s.IssuerKeys(ctx, clusterID)
	if err != nil {
		return set, err
	}
	s.mu.Lock()
	if s.published == nil || len(s.published) > 10_000 {
		s.published = map[string]publishedKeys{}
	}
	s.published[id] = publishedKeys{set: set, at: now}
	s.mu.Unlock()
	return set, nil
}

// ClusterIDFromIssuer recognizes Ward's own issuer URLs (exactly, with the
// trailing slash, as a federated credential must name them).
func (s *Service) ClusterIDFromIssuer(issuer string) (string, bool) {
	prefix := s.publicURL + "/oidc/" + s.tenantID + "/"
	rest, ok := strings.CutPrefix(issuer, prefix)
	if !ok || !strings.HasSuffix(rest, "/") {
		return "", false
	}
	id := strings.TrimSuffix(rest, "/")
	_, err := uuid.Parse(id)
	return id, err == nil && !strings.Contains(id, "/")
}

// TokenRequest asks for a service-account token.
type TokenRequest struct {
	Namespace, ServiceAccount, Audience string
	Duration                            time.Duration
}

// ServiceAccountToken mints a token shaped exactly like kube-apiserver's
// projected service-account token, signed with the cluster's issuer key.
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
	if req.Namespace == "" || req.ServiceAccount == "" {
		return "", time.Time{}, invalid("namespace and serviceAccount are required.")
	}
	if req.Audience == "" {
		req.Audience = "api://AzureADTokenExchange"
	}
	if req.Duration <= 0 {
		req.Duration = time.Hour
	}
	if req.Duration < 10*time.Minute || req.Duration > 48*time.Hour {
		return "", time.Time{}, invalid("The token duration must be between 10m and 48h, as kube-apiserver's expirationSeconds.")
	}
	m, err := s.issuer(ctx, c.ID)
	if err != nil {
		return "", time.Time{}, err
	}
	key := m.Signing()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: key.Alg, Key: jose.JSONWebKey{Key: key.Private, KeyID: key.ID}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	exp := now.Add(req.Duration)
	saUID := uuid.NewHash(sha1.New(), uuid.NameSpaceURL, []byte(c.ID+"/"+req.Namespace+"/"+req.ServiceAccount), 5).String()
	claims := struct {
		jwt.Claims
		Kubernetes map[string]any `json:"kubernetes.io"`
	}{
		Claims: jwt.Claims{Issuer: s.IssuerURL(c.ID), Subject: "system:serviceaccount:" + req.Namespace + ":" + req.ServiceAccount,
			Audience: jwt.Audience{req.Audience}, IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp)},
		Kubernetes: map[string]any{"namespace": req.Namespace, "serviceaccount": map[string]string{"name": req.ServiceAccount, "uid": saUID}},
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	return tok, exp, err
}

// KubeKeys validates uploaded public keys and gives each the kid
// kube-apiserver gives it: base64url(SHA-256(DER of the PKIX public key)),
// so tokens from a real apiserver find their key.
func KubeKeys(in jose.JSONWebKeySet) (jose.JSONWebKeySet, error) {
	if len(in.Keys) == 0 || len(in.Keys) > 10 {
		return jose.JSONWebKeySet{}, invalid("Give 1 to 10 service-account public keys.")
	}
	out := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(in.Keys))}
	for i, k := range in.Keys {
		pub := k.Public()
		if !pub.Valid() || !pub.IsPublic() {
			return jose.JSONWebKeySet{}, invalid("Service-account key %d is not a valid public key.", i)
		}
		alg := "RS256"
		switch pub.Key.(type) {
		case *rsa.PublicKey:
		case *ecdsa.PublicKey:
			alg = "ES256"
		default:
			return jose.JSONWebKeySet{}, invalid("Service-account key %d must be RSA or ECDSA.", i)
		}
		der, err := x509.MarshalPKIXPublicKey(pub.Key)
		if err != nil {
			return jose.JSONWebKeySet{}, invalid("Service-account key %d: %v", i, err)
		}
		sum := sha256.Sum256(der)
		out.Keys = append(out.Keys, jose.JSONWebKey{Key: pub.Key, KeyID: base64.RawURLEncoding.EncodeToString(sum[:]), Algorithm: alg, Use: "sig"})
	}
	return out, nil
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
	m, err := s.issuer(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	k := m.Signing()
	priv, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(k.Private.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), nil
}

// KeyID returns the kid of a cluster's current Ward-managed issuer key.
func (s *Service) KeyID(ctx context.Context, clusterID string) (string, error) {
	m, err := s.issuer(ctx, clusterID)
	if err != nil {
		return "", err
	}
	return m.Signing().ID, nil
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
	m, err := s.issuer(ctx, c.ID)
	if err != nil {
		return "", err
	}
	k, err := m.Rotate(ctx)
	return k.ID, err
}
