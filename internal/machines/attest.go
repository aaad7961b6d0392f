package machines

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/agentproto"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/federation"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// assertionLeeway is the clock skew allowed on attestations' times.
const assertionLeeway = 30 * time.Second

// Algorithms an attestation may be signed with: the certificate-assertion
// algorithms of the token endpoint plus ES256 for agents' P-256 keys, and
// what kube-apiserver signs service-account tokens with.
var (
	machineAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256}
	nodeAlgorithms    = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}
)

// AttestationError says why an agent's attestation was refused; Reason is
// what the agent is told.
type AttestationError struct{ Reason string }

func (e *AttestationError) Error() string { return "attestation refused: " + e.Reason }

func refuse(format string, args ...any) error {
	return &AttestationError{Reason: fmt.Sprintf(format, args...)}
}

// Subject is what an attestation proved: one machine, or one node pool of
// one cluster.
type Subject struct {
	Machine *Machine          // a plain machine, or nil
	Cluster *clusters.Cluster // a cluster node pool, or nil
	Pool    string
}

// ResourceID is the resource the subject's system identity tokens name in
// xms_mirid (the machine), or the cluster.
func (s Subject) ResourceID() string {
	if s.Machine != nil {
		return s.Machine.ResourceID()
	}
	return resourceid.ClusterID(s.Cluster.SubscriptionID, s.Cluster.ResourceGroup, s.Cluster.Name)
}

// Attest verifies an agent's attestation: a machine's signed assertion or a
// node agent's service-account token. Anything else is refused with the
// reason.
func (s *Service) Attest(ctx context.Context, raw string) (Subject, error) {
	if raw == "" {
		return Subject{}, refuse("no attestation: send 'Authorization: Bearer <assertion>' signed with the machine's key (ward agent join), or the node agent's service-account token")
	}
	a, err := federation.Parse(raw, machineAlgorithms...)
	if err != nil {
		return Subject{}, refuse("the attestation is not a JWT Ward accepts: %v", err)
	}
	if s.clusters != nil && s.issuers != nil {
		if clusterID, ok := s.issuers.IDFromURL(a.Claims.Issuer); ok {
			return s.attestNode(ctx, raw, clusterID)
		}
	}
	if uuid.Validate(a.Claims.Issuer) != nil {
		return Subject{}, refuse("the issuer '%s' is neither a machine ID nor the issuer of a cluster Ward hosts", a.Claims.Issuer)
	}
	return s.attestMachine(ctx, a)
}

func (s *Service) attestMachine(ctx context.Context, a *federation.Assertion) (Subject, error) {
	id := a.Claims.Issuer
	if !strings.EqualFold(a.Claims.Subject, id) {
		return Subject{}, refuse("a machine assertion's iss and sub must both be the machine ID (got iss '%s', sub '%s')", id, a.Claims.Subject)
	}
	gone := refuse("machine '%s' does not exist or has no registered agent key: it was deleted, its credential was reset, or it never joined (ward agent join)", id)
	stored, err := s.store.GetMachineByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return Subject{}, gone
	}
	if err != nil {
		return Subject{}, err
	}
	m := Machine{stored}
	if !m.Spec.Joined() {
		return Subject{}, gone
	}
	// The certificate path of service principals' client assertions:
	// the header's thumbprint names the registered certificate.
	cert, err := a.CertificateFor([][]byte{m.Spec.AgentCertificate})
	if err != nil {
		return Subject{}, err
	}
	if cert == nil {
		thumb, _ := a.Header["x5t#S256"].(string)
		return Subject{}, refuse("the assertion names key '%s', which is not the key registered for machine '%s': the credential was reset; join again", thumb, id)
	}
	if err := a.Verify(cert.PublicKey); err != nil {
		return Subject{}, refuse("the assertion's signature does not verify with machine '%s''s registered key", id)
	}
	aud := agentproto.MachineAudience(s.publicURL)
	if !slices.ContainsFunc(a.Claims.Audience, func(v string) bool { return strings.EqualFold(strings.TrimSuffix(v, "/"), aud) }) {
		return Subject{}, refuse("the assertion's audience %v is not '%s'", []string(a.Claims.Audience), aud)
	}
	if err := a.CheckTime(s.now(), assertionLeeway, agentproto.MaxAssertionLifetime); err != nil {
		return Subject{}, refuse("%v Machine assertions may be valid for at most %s.", err, agentproto.MaxAssertionLifetime)
	}
	return Subject{Machine: &m}, nil
}

func (s *Service) attestNode(ctx context.Context, raw, clusterID string) (Subject, error) {
	a, err := federation.Parse(raw, nodeAlgorithms...)
	if err != nil {
		return Subject{}, refuse("the service-account token is not a JWT Ward accepts: %v", err)
	}
	pool, ok := agentproto.PoolFromSubject(a.Claims.Subject)
	if !ok {
		return Subject{}, refuse("the service-account token's subject '%s' is not a Ward agent's: node agents run as %s (pool %s) or %s-<pool>",
			a.Claims.Subject, agentproto.NodeSubject(agentproto.DefaultPool), agentproto.DefaultPool, agentproto.NodeSubject(agentproto.DefaultPool))
	}
	if !slices.Contains(a.Claims.Audience, agentproto.NodeAudience) {
		return Subject{}, refuse("the service-account token's audience %v does not include '%s': project the token with that audience", []string(a.Claims.Audience), agentproto.NodeAudience)
	}
	key, err := s.issuers.HostedKey(ctx, a.Claims.Issuer, a.KeyID)
	if err != nil {
		return Subject{}, refuse("the service-account token's key '%s' is not a key of cluster issuer '%s': %v", a.KeyID, a.Claims.Issuer, err)
	}
	if err := a.Verify(key); err != nil {
		return Subject{}, refuse("the service-account token's signature does not verify with its cluster's issuer key")
	}
	if err := a.CheckTime(s.now(), assertionLeeway, 0); err != nil {
		return Subject{}, refuse("%v", err)
	}
	stored, err := s.store.GetClusterByID(ctx, clusterID)
	if errors.Is(err, storage.ErrNotFound) {
		return Subject{}, refuse("cluster '%s' no longer exists", clusterID)
	}
	if err != nil {
		return Subject{}, err
	}
	c, err := s.clusters.Get(ctx, storage.ClusterRef{SubscriptionID: stored.SubscriptionID, ResourceGroup: stored.ResourceGroup, Name: stored.Name})
	if err != nil {
		return Subject{}, err
	}
	if _, ok := c.Spec.NodePool(pool); !ok {
		return Subject{}, refuse("cluster '%s' has no node pool '%s' (the pool %s attests)", c.Name, pool, a.Claims.Subject)
	}
	return Subject{Cluster: &c, Pool: pool}, nil
}

// Identities lists the managed identities a subject has now: a machine's
// system-assigned and attached user-assigned identities, or a node pool's
// kubelet identity and the pool's user-assigned identities. Identities
// deleted since they were attached are left out; identities re-created
// under an attached name since (another principal) are refused: listed in
// the second result with the reason, never served. Default is the system
// identity (machines), the kubelet identity (nodes), or the only
// user-assigned identity of a machine without a system identity.
func (s *Service) Identities(ctx context.Context, subj Subject) (served, refused []agentproto.Identity, err error) {
	var user []msi.Attachment
	add := func(kind string, a msi.Attachment, def bool) {
		switch {
		case a.Served():
			canon := msi.Canonical(a.Identity)
			if !slices.ContainsFunc(served, func(i agentproto.Identity) bool { return strings.EqualFold(i.ResourceID, canon) }) {
				served = append(served, agentproto.Identity{Kind: kind, ClientID: a.Identity.ClientID, ObjectID: a.Identity.PrincipalID, ResourceID: canon, Default: def})
			}
		case a.Found:
			// What the attachment recorded, so that a request naming the
			// identity by its old client or object ID learns why too.
			r := agentproto.Identity{Kind: kind, ClientID: a.Binding.ClientID, ObjectID: a.Binding.PrincipalID, ResourceID: a.ResourceID, Default: def, Reason: a.Problem}
			if r.ClientID == "" {
				r.ClientID, r.ObjectID = a.Identity.ClientID, a.Identity.PrincipalID
			}
			refused = append(refused, r)
		}
		// Deleted since attached: neither served nor worth a reason.
	}
	switch {
	case subj.Machine != nil:
		sp := subj.Machine.Spec
		if sp.HasSystem() {
			served = append(served, agentproto.Identity{Kind: "system", ClientID: sp.SystemAppID, ObjectID: sp.SystemPrincipalID, Default: true})
		}
		user = s.Attachments(ctx, *subj.Machine)
	case subj.Cluster != nil:
		if subj.Cluster.Spec.KubeletIdentity != "" {
			add("kubelet", s.clusters.Kubelet(ctx, *subj.Cluster), true)
		}
		p, _ := subj.Cluster.Spec.NodePool(subj.Pool)
		user = s.clusters.PoolIdentities(ctx, *subj.Cluster, p)
	}
	for _, a := range user {
		add("user", a, false)
	}
	// A machine without a system identity defaults to its only
	// user-assigned identity, served or refused: a refused one must not hand
	// requests without a selector to another identity.
	if subj.Machine != nil && !subj.Machine.Spec.HasSystem() && len(served)+len(refused) == 1 {
		if len(served) == 1 {
			served[0].Default = true
		} else {
			refused[0].Default = true
		}
	}
	return served, refused, nil
}

// State describes the subject for the agent: what it is and its identities.
func (s *Service) State(ctx context.Context, subj Subject) (agentproto.State, error) {
	ids, refused, err := s.Identities(ctx, subj)
	if err != nil {
		return agentproto.State{}, err
	}
	if ids == nil {
		ids = []agentproto.Identity{}
	}
	st := agentproto.State{ResourceID: subj.ResourceID(), Identities: ids, Refused: refused}
	switch {
	case subj.Machine != nil:
		m := subj.Machine
		st.Kind, st.Name, st.Location, st.SubscriptionID, st.ResourceGroup, st.Tags = "machine", m.Name, m.Location, m.SubscriptionID, m.ResourceGroup, m.Tags
	default:
		c := subj.Cluster
		st.Kind, st.Name, st.Location, st.SubscriptionID, st.ResourceGroup = "node", subj.Pool, c.Location, c.SubscriptionID, c.Spec.NodeResourceGroup
	}
	if st.Tags == nil {
		st.Tags = map[string]string{}
	}
	return st, nil
}

// rsaBits returns an RSA certificate key's size.
func rsaBits(cert *x509.Certificate) (int, bool) {
	k, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return 0, false
	}
	return k.N.BitLen(), true
}

// ecdsaP256 reports whether the certificate's key is ECDSA P-256.
func ecdsaP256(cert *x509.Certificate) bool {
	k, ok := cert.PublicKey.(*ecdsa.PublicKey)
	return ok && k.Curve == elliptic.P256()
}
