// Package machines holds Ward's connected machines
// (Microsoft.HybridCompute/machines, the resource Azure Arc gives servers
// outside Azure): their system-assigned identity (a service principal
// created and deleted with the machine), the user-assigned identities
// attached to them, the one-time join token and the public key of the
// machine's `ward agent`, and the attestation by which an agent proves which
// machine or cluster node pool it serves. It knows nothing of HTTP.
package machines

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/agentproto"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/directory"
	"github.com/ward-id/ward/internal/issuer"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
)

// Type is the ARM type of a machine.
const Type = resourceid.TypeMachine

// Identity types, spelled as ARM spells them.
const (
	TypeNone                   = "None"
	TypeSystemAssigned         = "SystemAssigned"
	TypeUserAssigned           = "UserAssigned"
	TypeSystemAndUserAssigned  = "SystemAssigned, UserAssigned"
	maxUserAssignedIdentities  = 100
	defaultJoinTokenLifetime   = time.Hour
	maxJoinTokenLifetime       = 24 * time.Hour
	joinTokenSecretBytes       = 32
	maxAgentCertificateDERSize = 8 << 10
)

// Spec is a machine's settings (storage keeps them).
type Spec = storage.MachineSpec

// Machine is a stored machine.
type Machine struct {
	storage.Machine
}

// ResourceID is the machine's ARM resource ID.
func (m Machine) ResourceID() string { return ResourceID(m.SubscriptionID, m.ResourceGroup, m.Name) }

// ResourceID is the ARM resource ID of a machine.
func ResourceID(sub, rg, name string) string {
	return resourceid.ResourceID(sub, rg, Type, name)
}

// JoinToken is a one-time join token, shown once.
type JoinToken struct {
	Token     string
	ExpiresOn time.Time
}

// IdentityRequest is the identity block of a PUT or PATCH, as ARM's:
// Type, and the user-assigned identities by resource ID (true attaches,
// false, as ARM's null, detaches in a PATCH).
type IdentityRequest struct {
	Type         string
	UserAssigned map[string]bool
}

// Request is what a PUT asks for.
type Request struct {
	Location string
	Tags     map[string]string
	// Identity replaces the machine's identities; nil keeps them (and a new
	// machine gets a system-assigned identity, as Arc machines have).
	Identity *IdentityRequest
	// CanUse checks that the caller may attach the user-assigned identity
	// with this resource ID (ARM's linked authorization, assign/action). It
	// runs before the identity is looked up and only for identities the
	// request newly attaches. nil allows every identity.
	CanUse func(ctx context.Context, identityID string) error
}

// Patch is what a PATCH asks for: nil fields stay.
type Patch struct {
	Tags     map[string]string
	Identity *IdentityRequest
	CanUse   func(ctx context.Context, identityID string) error
}

// Service manages machines.
type Service struct {
	store     storage.Storage
	groups    *resources.Service
	msi       *msi.Service
	dir       *directory.Service
	clusters  *clusters.Service
	issuers   *issuer.Service
	tenantID  string
	publicURL string
	now       func() time.Time
	// principalDeleted is called when a system-assigned identity goes.
	principalDeleted func(ctx context.Context, principalID string) error
}

// Config configures a Service.
type Config struct {
	Store storage.Storage
	// Groups holds the subscriptions and resource groups machines live in.
	Groups     *resources.Service
	Identities *msi.Service
	Directory  *directory.Service
	// Clusters and Issuers resolve node attestations (a cluster's node
	// pool, its hosted issuer's keys); nil refuses them.
	Clusters  *clusters.Service
	Issuers   *issuer.Service
	TenantID  string
	PublicURL string // no trailing slash: assertions' audience derives from it
	Now       func() time.Time
	// PrincipalDeleted is called when a system-assigned identity goes, so
	// its role assignments go too.
	PrincipalDeleted func(ctx context.Context, principalID string) error
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: cfg.Store, groups: cfg.Groups, msi: cfg.Identities, dir: cfg.Directory, clusters: cfg.Clusters, issuers: cfg.Issuers, tenantID: strings.ToLower(cfg.TenantID),
		publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), now: cfg.Now, principalDeleted: cfg.PrincipalDeleted}
}

// Arc machine names: 1-54 letters, digits, '-', '_' or '.', not ending in '.'.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,52}[a-zA-Z0-9_-]$|^[a-zA-Z0-9_]$`)

func invalid(format string, args ...any) *armerr.Error {
	return armerr.BadRequest(armerr.CodeBadRequest, format, args...)
}

func notFound(ref storage.MachineRef) *armerr.Error {
	return armerr.NotFound(armerr.CodeResourceNotFound,
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", Type, ref.Name, ref.ResourceGroup)
}

// Get reads a machine.
func (s *Service) Get(ctx context.Context, ref storage.MachineRef) (Machine, error) {
	// The machine first: the store keeps a machine only inside its group
	// (a group's delete cascades to it), so a hit needs no other read. Only
	// a miss reads the group and subscription, to say which is missing.
	// One query instead of three.
	m, err := s.store.GetMachine(ctx, ref)
	switch {
	case err == nil:
		return Machine{m}, nil
	case !errors.Is(err, storage.ErrNotFound):
		return Machine{}, err
	}
	if _, err := s.groups.Group(ctx, ref.SubscriptionID, ref.ResourceGroup); err != nil {
		return Machine{}, err
	}
	return Machine{}, notFound(ref)
}

// List lists the machines of a group, or of a subscription when rg is "".
func (s *Service) List(ctx context.Context, sub, rg string) ([]Machine, error) {
	if rg != "" {
		if _, err := s.groups.Group(ctx, sub, rg); err != nil {
			return nil, err
		}
	} else if _, err := s.groups.Subscription(ctx, sub); err != nil {
		return nil, err
	}
	all, err := storage.All(func(p storage.Page) ([]storage.Machine, string, error) {
		return s.store.ListMachines(ctx, sub, rg, p)
	})
	if err != nil {
		return nil, err
	}
	out := make([]Machine, 0, len(all))
	for _, m := range all {
		out = append(out, Machine{m})
	}
	return out, nil
}

// identityType normalizes an ARM identity type.
func identityType(t string) (system, user bool, err error) {
	switch strings.ToLower(strings.ReplaceAll(t, " ", "")) {
	case "none":
		return false, false, nil
	case "systemassigned":
		return true, false, nil
	case "userassigned":
		return false, true, nil
	case "systemassigned,userassigned":
		return true, true, nil
	}
	return false, false, invalid("The identity type '%s' is not supported: use SystemAssigned, UserAssigned, 'SystemAssigned, UserAssigned' or None.", t)
}

func typeName(system, user bool) string {
	switch {
	case system && user:
		return TypeSystemAndUserAssigned
	case system:
		return TypeSystemAssigned
	case user:
		return TypeUserAssigned
	}
	return TypeNone
}

// resolveUserAssigned checks and canonicalizes the user-assigned identities
// a request asks for and returns each one's binding. An identity the
// machine has (old), still the identity it was attached as, keeps its
// binding; any other, new to the machine or re-created under its name
// since it was attached, needs CanUse (checked before the lookup, so that a
// caller without the right learns nothing of it) and is bound to the
// principal it has now: re-attaching is how a re-created identity is
// served again. kept are identities of old a PATCH leaves as they are.
func (s *Service) resolveUserAssigned(ctx context.Context, ids, kept []string, old storage.Machine, canUse func(context.Context, string) error) ([]string, map[string]storage.Binding, error) {
	if len(ids)+len(kept) > maxUserAssignedIdentities {
		return nil, nil, invalid("A machine can have at most %d user-assigned identities.", maxUserAssignedIdentities)
	}
	var out []string
	var bindings map[string]storage.Binding
	for _, id := range kept {
		out = append(out, id)
		if b, ok := storage.BindingOf(old.Spec.Bindings, id); ok {
			bindings = storage.Bind(bindings, id, *b)
		}
	}
	for _, id := range ids {
		canon, b, err := s.attach(ctx, old, id, canUse)
		if err != nil {
			return nil, nil, err
		}
		if !slices.ContainsFunc(out, func(a string) bool { return strings.EqualFold(a, canon) }) {
			out = append(out, canon)
			bindings = storage.Bind(bindings, canon, b)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out, bindings, nil
}

func (s *Service) attach(ctx context.Context, old storage.Machine, id string, canUse func(context.Context, string) error) (string, storage.Binding, error) {
	if slices.ContainsFunc(old.Spec.UserAssigned, func(a string) bool { return strings.EqualFold(a, id) }) {
		if a := s.attachment(ctx, old, id); a.Served() {
			return msi.Canonical(a.Identity), a.Binding, nil
		}
	}
	if canUse != nil {
		if err := canUse(ctx, id); err != nil {
			return "", storage.Binding{}, err
		}
	}
	got, err := s.ResolveIdentity(ctx, id)
	if err != nil {
		return "", storage.Binding{}, err
	}
	return msi.Canonical(got), msi.BindingFor(got), nil
}

// attachment checks one of m's user-assigned identities: served only while
// the identity under its name is the one attached (msi.CheckAttachment).
func (s *Service) attachment(ctx context.Context, m storage.Machine, rid string) msi.Attachment {
	rec, _ := storage.BindingOf(m.Spec.Bindings, rid)
	return s.msi.CheckAttachment(ctx, s.tenantID, rid, rec, m.CreatedAt)
}

// Attachments checks each user-assigned identity of m, for its ARM view.
func (s *Service) Attachments(ctx context.Context, m Machine) []msi.Attachment {
	out := make([]msi.Attachment, 0, len(m.Spec.UserAssigned))
	for _, rid := range m.Spec.UserAssigned {
		out = append(out, s.attachment(ctx, m.Machine, rid))
	}
	return out
}

// ResolveIdentity resolves a user-assigned identity by resource ID.
func (s *Service) ResolveIdentity(ctx context.Context, id string) (storage.Identity, error) {
	p, err := resourceid.Parse(id)
	if err != nil || !p.TypeMatches("Microsoft.ManagedIdentity/userAssignedIdentities") || p.ResourceGroup == "" || len(p.Types) != 1 {
		return storage.Identity{}, invalid("'%s' is not a user-assigned identity resource ID (/subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/…).", id)
	}
	got, err := s.msi.Identity(ctx, storage.IdentityRef{SubscriptionID: p.Subscription, ResourceGroup: p.ResourceGroup, Name: p.Types[0].Name})
	if err != nil {
		return got, invalid("The user-assigned identity '%s' does not exist.", id)
	}
	if !strings.EqualFold(got.TenantID, s.tenantID) {
		return got, invalid("The user-assigned identity '%s' belongs to another tenant.", id)
	}
	return got, nil
}

// applyIdentity turns an identity request into the spec's identity fields,
// creating the system-assigned identity when it is asked for and missing.
// It returns the principal of a system identity to drop after the write.
func (s *Service) applyIdentity(ctx context.Context, ref storage.MachineRef, sp *Spec, system bool, user []string, bindings map[string]storage.Binding) (drop string, err error) {
	if system && !sp.HasSystem() {
		p, err := s.dir.CreateManaged(ctx, ref.Name, ResourceID(ref.SubscriptionID, ref.ResourceGroup, ref.Name))
		if err != nil {
			return "", err
		}
		sp.SystemPrincipalID, sp.SystemAppID = p.ObjectID, p.AppID
	}
	if !system && sp.HasSystem() {
		drop = sp.SystemPrincipalID
		sp.SystemPrincipalID, sp.SystemAppID = "", ""
	}
	sp.UserAssigned, sp.Bindings = user, bindings
	sp.IdentityType = typeName(system, len(user) > 0)
	return drop, nil
}

// Put creates or replaces a machine. A new machine gets a join token,
// returned once.
func (s *Service) Put(ctx context.Context, ref storage.MachineRef, req Request) (Machine, bool, *JoinToken, error) {
	if !nameRE.MatchString(ref.Name) {
		return Machine{}, false, nil, armerr.BadRequest(armerr.CodeInvalidResourceName,
			"The machine name '%s' is invalid: 1-54 letters, digits, '-', '_' or '.', not ending with '.'.", ref.Name)
	}
	if err := resources.ValidateTags(req.Tags); err != nil {
		return Machine{}, false, nil, err
	}
	rg, err := s.groups.Group(ctx, ref.SubscriptionID, ref.ResourceGroup)
	if err != nil {
		return Machine{}, false, nil, err
	}
	old, err := s.Get(ctx, ref)
	if armerr.IsNotFound(err) {
		return s.create(ctx, ref, rg, req)
	}
	if err != nil {
		return Machine{}, false, nil, err
	}
	if l := resources.NormalizeLocation(req.Location); l != "" && l != old.Location {
		return Machine{}, false, nil, invalid("Changing property 'location' is not allowed.")
	}
	m, err := s.update(ctx, ref, old, req.Tags, req.Identity, true, req.CanUse)
	return m, false, nil, err
}

func (s *Service) create(ctx context.Context, ref storage.MachineRef, rg storage.ResourceGroup, req Request) (Machine, bool, *JoinToken, error) {
	loc := resources.NormalizeLocation(req.Location)
	if loc == "" {
		loc = rg.Location
	}
	system, user := true, []string(nil)
	var bindings map[string]storage.Binding
	if req.Identity != nil {
		var err error
		var wantUser bool
		if system, wantUser, err = identityType(req.Identity.Type); err != nil {
			return Machine{}, false, nil, err
		}
		ids := requested(req.Identity.UserAssigned)
		if wantUser != (len(ids) > 0) {
			return Machine{}, false, nil, invalid("The identity type '%s' and the %d user-assigned identities given do not agree.", req.Identity.Type, len(ids))
		}
		if user, bindings, err = s.resolveUserAssigned(ctx, ids, nil, storage.Machine{}, req.CanUse); err != nil {
			return Machine{}, false, nil, err
		}
	}
	now := s.now().UTC()
	m := Machine{Machine: storage.Machine{ID: uuid.NewString(), SubscriptionID: ref.SubscriptionID, ResourceGroup: rg.Name, Name: ref.Name,
		Location: loc, Tags: req.Tags, CreatedAt: now, UpdatedAt: now}}
	if m.Tags == nil {
		m.Tags = map[string]string{}
	}
	if _, err := s.applyIdentity(ctx, storage.MachineRef{SubscriptionID: ref.SubscriptionID, ResourceGroup: rg.Name, Name: ref.Name}, &m.Spec, system, user, bindings); err != nil {
		return Machine{}, false, nil, err
	}
	jt := s.newJoinToken(m.ID, &m.Spec, 0)
	if err := s.store.CreateMachine(ctx, m.Machine); err != nil {
		if m.Spec.HasSystem() {
			_ = s.dir.DeleteSystemPrincipal(context.WithoutCancel(ctx), m.Spec.SystemPrincipalID, nil)
		}
		if errors.Is(err, storage.ErrAlreadyExists) {
			return Machine{}, false, nil, armerr.Conflict(armerr.CodeConflict, "The machine '%s' was created concurrently; retry.", ref.Name)
		}
		return Machine{}, false, nil, err
	}
	got, err := s.Get(ctx, ref)
	return got, true, &jt, err
}

// requested lists the identities a request attaches.
func requested(m map[string]bool) []string {
	var out []string
	for id, on := range m {
		if on {
			out = append(out, id)
		}
	}
	return out
}

// update applies tags and an identity change to a stored machine. replace
// is PUT (the identity block is the whole truth); otherwise PATCH (the
// user-assigned map adds and removes).
func (s *Service) update(ctx context.Context, ref storage.MachineRef, old Machine, tags map[string]string, idr *IdentityRequest, replace bool,
	canUse func(context.Context, string) error) (Machine, error) {
	sp := old.Spec
	var drop string
	if idr != nil {
		system, wantUser, err := identityType(idr.Type)
		if idr.Type == "" {
			system, wantUser, err = sp.HasSystem(), true, nil
		}
		if err != nil {
			return Machine{}, err
		}
		ids := requested(idr.UserAssigned)
		// A PATCH keeps the identities it does not name as they are,
		// binding included: it neither re-attaches nor re-checks them.
		var kept []string
		if !replace {
			for _, a := range sp.UserAssigned {
				named := false
				for id := range idr.UserAssigned {
					named = named || strings.EqualFold(id, a)
				}
				if !named {
					kept = append(kept, a)
				}
			}
		}
		if !wantUser {
			if len(requested(idr.UserAssigned)) > 0 {
				return Machine{}, invalid("The identity type '%s' does not allow user-assigned identities.", idr.Type)
			}
			ids, kept = nil, nil
		} else if len(ids)+len(kept) == 0 && idr.Type != "" {
			return Machine{}, invalid("The identity type '%s' needs at least one user-assigned identity.", idr.Type)
		}
		user, bindings, err := s.resolveUserAssigned(ctx, ids, kept, old.Machine, canUse)
		if err != nil {
			return Machine{}, err
		}
		if drop, err = s.applyIdentity(ctx, storage.MachineRef{SubscriptionID: old.SubscriptionID, ResourceGroup: old.ResourceGroup, Name: old.Name}, &sp, system, user, bindings); err != nil {
			return Machine{}, err
		}
	}
	created := sp.SystemPrincipalID != "" && sp.SystemPrincipalID != old.Spec.SystemPrincipalID
	m, err := s.store.UpdateMachine(ctx, ref, func(cur storage.Machine) (storage.Machine, error) {
		if cur.Spec.SystemPrincipalID != old.Spec.SystemPrincipalID || !slices.Equal(cur.Spec.UserAssigned, old.Spec.UserAssigned) ||
			!maps.Equal(cur.Spec.Bindings, old.Spec.Bindings) {
			return cur, armerr.Conflict(armerr.CodeConflict, "The identities of machine '%s' changed concurrently; retry.", ref.Name)
		}
		// The agent's credential and join token may have changed since the
		// read above; keep them as stored.
		next := &cur.Spec
		next.IdentityType, next.SystemPrincipalID, next.SystemAppID, next.UserAssigned = sp.IdentityType, sp.SystemPrincipalID, sp.SystemAppID, sp.UserAssigned
		next.Bindings = sp.Bindings
		if tags != nil {
			cur.Tags = tags
		}
		cur.UpdatedAt = s.now().UTC()
		return cur, nil
	})
	if err != nil {
		if created {
			_ = s.dir.DeleteSystemPrincipal(context.WithoutCancel(ctx), sp.SystemPrincipalID, nil)
		}
		if errors.Is(err, storage.ErrNotFound) {
			return Machine{}, notFound(ref)
		}
		return Machine{}, err
	}
	if drop != "" {
		if err := s.dropSystemIdentity(ctx, drop); err != nil {
			return Machine{}, err
		}
	}
	return Machine{m}, nil
}

// Patch updates tags and identities, as ARM's PATCH: a user-assigned
// identity mapped to false (null on the wire) is detached.
func (s *Service) Patch(ctx context.Context, ref storage.MachineRef, p Patch) (Machine, error) {
	if p.Tags != nil {
		if err := resources.ValidateTags(p.Tags); err != nil {
			return Machine{}, err
		}
	}
	old, err := s.Get(ctx, ref)
	if err != nil {
		return Machine{}, err
	}
	return s.update(ctx, ref, old, p.Tags, p.Identity, false, p.CanUse)
}

func (s *Service) dropSystemIdentity(ctx context.Context, principalID string) error {
	return s.dir.DeleteSystemPrincipal(ctx, principalID, s.principalDeleted)
}

// Delete deletes a machine with its system-assigned identity and that
// identity's role assignments; the agent's next request is refused.
// User-assigned identities survive.
func (s *Service) Delete(ctx context.Context, ref storage.MachineRef) (bool, error) {
	m, err := s.Get(ctx, ref)
	if armerr.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := s.store.DeleteMachine(ctx, ref); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	if m.Spec.HasSystem() {
		if err := s.dropSystemIdentity(ctx, m.Spec.SystemPrincipalID); err != nil {
			return false, err
		}
	}
	return true, nil
}

// newJoinToken puts a fresh join token's hash in sp and returns the token.
func (s *Service) newJoinToken(machineID string, sp *Spec, lifetime time.Duration) JoinToken {
	if lifetime <= 0 {
		lifetime = defaultJoinTokenLifetime
	}
	b := make([]byte, joinTokenSecretBytes)
	_, _ = rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	exp := s.now().UTC().Add(lifetime).Truncate(time.Second)
	sp.JoinTokenHash, sp.JoinTokenExpires = hex.EncodeToString(sum[:]), exp
	return JoinToken{Token: agentproto.JoinTokenPrefix + strings.ToLower(machineID) + "." + secret, ExpiresOn: exp}
}

// ResetCredential revokes the machine's agent credential (its agent is
// refused from its next request) and issues a new join token.
func (s *Service) ResetCredential(ctx context.Context, ref storage.MachineRef, lifetime time.Duration) (JoinToken, error) {
	if lifetime < 0 || lifetime > maxJoinTokenLifetime {
		return JoinToken{}, invalid("The join token lifetime must be between 1 second and %s.", maxJoinTokenLifetime)
	}
	if _, err := s.Get(ctx, ref); err != nil {
		return JoinToken{}, err
	}
	var jt JoinToken
	_, err := s.store.UpdateMachine(ctx, ref, func(cur storage.Machine) (storage.Machine, error) {
		cur.Spec.AgentCertificate, cur.Spec.AgentThumbprint, cur.Spec.JoinedAt = nil, "", time.Time{}
		jt = s.newJoinToken(cur.ID, &cur.Spec, lifetime)
		cur.UpdatedAt = s.now().UTC()
		return cur, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return JoinToken{}, notFound(ref)
	}
	return jt, err
}

// JoinError says why a join was refused. Reason is safe to show the
// caller: it never says whether a machine exists.
type JoinError struct{ Reason string }

func (e *JoinError) Error() string { return "join refused: " + e.Reason }

// Join registers an agent's certificate with a join token, once: the token
// is consumed in the same transaction that stores the certificate.
func (s *Service) Join(ctx context.Context, token string, certDER []byte) (Machine, error) {
	rest, ok := strings.CutPrefix(token, agentproto.JoinTokenPrefix)
	id, secret, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || uuid.Validate(id) != nil || secret == "" || len(token) > 256 {
		return Machine{}, &JoinError{"the join token is malformed; copy it exactly as 'ward connectedmachine create' or 'credential reset' printed it"}
	}
	if len(certDER) == 0 || len(certDER) > maxAgentCertificateDERSize {
		return Machine{}, &JoinError{"the certificate is missing or larger than 8 KiB"}
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return Machine{}, &JoinError{"the certificate is not a DER X.509 certificate: " + err.Error()}
	}
	if err := checkAgentKey(cert); err != nil {
		return Machine{}, err
	}
	refused := &JoinError{"the join token is not valid: it was already used, was replaced by 'credential reset', or its machine was deleted"}
	stored, err := s.store.GetMachineByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return Machine{}, refused
	}
	if err != nil {
		return Machine{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	want := hex.EncodeToString(sum[:])
	thumb := sha256.Sum256(certDER)
	now := s.now().UTC()
	updated, err := s.store.UpdateMachine(ctx, stored.Ref(), func(cur storage.Machine) (storage.Machine, error) {
		if cur.Spec.JoinTokenHash == "" || subtle.ConstantTimeCompare([]byte(cur.Spec.JoinTokenHash), []byte(want)) != 1 {
			return cur, refused
		}
		if now.After(cur.Spec.JoinTokenExpires) {
			return cur, &JoinError{fmt.Sprintf("the join token expired at %s; get a new one with 'ward connectedmachine credential reset'", cur.Spec.JoinTokenExpires.Format(time.RFC3339))}
		}
		cur.Spec.JoinTokenHash, cur.Spec.JoinTokenExpires = "", time.Time{}
		cur.Spec.AgentCertificate, cur.Spec.AgentThumbprint, cur.Spec.JoinedAt = certDER, base64.RawURLEncoding.EncodeToString(thumb[:]), now
		cur.UpdatedAt = now
		return cur, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return Machine{}, refused
	}
	if err != nil {
		return Machine{}, err
	}
	return Machine{updated}, nil
}

// checkAgentKey accepts the keys agents sign with: ECDSA P-256 or RSA of at
// least 2048 bits.
func checkAgentKey(cert *x509.Certificate) error {
	if bits, ok := rsaBits(cert); ecdsaP256(cert) || (ok && bits >= 2048) {
		return nil
	}
	return &JoinError{"the certificate's key must be ECDSA P-256 or RSA of 2048 bits or more"}
}
