package storage

import (
	"context"
	"encoding/json"
	"time"
)

// PolicyDefinition is a custom Azure Policy definition, stored at a
// subscription (built-in definitions live in package policy, not here).
// Properties is ARM's properties object as the PUT sent it, after package
// policy checked it: the store keeps it as JSON text.
type PolicyDefinition struct {
	Scope      string // /subscriptions/{id}
	Name       string
	Properties json.RawMessage
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PolicyAssignment assigns a definition at a scope ("/", a subscription,
// a resource group or a resource). Properties is ARM's properties object
// (policyDefinitionId, parameters, notScopes, enforcementMode, ...) as
// JSON text.
type PolicyAssignment struct {
	Scope      string
	Name       string
	Location   string
	Properties json.RawMessage
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PolicyStore stores custom policy definitions and policy assignments.
// Names are compared without regard to case within their scope. Both
// tables join the change feed ("policy_definitions",
// "policy_assignments"), so every replica's policy view follows them.
type PolicyStore interface {
	// PutPolicyDefinition creates or replaces a definition; created
	// reports which. On replace the creation time and creator stay.
	PutPolicyDefinition(ctx context.Context, d PolicyDefinition) (created bool, err error)
	GetPolicyDefinition(ctx context.Context, scope, name string) (PolicyDefinition, error)
	// ListPolicyDefinitions lists one page of a scope's definitions, or
	// every scope's when scope is "", by scope then name.
	ListPolicyDefinitions(ctx context.Context, scope string, p Page) (items []PolicyDefinition, next string, err error)
	DeletePolicyDefinition(ctx context.Context, scope, name string) error

	// PutPolicyAssignment creates or replaces an assignment; created
	// reports which. On replace the creation time and creator stay.
	PutPolicyAssignment(ctx context.Context, a PolicyAssignment) (created bool, err error)
	GetPolicyAssignment(ctx context.Context, scope, name string) (PolicyAssignment, error)
	// ListPolicyAssignments lists one page of every assignment, by scope
	// then name (the policy view loads them all, with All).
	ListPolicyAssignments(ctx context.Context, p Page) (items []PolicyAssignment, next string, err error)
	DeletePolicyAssignment(ctx context.Context, scope, name string) error
}
