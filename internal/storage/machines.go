package storage

import (
	"context"
	"time"
)

// Machine is a connected machine (Microsoft.HybridCompute/machines): a
// server outside any cloud whose `ward agent` serves its managed
// identities. The machines package owns its rules; the store keeps Spec as
// JSON text in one column.
type Machine struct {
	ID             string // GUID, stable for the machine's life (its agent's issuer and subject)
	SubscriptionID string
	ResourceGroup  string
	Name           string
	Location       string
	Tags           map[string]string
	Spec           MachineSpec
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// MachineSpec is a machine's identities and its agent's credential.
type MachineSpec struct {
	IdentityType      string   `json:"identityType"`
	SystemPrincipalID string   `json:"systemPrincipalId,omitempty"`
	SystemAppID       string   `json:"systemAppId,omitempty"`
	UserAssigned      []string `json:"userAssigned,omitempty"` // identity resource IDs
	// Bindings records, by lower-cased resource ID, the principal each
	// user-assigned identity had when it was attached (see Binding).
	Bindings map[string]Binding `json:"userAssignedBindings,omitempty"`
	// JoinTokenHash is the hex SHA-256 of the pending join token's secret;
	// "" once used or when none was issued.
	JoinTokenHash    string    `json:"joinTokenHash,omitempty"`
	JoinTokenExpires time.Time `json:"joinTokenExpires,omitzero"`
	// AgentCertificate is the DER of the self-signed certificate the agent
	// registered at join; AgentThumbprint its base64url SHA-256.
	AgentCertificate []byte    `json:"agentCertificate,omitempty"`
	AgentThumbprint  string    `json:"agentThumbprint,omitempty"`
	JoinedAt         time.Time `json:"joinedAt,omitzero"`
}

// HasSystem reports whether the machine has a system-assigned identity.
func (sp MachineSpec) HasSystem() bool { return sp.SystemPrincipalID != "" }

// Joined reports whether an agent holds the machine's credential.
func (sp MachineSpec) Joined() bool { return len(sp.AgentCertificate) > 0 }

// MachineRef names a machine; comparisons are case-insensitive.
type MachineRef struct {
	SubscriptionID, ResourceGroup, Name string
}

// Ref returns the machine's reference.
func (m Machine) Ref() MachineRef { return MachineRef{m.SubscriptionID, m.ResourceGroup, m.Name} }

// MachineStore stores connected machines.
type MachineStore interface {
	// CreateMachine stores a new machine; ErrAlreadyExists if the name is
	// taken in its group, ErrParentNotFound if the group is missing.
	CreateMachine(ctx context.Context, m Machine) error
	// UpdateMachine applies fn to the stored machine inside a transaction
	// (join tokens are single use because of it). Location, tags, spec and
	// the update time are written; ID, name and creation time stay.
	UpdateMachine(ctx context.Context, ref MachineRef, fn func(old Machine) (Machine, error)) (Machine, error)
	GetMachine(ctx context.Context, ref MachineRef) (Machine, error)
	GetMachineByID(ctx context.Context, id string) (Machine, error)
	// ListMachines lists one page of a group's machines, or a
	// subscription's when rg is "".
	ListMachines(ctx context.Context, sub, rg string, p Page) (items []Machine, next string, err error)
	DeleteMachine(ctx context.Context, ref MachineRef) error
}
