// Package authz applies Azure RBAC in Ward: it keeps the rbac engine's
// index current with stored role definitions and assignments, checks ARM
// rules for assignments, and answers authorization questions. It knows
// nothing of HTTP.
//
// After start-up the index changes one way only: by the change feed
// (ReloadAssignment, ReloadRole, Reload), as on every other replica. A
// write here goes to storage and then catches up (Config.CatchUp, the feed
// follower's catch-up), so the change is applied to this replica's index
// by that same path before the write returns and the next decision sees
// it. If it cannot be applied, the index is stale and every decision is a
// denial until the follower has caught up: a revoked grant must not keep
// working meanwhile.
package authz

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// Service is RBAC over storage.
type Service struct {
	store   storage.Storage
	engine  *rbac.Engine
	now     func() time.Time
	catchUp func(ctx context.Context) error
	// stale is set when a change could not be applied to the index, and
	// cleared once the follower has caught up (Synced) or Reload ran.
	stale atomic.Bool
}

// Config configures a Service.
type Config struct {
	Store storage.Storage
	Now   func() time.Time // default time.Now
	// CatchUp applies this replica's own writes to its views: the change
	// feed follower's CatchUp. Without it the Service refuses writes.
	CatchUp func(ctx context.Context) error
}

// errStale is why every decision is a denial while the index is stale.
var errStale = errors.New("this replica's authorization index is catching up with the database; retry in a moment")

// errNoCatchUp refuses a write a Service cannot apply to its index.
var errNoCatchUp = errors.New("authz: a write needs Config.CatchUp (the change feed's catch-up) to reach the index")

// applied makes a committed write of this Service's take effect on the
// index through the change feed; on failure the index is stale until the
// follower catches up.
func (s *Service) applied(ctx context.Context) error {
	if s.catchUp == nil {
		return errNoCatchUp
	}
	if err := s.catchUp(context.WithoutCancel(ctx)); err != nil {
		s.stale.Store(true)
		return fmt.Errorf("the change is stored, but this replica could not apply it yet (it will when the change feed catches up): %w", err)
	}
	return nil
}

// Stale marks the index as behind the database: every decision is a
// denial until Synced or Reload. The server calls it when a request's own
// writes could not be applied to this replica's views.
func (s *Service) Stale() { s.stale.Store(true) }

// Synced clears Stale: the follower has applied every change up to now.
func (s *Service) Synced() { s.stale.Store(false) }

// New loads custom roles and every assignment into a fresh index.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{store: cfg.Store, engine: rbac.New(), now: cfg.Now, catchUp: cfg.CatchUp}
	custom, err := s.customRoles(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range custom {
		s.engine.PutRole(r)
	}
	all, err := s.assignments(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		_ = s.engine.Put(rbac.Assignment{ID: a.ID, Scope: a.Scope, PrincipalID: a.PrincipalID, RoleID: a.RoleDefinitionID})
	}
	return s, nil
}

// assignments reads every stored role assignment, page by page.
func (s *Service) assignments(ctx context.Context) ([]storage.RoleAssignment, error) {
	return storage.All(func(p storage.Page) ([]storage.RoleAssignment, string, error) {
		return s.store.ListRoleAssignments(ctx, p)
	})
}

// Decide returns the decision on principal performing action (a data
// action when data) at scope, with the assignment that allowed it, for
// callers that report more than yes or no (checkAccess, the console's "can
// X do Y?"); to decide only, use Allowed or AllowedData.
func (s *Service) Decide(principalID, action, scope string, data bool) rbac.Decision {
	if s.stale.Load() {
		return rbac.Decision{}
	}
	return s.engine.Authorize(principalID, action, scope, data)
}

// Authorize implements the management API's authorizer.
func (s *Service) Authorize(_ context.Context, p authn.Principal, action, scope string) error {
	if s.stale.Load() {
		return errStale
	}
	if s.engine.Authorize(p.ObjectID, action, scope, false).Allowed {
		return nil
	}
	return errors.New("no role assignment grants it")
}

// customRoles reads the stored custom roles.
func (s *Service) customRoles(ctx context.Context) ([]rbac.RoleDefinition, error) {
	defs, err := storage.All(func(p storage.Page) ([]storage.RoleDefinition, string, error) {
		return s.store.ListRoleDefinitions(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	out := make([]rbac.RoleDefinition, 0, len(defs))
	for _, d := range defs {
		r, err := toRole(d)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func toRole(d storage.RoleDefinition) (rbac.RoleDefinition, error) {
	r := rbac.RoleDefinition{ID: d.ID, Name: d.Name, Type: rbac.CustomRole, Description: d.Description, AssignableScopes: d.AssignableScopes}
	r.Permissions = make([]rbac.Permission, len(d.Permissions))
	for i, p := range d.Permissions {
		r.Permissions[i] = rbac.Permission(p)
	}
	return r, nil
}

func invalid(code, format string, args ...any) *armerr.Error {
	return armerr.BadRequest(code, format, args...)
}

func notFound(code, format string, args ...any) *armerr.Error {
	return armerr.NotFound(code, format, args...)
}

func conflict(code, format string, args ...any) *armerr.Error {
	return armerr.Conflict(code, format, args...)
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ---- role definitions ----

// Roles returns built-in and custom roles, optionally by exact name
// (case-insensitive) or type.
func (s *Service) Roles(ctx context.Context, name, typ string) ([]rbac.RoleDefinition, error) {
	custom, err := s.customRoles(ctx)
	if err != nil {
		return nil, err
	}
	all := append(rbac.BuiltInRoles(), custom...)
	out := []rbac.RoleDefinition{}
	for _, r := range all {
		if (name == "" || strings.EqualFold(r.Name, name)) && (typ == "" || strings.EqualFold(r.Type, typ)) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Role returns one role by GUID or by a role definition resource ID.
func (s *Service) Role(ctx context.Context, id string) (rbac.RoleDefinition, error) {
	guid := RoleGUID(id)
	for _, r := range rbac.BuiltInRoles() {
		if strings.EqualFold(r.ID, guid) {
			return r, nil
		}
	}
	d, err := s.store.GetRoleDefinition(ctx, guid)
	if errors.Is(err, storage.ErrNotFound) {
		return rbac.RoleDefinition{}, notFound("RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", guid)
	}
	if err != nil {
		return rbac.RoleDefinition{}, err
	}
	return toRole(d)
}

// RoleAt returns one role as addressed through the URL scope urlScope: a
// custom role only at a scope it is related to (see relatedScope), the one
// rule GET, PUT and DELETE share; a built-in role (assignable at "/")
// everywhere.
func (s *Service) RoleAt(ctx context.Context, urlScope, id string) (rbac.RoleDefinition, error) {
	r, err := s.Role(ctx, id)
	if err != nil {
		return r, err
	}
	if r.Type != rbac.BuiltInRole && !relatedScope(urlScope, r.AssignableScopes) {
		return rbac.RoleDefinition{}, notFound("RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist at scope '%s': it is assignable at %s.",
			RoleGUID(id), urlScope, strings.Join(r.AssignableScopes, ", "))
	}
	return r, nil
}

// relatedScope answers whether a custom role with the given assignable
// scopes may be addressed through urlScope: the role is available there
// (an assignable scope covers it) or defined below it (it covers an
// assignable scope, as az addresses roles at the subscription). Roles are
// tenant-wide objects; the URL scope is where the caller looks from, so a
// role widened through one scope stays reachable through it.
func relatedScope(urlScope string, scopes []string) bool {
	for _, sc := range scopes {
		if Covers([]string{urlScope}, sc) || Covers([]string{sc}, urlScope) {
			return true
		}
	}
	return false
}

// RoleGUID takes the GUID off a role definition resource ID.
func RoleGUID(id string) string {
	return id[strings.LastIndex(id, "/")+1:]
}

// Role definition actions.
const (
	ActionRoleDefinitionWrite  = "Microsoft.Authorization/roleDefinitions/write"
	ActionRoleDefinitionDelete = "Microsoft.Authorization/roleDefinitions/delete"
)

func forbidden(format string, args ...any) *armerr.Error {
	return armerr.AuthorizationFailed(format, args...)
}

// checkRoleScopes applies ARM's rules for changing a custom role through
// the URL scope urlScope: the URL scope is related to the role (one of its
// assignable scopes, a parent or a child of one: relatedScope, which GET
// applies too), before or after the change; the caller holds action at
// every assignable scope (before and after the change); the root scope "/"
// only for an Owner at "/".
func (s *Service) checkRoleScopes(ctx context.Context, caller, urlScope, action string, scopes ...[]string) error {
	var all []string
	for _, l := range scopes {
		all = append(all, l...)
	}
	if !relatedScope(urlScope, all) {
		return invalid("InvalidRoleDefinitionScope", "The scope '%s' of the request is not one of the role's assignable scopes (%s), a parent or a child of one; address the role at one of them.",
			urlScope, strings.Join(all, ", "))
	}
	for _, sc := range all {
		if rbac.NormalizeScope(canonicalScope(sc)) == "/" {
			if _, err := s.store.FindRoleAssignment(ctx, "/", caller, rbac.OwnerID); err != nil {
				return forbidden("The client with object id '%s' may not use '/' as an assignable scope of a custom role: only an Owner at '/' may.", caller)
			}
			continue
		}
		if !s.engine.Authorize(caller, action, sc, false).Allowed {
			return forbidden("The client with object id '%s' does not have authorization to perform action '%s' over scope '%s', one of the role's assignable scopes; changing a custom role needs it at every assignable scope, old and new.",
				caller, action, sc)
		}
	}
	return nil
}

// PutCustomRoleAs creates or replaces a custom role on behalf of caller,
// addressed through urlScope; see checkRoleScopes. A change that would
// leave an existing assignment of the role outside its assignable scopes is
// refused. The stored role is read, checked and replaced in one storage
// transaction, so a concurrent change cannot slip between check and write.
func (s *Service) PutCustomRoleAs(ctx context.Context, caller, urlScope string, r rbac.RoleDefinition) (rbac.RoleDefinition, bool, error) {
	for _, b := range rbac.BuiltInRoles() {
		if strings.EqualFold(b.ID, RoleGUID(r.ID)) {
			return r, false, invalid("RoleDefinitionUpdateNotPermitted", "Built-in role '%s' cannot be changed.", b.Name)
		}
	}
	if len(r.AssignableScopes) == 0 {
		return r, false, invalid("InvalidRoleDefinition", "A custom role needs at least one assignable scope.")
	}
	for _, sc := range r.AssignableScopes {
		if _, err := resourceid.Parse(sc); err != nil {
			return r, false, invalid("InvalidAssignableScope", "The assignable scope '%s' is not a valid Azure scope: %v.", sc, err)
		}
	}
	return s.putCustomRole(ctx, r, func(old []string) error {
		if err := s.checkRoleScopes(ctx, caller, urlScope, ActionRoleDefinitionWrite, old, r.AssignableScopes); err != nil {
			return err
		}
		if old == nil {
			return nil
		}
		all, err := s.assignments(ctx)
		if err != nil {
			return err
		}
		for _, a := range all {
			if strings.EqualFold(a.RoleDefinitionID, r.ID) && !Covers(r.AssignableScopes, a.Scope) {
				return conflict("RoleDefinitionHasAssignments", "Role assignment '%s' uses this role at scope '%s', which the new assignable scopes do not cover; delete it first or keep a scope that covers it.", a.ID, a.Scope)
			}
		}
		return nil
	})
}

// DeleteCustomRoleAs deletes a custom role on behalf of caller: it needs
// roleDefinitions/delete at every assignable scope, and no assignment may
// use the role.
func (s *Service) DeleteCustomRoleAs(ctx context.Context, caller, urlScope, id string) (rbac.RoleDefinition, bool, error) {
	r, err := s.Role(ctx, id)
	if armerr.IsNotFound(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	if r.Type == rbac.BuiltInRole {
		return r, false, invalid("RoleDefinitionUpdateNotPermitted", "Built-in role '%s' cannot be deleted.", r.Name)
	}
	if err := s.checkRoleScopes(ctx, caller, urlScope, ActionRoleDefinitionDelete, r.AssignableScopes); err != nil {
		return r, false, err
	}
	return s.DeleteCustomRole(ctx, id)
}

// putCustomRole creates or replaces a custom role after check has approved
// the change against the stored role's assignable scopes (nil when the
// role is new); a replacement is checked and written in one transaction.
func (s *Service) putCustomRole(ctx context.Context, r rbac.RoleDefinition, check func(old []string) error) (rbac.RoleDefinition, bool, error) {
	perms := make([]storage.RolePermission, len(r.Permissions))
	for i, p := range r.Permissions {
		perms[i] = storage.RolePermission(p)
	}
	now := s.now().UTC()
	d := storage.RoleDefinition{ID: strings.ToLower(r.ID), Name: r.Name, Description: r.Description,
		AssignableScopes: r.AssignableScopes, Permissions: perms, CreatedAt: now, UpdatedAt: now}
	// A role created by another writer between the update (not found) and
	// the create (already exists) is updated, with its check, on the next
	// round.
	for attempt := 0; attempt < 2; attempt++ {
		_, err := s.store.UpdateRoleDefinition(ctx, d.ID, func(old storage.RoleDefinition) (storage.RoleDefinition, error) {
			if err := check(old.AssignableScopes); err != nil {
				return old, err
			}
			if err := s.validateCustomRole(r); err != nil {
				return old, err
			}
			d.CreatedAt = old.CreatedAt
			return d, nil
		})
		if err == nil {
			return customRole(r), false, s.applied(ctx)
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return r, false, err
		}
		if err := check(nil); err != nil {
			return r, false, err
		}
		if err := s.validateCustomRole(r); err != nil {
			return r, false, err
		}
		err = s.store.CreateRoleDefinition(ctx, d)
		if err == nil {
			return customRole(r), true, s.applied(ctx)
		}
		if !errors.Is(err, storage.ErrAlreadyExists) {
			return r, false, err
		}
	}
	return r, false, fmt.Errorf("custom role %s: %w", r.ID, storage.ErrConflict)
}

// customRole is r as stored: a custom role.
func customRole(r rbac.RoleDefinition) rbac.RoleDefinition {
	r.Type = rbac.CustomRole
	return r
}

// validateCustomRole applies ARM's rules for a custom role's own fields.
func (s *Service) validateCustomRole(r rbac.RoleDefinition) error {
	if !guidRE.MatchString(r.ID) {
		return invalid("InvalidRoleDefinitionId", "The role definition ID '%s' is not a valid GUID.", r.ID)
	}
	for _, b := range rbac.BuiltInRoles() {
		if strings.EqualFold(b.ID, r.ID) {
			return invalid("RoleDefinitionUpdateNotPermitted", "Built-in role '%s' cannot be changed.", b.Name)
		}
		if strings.EqualFold(b.Name, r.Name) {
			return conflict("RoleDefinitionWithSameNameExists", "A role definition named '%s' already exists.", r.Name)
		}
	}
	if strings.TrimSpace(r.Name) == "" || len(r.Permissions) == 0 {
		return invalid("InvalidRoleDefinition", "A custom role needs a roleName and at least one permissions block.")
	}
	if len(r.AssignableScopes) == 0 {
		return invalid("InvalidRoleDefinition", "A custom role needs at least one assignable scope.")
	}
	return nil
}

// DeleteCustomRole deletes a custom role that no assignment uses.
func (s *Service) DeleteCustomRole(ctx context.Context, id string) (rbac.RoleDefinition, bool, error) {
	r, err := s.Role(ctx, id)
	if armerr.IsNotFound(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	if r.Type == rbac.BuiltInRole {
		return r, false, invalid("RoleDefinitionUpdateNotPermitted", "Built-in role '%s' cannot be deleted.", r.Name)
	}
	all, err := s.assignments(ctx)
	if err != nil {
		return r, false, err
	}
	for _, a := range all {
		if strings.EqualFold(a.RoleDefinitionID, r.ID) {
			return r, false, conflict("RoleDefinitionHasAssignments", "Role '%s' is used by role assignment '%s'; delete the assignments first.", r.Name, a.ID)
		}
	}
	if err := s.store.DeleteRoleDefinition(ctx, r.ID); err != nil {
		return r, false, err
	}
	return r, true, s.applied(ctx)
}

// ---- role assignments ----

// AssignmentSpec is the writable part of a role assignment.
type AssignmentSpec struct {
	RoleDefinitionID string // resource ID or GUID
	PrincipalID      string
	PrincipalType    string
	Description      string
}

// CreateAssignment creates a role assignment named name (a GUID) at scope.
// A PUT with the same values is answered as an update (200).
func (s *Service) CreateAssignment(ctx context.Context, scope, name string, spec AssignmentSpec, createdBy string) (storage.RoleAssignment, bool, error) {
	if !guidRE.MatchString(name) {
		return storage.RoleAssignment{}, false, invalid("InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name)
	}
	if !guidRE.MatchString(spec.PrincipalID) {
		return storage.RoleAssignment{}, false, invalid("InvalidPrincipalId", "The principal ID '%s' is not a valid GUID.", spec.PrincipalID)
	}
	role, err := s.Role(ctx, spec.RoleDefinitionID)
	if err != nil {
		return storage.RoleAssignment{}, false, err
	}
	if err := s.checkScope(ctx, scope); err != nil {
		return storage.RoleAssignment{}, false, err
	}
	if !Covers(role.AssignableScopes, scope) {
		return storage.RoleAssignment{}, false, invalid("InvalidRoleAssignmentScope", "The role definition '%s' (%s) is not assignable at scope '%s'; its assignable scopes are %s.",
			role.Name, role.ID, scope, strings.Join(role.AssignableScopes, ", "))
	}
	ptype, err := s.principalType(ctx, spec.PrincipalID, spec.PrincipalType)
	if err != nil {
		return storage.RoleAssignment{}, false, err
	}
	if old, err := s.store.GetRoleAssignment(ctx, name); err == nil {
		if rbac.NormalizeScope(old.Scope) == rbac.NormalizeScope(scope) && strings.EqualFold(old.PrincipalID, spec.PrincipalID) && strings.EqualFold(old.RoleDefinitionID, role.ID) {
			return old, false, nil
		}
		return old, false, conflict("RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
	}
	if old, err := s.store.FindRoleAssignment(ctx, scope, spec.PrincipalID, role.ID); err == nil {
		return old, false, conflict("RoleAssignmentExists", "The role assignment already exists. The ID of the existing role assignment is %s.", strings.ReplaceAll(old.ID, "-", ""))
	}
	now := s.now().UTC()
	a := storage.RoleAssignment{ID: strings.ToLower(name), Scope: canonicalScope(scope), PrincipalID: strings.ToLower(spec.PrincipalID),
		PrincipalType: ptype, RoleDefinitionID: strings.ToLower(role.ID), Description: spec.Description, CreatedBy: createdBy, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateRoleAssignment(ctx, a); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return a, false, conflict("RoleAssignmentExists", "The role assignment already exists.")
		}
		return a, false, err
	}
	return a, true, s.applied(ctx)
}

// EnsureAssignment gives principal role at scope unless it has it (bootstrap).
func (s *Service) EnsureAssignment(ctx context.Context, scope, principalID, roleID, principalType string) error {
	if _, err := s.store.FindRoleAssignment(ctx, scope, principalID, roleID); err == nil {
		return nil
	}
	_, _, err := s.CreateAssignment(ctx, scope, uuid.NewString(), AssignmentSpec{RoleDefinitionID: roleID, PrincipalID: principalID, PrincipalType: principalType}, "ward-bootstrap")
	if err != nil {
		// Another replica may have created it at the same moment.
		if _, ferr := s.store.FindRoleAssignment(ctx, scope, principalID, roleID); ferr == nil {
			return s.applied(ctx)
		}
	}
	return err
}

func canonicalScope(scope string) string {
	scope = strings.TrimRight(scope, "/")
	if scope == "" {
		return "/"
	}
	if !strings.HasPrefix(scope, "/") {
		scope = "/" + scope
	}
	return scope
}

// checkScope requires the subscription and group of a scope to exist, and
// the identity when the scope is one; other resource types are not hosted
// by Ward and are accepted as given.
func (s *Service) checkScope(ctx context.Context, scope string) error {
	id, err := resourceid.Parse(scope)
	if err != nil {
		return invalid("InvalidScope", "The scope '%s' is not a valid Azure scope: %v.", scope, err)
	}
	if id.Subscription == "" {
		return nil
	}
	if _, err := s.store.GetSubscription(ctx, id.Subscription); err != nil {
		return notFound("SubscriptionNotFound", "The subscription '%s' could not be found.", id.Subscription)
	}
	if id.ResourceGroup == "" {
		return nil
	}
	if _, err := s.store.GetResourceGroup(ctx, id.Subscription, id.ResourceGroup); err != nil {
		return notFound("ResourceGroupNotFound", "Resource group '%s' could not be found.", id.ResourceGroup)
	}
	if len(id.Types) > 0 && strings.EqualFold(id.Provider, "Microsoft.ManagedIdentity") {
		if _, err := s.store.GetIdentity(ctx, storage.IdentityRef{SubscriptionID: id.Subscription, ResourceGroup: id.ResourceGroup, Name: id.Types[0].Name}); err != nil {
			return notFound("ResourceNotFound", "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/%s' under resource group '%s' was not found.", id.Types[0].Name, id.ResourceGroup)
		}
	}
	return nil
}

// principalType finds the principal (a service principal or a managed
// identity) and returns its type.
func (s *Service) principalType(ctx context.Context, principalID, given string) (string, error) {
	// Every principal in Ward's directory is a service principal (a
	// managed identity's too). A request that declares another type is
	// refused, as ARM refuses one that does not match, rather than stored
	// as something else than was declared (a Terraform plan would then
	// show a change forever).
	found := false
	if _, err := s.store.GetServicePrincipal(ctx, principalID); err == nil {
		found = true
	} else if _, err := s.store.GetIdentityByPrincipalID(ctx, principalID); err == nil {
		found = true
	}
	if found && given != "" && !strings.EqualFold(given, "ServicePrincipal") {
		return "", invalid("UnmatchedPrincipalType", "The PrincipalId '%s' has type 'ServicePrincipal', which is different from specified PrincipalType '%s'.",
			strings.ReplaceAll(principalID, "-", ""), given)
	}
	if found {
		return "ServicePrincipal", nil
	}
	return "", invalid("PrincipalNotFound", "Principal %s does not exist in the directory %s. Check that you have the correct principal ID: for a managed identity, its principalId (object ID), not its clientId.",
		strings.ReplaceAll(principalID, "-", ""), "")
}

// Assignment reads the assignment named id at scope. An assignment is
// addressed at its own scope only: through any other scope it does not
// exist (404 RoleAssignmentNotFound), as in ARM, so a caller authorized at
// one scope cannot read or delete assignments made elsewhere.
func (s *Service) Assignment(ctx context.Context, scope, id string) (storage.RoleAssignment, error) {
	a, err := s.store.GetRoleAssignment(ctx, id)
	if err == nil && rbac.NormalizeScope(a.Scope) != rbac.NormalizeScope(canonicalScope(scope)) {
		err = storage.ErrNotFound
	}
	if errors.Is(err, storage.ErrNotFound) {
		return storage.RoleAssignment{}, notFound("RoleAssignmentNotFound", "The role assignment '%s' is not found.", id)
	}
	return a, err
}

// DeleteAssignmentAt deletes the assignment named id at scope. An ID that
// exists nowhere is ARM's 204 (false, nil); one that lives at another scope
// is 404 RoleAssignmentNotFound through this scope, and stays.
func (s *Service) DeleteAssignmentAt(ctx context.Context, scope, id string) (storage.RoleAssignment, bool, error) {
	if _, err := s.Assignment(ctx, scope, id); err != nil {
		if armerr.IsNotFound(err) {
			if _, gerr := s.store.GetRoleAssignment(ctx, id); errors.Is(gerr, storage.ErrNotFound) {
				return storage.RoleAssignment{}, false, nil
			}
		}
		return storage.RoleAssignment{}, false, err
	}
	return s.DeleteAssignment(ctx, id)
}

// DeleteAssignment deletes an assignment wherever it is; the index forgets
// it before DeleteAssignment returns. Requests go through
// DeleteAssignmentAt.
func (s *Service) DeleteAssignment(ctx context.Context, id string) (storage.RoleAssignment, bool, error) {
	a, found, err := s.deleteStored(ctx, id)
	if err != nil || !found {
		return a, found, err
	}
	return a, true, s.applied(ctx)
}

// deleteStored deletes an assignment from storage only; the caller
// applies the change to the index (applied), once for a batch.
func (s *Service) deleteStored(ctx context.Context, id string) (storage.RoleAssignment, bool, error) {
	a, err := s.store.GetRoleAssignment(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return a, false, nil
	}
	if err != nil {
		return a, false, err
	}
	if err := s.store.DeleteRoleAssignment(ctx, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return a, false, err
	}
	return a, true, nil
}

// Filter narrows ListAssignments, as ARM's $filter does.
type Filter struct {
	AtScope     bool   // atScope(): at the scope or above it
	PrincipalID string // principalId eq / assignedTo
}

var (
	principalFilterRE  = regexp.MustCompile(`(?i)^principalId\s+eq\s+'([^']+)'$`)
	assignedToFilterRE = regexp.MustCompile(`(?i)^assignedTo\('([^']+)'\)$`)
)

// ParseFilter reads atScope(), principalId eq '...', assignedTo('...') and
// their conjunction with "and".
func ParseFilter(f string) (Filter, error) {
	var out Filter
	f = strings.TrimSpace(f)
	if f == "" {
		return out, nil
	}
	for _, part := range regexp.MustCompile(`(?i)\s+and\s+`).Split(f, -1) {
		part = strings.TrimSpace(part)
		switch {
		case strings.EqualFold(part, "atScope()"):
			out.AtScope = true
		case principalFilterRE.MatchString(part):
			out.PrincipalID = principalFilterRE.FindStringSubmatch(part)[1]
		case assignedToFilterRE.MatchString(part):
			out.PrincipalID = assignedToFilterRE.FindStringSubmatch(part)[1]
		default:
			return out, invalid("InvalidFilterInQueryString", "The filter '%s' is not supported. Supported filters are atScope(), principalId eq '{id}', assignedTo('{id}') and their combination with 'and'.", f)
		}
	}
	return out, nil
}

// ListAssignments lists assignments that apply at scope: at it or above it,
// and (without atScope()) below it too, as ARM does.
func (s *Service) ListAssignments(ctx context.Context, scope string, f Filter) ([]storage.RoleAssignment, error) {
	return s.assignmentsWhere(ctx, func(a storage.RoleAssignment) bool {
		above := Covers([]string{a.Scope}, scope)
		below := Covers([]string{scope}, a.Scope)
		return (above || (!f.AtScope && below)) && (f.PrincipalID == "" || strings.EqualFold(a.PrincipalID, f.PrincipalID))
	})
}

// DeletePrincipalAssignments removes every assignment of a principal (a
// deleted system-assigned identity takes its role assignments with it).
func (s *Service) DeletePrincipalAssignments(ctx context.Context, principalID string) error {
	return s.deleteWhere(ctx, func(a storage.RoleAssignment) bool { return strings.EqualFold(a.PrincipalID, principalID) })
}

// assignmentsWhere lists the stored assignments that match keep.
func (s *Service) assignmentsWhere(ctx context.Context, keep func(storage.RoleAssignment) bool) ([]storage.RoleAssignment, error) {
	all, err := s.assignments(ctx)
	if err != nil {
		return nil, err
	}
	out := []storage.RoleAssignment{}
	for _, a := range all {
		if keep(a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// deleteWhere deletes every assignment that matches drop.
func (s *Service) deleteWhere(ctx context.Context, drop func(storage.RoleAssignment) bool) error {
	doomed, err := s.assignmentsWhere(ctx, drop)
	if err != nil {
		return err
	}
	deleted := 0
	for _, a := range doomed {
		if _, _, err = s.deleteStored(ctx, a.ID); err != nil {
			break
		}
		deleted++
	}
	// What was deleted is revoked on this replica now, even when a later
	// delete failed.
	if deleted > 0 {
		err = errors.Join(err, s.applied(ctx))
	}
	return err
}

// Covers reports whether scope is one of scopes or below one of them.
func Covers(scopes []string, scope string) bool {
	want := rbac.NormalizeScope(canonicalScope(scope))
	for _, a := range scopes {
		as := rbac.NormalizeScope(canonicalScope(a))
		if as == "/" || as == want || strings.HasPrefix(want, as+"/") {
			return true
		}
	}
	return false
}

// ---- what the directory needs (directory.Access) ----

// Allowed answers whether principal may perform action at scope.
func (s *Service) Allowed(principalID, action, scope string) bool {
	return s.Decide(principalID, action, scope, false).Allowed
}

// AllowedData answers whether principal may perform the data action (a
// role's dataActions, e.g. Microsoft.KeyVault/vaults/secrets/getSecret/action)
// at scope. Data planes (the vault) ask here, so ARM and every data plane
// share one index, kept current by the change feed (ReloadAssignment,
// ReloadRole).
func (s *Service) AllowedData(principalID, dataAction, scope string) bool {
	return s.Decide(principalID, dataAction, scope, true).Allowed
}

// AssignmentsOf lists a principal's role assignments.
func (s *Service) AssignmentsOf(ctx context.Context, principalID string) ([]storage.RoleAssignment, error) {
	return s.assignmentsWhere(ctx, func(a storage.RoleAssignment) bool { return strings.EqualFold(a.PrincipalID, principalID) })
}

// PrincipalAssignments lists a principal's role assignments by point reads
// of the IDs the index holds for it, not a scan of every assignment (the
// console's graph reads one page of identities at a time). The index
// follows the change feed, so an assignment made a moment ago on another
// replica may be missing until it arrives, as it is from every decision;
// one deleted since it was indexed is left out.
func (s *Service) PrincipalAssignments(ctx context.Context, principalID string) ([]storage.RoleAssignment, error) {
	ids := s.engine.AssignmentIDsOf(principalID)
	out := make([]storage.RoleAssignment, 0, len(ids))
	for _, id := range ids {
		a, err := s.store.GetRoleAssignment(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read role assignment %s: %w", id, err)
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// GrantOwner assigns Application Owner at a service principal's scope.
func (s *Service) GrantOwner(ctx context.Context, scope, ownerID string) error {
	return s.EnsureAssignment(ctx, scope, ownerID, rbac.ApplicationOwnerID, "ServicePrincipal")
}

// ForgetPrincipal removes a deleted principal's assignments and every
// assignment at its scope (its owners').
func (s *Service) ForgetPrincipal(ctx context.Context, principalID, scope string) error {
	want := rbac.NormalizeScope(scope)
	return s.deleteWhere(ctx, func(a storage.RoleAssignment) bool {
		return strings.EqualFold(a.PrincipalID, principalID) || rbac.NormalizeScope(a.Scope) == want
	})
}

// ---- following the database (changefeed handlers) ----

// ReloadAssignment makes the index agree with the database about one
// assignment: indexed when stored, forgotten when not.
func (s *Service) ReloadAssignment(ctx context.Context, id string) error {
	a, err := s.store.GetRoleAssignment(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		s.engine.Delete(id)
		return nil
	}
	if err != nil {
		return err
	}
	return s.engine.Put(rbac.Assignment{ID: a.ID, Scope: a.Scope, PrincipalID: a.PrincipalID, RoleID: a.RoleDefinitionID})
}

// ReloadRole reloads one custom role definition. A deleted role needs no
// action: no assignment can use it.
func (s *Service) ReloadRole(ctx context.Context, id string) error {
	d, err := s.store.GetRoleDefinition(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r, err := toRole(d)
	if err != nil {
		return err
	}
	s.engine.PutRole(r)
	return nil
}

// Reload makes the whole index agree with the database.
func (s *Service) Reload(ctx context.Context) error {
	custom, err := s.customRoles(ctx)
	if err != nil {
		return err
	}
	for _, r := range custom {
		s.engine.PutRole(r)
	}
	all, err := s.assignments(ctx)
	if err != nil {
		return err
	}
	stored := make(map[string]bool, len(all))
	for _, a := range all {
		stored[strings.ToLower(a.ID)] = true
		if err := s.engine.Put(rbac.Assignment{ID: a.ID, Scope: a.Scope, PrincipalID: a.PrincipalID, RoleID: a.RoleDefinitionID}); err != nil {
			return err
		}
	}
	for _, id := range s.engine.IDs() {
		if !stored[id] {
			s.engine.Delete(id)
		}
	}
	s.Synced()
	return nil
}

// Consistent is the cheap check that the index holds as many assignments
// as the database.
func (s *Service) Consistent(ctx context.Context) (bool, error) {
	n, err := s.store.CountRoleAssignments(ctx)
	if err != nil {
		return false, err
	}
	return n == s.engine.Len(), nil
}
