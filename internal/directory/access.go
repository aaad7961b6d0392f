package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// Directory actions. Entra gates its objects with directory roles; Ward
// expresses the same permissions as RBAC actions so that one engine, one
// set of role assignments and one `ward role assignment` vocabulary covers
// both planes. Directory actions are checked at "/" for the tenant-wide
// operations and at a principal's own scope (ObjectScope) for operations on
// one principal, so a role assigned at "/" covers every principal and one
// assigned at a principal's scope covers that principal only.
const (
	ActionRead              = "Microsoft.Directory/servicePrincipals/read"
	ActionCreate            = "Microsoft.Directory/servicePrincipals/create"
	ActionUpdate            = "Microsoft.Directory/servicePrincipals/update"
	ActionDelete            = "Microsoft.Directory/servicePrincipals/delete"
	ActionCredentialsUpdate = "Microsoft.Directory/servicePrincipals/credentials/update"
	ActionAuditLogsRead     = "Microsoft.Directory/auditLogs/read"
	// ActionAssignRoles is what a caller needs, at every scope where a
	// principal holds a role, to change that principal's credentials or to
	// delete it: without it, adding a secret to a more privileged principal
	// would be a way to acquire its roles.
	ActionAssignRoles = "Microsoft.Authorization/roleAssignments/write"
)

// ObjectScope is the RBAC scope of one service principal.
func ObjectScope(objectID string) string {
	return "/providers/Microsoft.Directory/servicePrincipals/" + strings.ToLower(objectID)
}

// Access is what the directory needs of RBAC.
type Access interface {
	// Allowed answers whether principal may perform action at scope.
	Allowed(principalID, action, scope string) bool
	// AssignmentsOf lists a principal's role assignments.
	AssignmentsOf(ctx context.Context, principalID string) ([]storage.RoleAssignment, error)
	// GrantOwner makes principalID an owner of the service principal at scope.
	GrantOwner(ctx context.Context, scope, ownerID string) error
	// ForgetPrincipal removes a deleted principal's role assignments and
	// those at its scope.
	ForgetPrincipal(ctx context.Context, principalID, scope string) error
}

// Caller is who asks.
type Caller struct {
	ObjectID string
	AppID    string
}

// DeniedError is a refused directory operation; Message says which action
// at which scope would allow it.
type DeniedError struct{ Message string }

func (e *DeniedError) Error() string { return e.Message }

func denied(c Caller, action, scope, extra string) error {
	return &DeniedError{fmt.Sprintf("Insufficient privileges to complete the operation. The client '%s' with object id '%s' needs '%s' at scope '%s' (Application Administrator at '/', or owner of the service principal)%s.",
		c.AppID, c.ObjectID, action, scope, extra)}
}

// Policy authorizes directory operations with RBAC.
type Policy struct {
	Access Access
}

// Tenant checks a tenant-wide action (create, audit logs) at "/".
func (p Policy) Tenant(c Caller, action string) error {
	if p.Access.Allowed(c.ObjectID, action, "/") {
		return nil
	}
	return denied(c, action, "/", "")
}

// CanReadAll reports whether the caller may read every principal.
func (p Policy) CanReadAll(c Caller) bool { return p.Access.Allowed(c.ObjectID, ActionRead, "/") }

// Read checks reading one principal: a principal may always read itself,
// and a managed identity's principal is readable by whoever may read its
// resource (an Owner of the identity's group resolves it for a role
// assignment, as in Azure, where any member reads the directory).
func (p Policy) Read(c Caller, target ServicePrincipal) error {
	if strings.EqualFold(c.ObjectID, target.ObjectID) || p.Access.Allowed(c.ObjectID, ActionRead, ObjectScope(target.ObjectID)) {
		return nil
	}
	if id := target.ManagedResourceID; id != "" {
		if action, ok := readAction(id); ok && p.Access.Allowed(c.ObjectID, action, id) {
			return nil
		}
	}
	return denied(c, ActionRead, ObjectScope(target.ObjectID), "")
}

// Change checks action (update, delete, credentials/update) on one
// principal: the action at the principal's scope, and for credentials and
// deletion also the right to assign every role the principal holds
// (Takeover).
func (p Policy) Change(ctx context.Context, c Caller, target ServicePrincipal, action string) error {
	scope := ObjectScope(target.ObjectID)
	if !p.Access.Allowed(c.ObjectID, action, scope) {
		return denied(c, action, scope, "")
	}
	if action == ActionUpdate {
		return nil
	}
	return p.Takeover(ctx, c, target)
}

// Takeover checks that c may assign every role target holds, which
// changing its credentials or deleting it needs on top of the action: no
// caller can take over a principal more privileged than itself.
func (p Policy) Takeover(ctx context.Context, c Caller, target ServicePrincipal) error {
	held, err := p.Access.AssignmentsOf(ctx, target.ObjectID)
	if err != nil {
		return err
	}
	for _, a := range held {
		if !p.Access.Allowed(c.ObjectID, ActionAssignRoles, a.Scope) {
			return &DeniedError{fmt.Sprintf("Insufficient privileges to complete the operation. Service principal '%s' holds role assignment '%s' at scope '%s'; changing its credentials or deleting it needs '%s' at that scope as well, which the client '%s' with object id '%s' does not have.",
				target.AppID, a.ID, a.Scope, ActionAssignRoles, c.AppID, c.ObjectID)}
		}
	}
	return nil
}

// readAction is the RBAC action that reads the resource id names, e.g.
// Microsoft.HybridCompute/machines/read.
func readAction(id string) (string, bool) {
	rid, err := resourceid.Parse(id)
	if err != nil || rid.Provider == "" || len(rid.Types) == 0 || rid.Collection != "" {
		return "", false
	}
	parts := []string{rid.Provider}
	for _, t := range rid.Types {
		parts = append(parts, t.Type)
	}
	return strings.Join(parts, "/") + "/read", true
}

// IsDenied reports whether err is a refusal.
func IsDenied(err error) bool {
	var d *DeniedError
	return errors.As(err, &d)
}
