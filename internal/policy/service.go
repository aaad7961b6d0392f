package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// Service keeps the policy objects: built-in definitions, custom ones and
// assignments in storage, and the in-memory Set every write is evaluated
// against. Reload rebuilds the Set; the server calls it from the change
// feed, so an assignment made on one replica is enforced by every replica
// within the feed's delay.
type Service struct {
	store storage.PolicyStore
	now   func() time.Time

	mu  sync.RWMutex
	set *Set
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Store storage.PolicyStore
	Now   func() time.Time // default time.Now
}

// NewService loads the view from the store.
func NewService(ctx context.Context, cfg ServiceConfig) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{store: cfg.Store, now: cfg.Now}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload rebuilds the in-memory view from storage.
func (s *Service) Reload(ctx context.Context) error {
	defs, err := storage.All(func(p storage.Page) ([]storage.PolicyDefinition, string, error) {
		return s.store.ListPolicyDefinitions(ctx, "", p)
	})
	if err != nil {
		return fmt.Errorf("load policy definitions: %w", err)
	}
	rows, err := storage.All(func(p storage.Page) ([]storage.PolicyAssignment, string, error) {
		return s.store.ListPolicyAssignments(ctx, p)
	})
	if err != nil {
		return fmt.Errorf("load policy assignments: %w", err)
	}
	compiled := append([]*Definition{}, BuiltIns()...)
	for _, d := range defs {
		c, err := compileStored(d)
		if err != nil {
			continue // stored before a rule change: its assignments are reported broken
		}
		compiled = append(compiled, c)
	}
	var as []Assignment
	for _, row := range rows {
		a, err := assignmentOf(row)
		if err != nil {
			continue
		}
		as = append(as, a.Assignment())
	}
	set := NewSet(compiled, as)
	s.mu.Lock()
	s.set = set
	s.mu.Unlock()
	return nil
}

// Set is the current view.
func (s *Service) Set() *Set {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.set
}

// ErrNotFound and ErrInUse are what callers answer with 404 and 400.
var (
	ErrNotFound = errors.New("not found")
	ErrInUse    = errors.New("in use")
)

// CustomScope checks where a custom definition may live: a subscription.
func CustomScope(scope string) (string, error) {
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	if len(parts) != 2 || !strings.EqualFold(parts[0], "subscriptions") || parts[1] == "" {
		return "", invalid("InvalidPolicyDefinitionScope", "Custom policy definitions are stored at a subscription; '%s' is not one.", scope)
	}
	return "/subscriptions/" + parts[1], nil
}

// DefinitionID is the resource ID of a definition at scope ("/" for a
// built-in).
func DefinitionID(scope, name string) string {
	if scope == "/" || scope == "" {
		return BuiltInID(name)
	}
	return strings.TrimRight(scope, "/") + "/providers/Microsoft.Authorization/policyDefinitions/" + name
}

// AssignmentID is the resource ID of an assignment at scope.
func AssignmentID(scope, name string) string {
	return strings.TrimRight(scope, "/") + "/providers/Microsoft.Authorization/policyAssignments/" + name
}

// StoredDefinition is a definition as ARM answers it.
type StoredDefinition struct {
	*Definition
	CreatedBy            string
	CreatedAt, UpdatedAt time.Time
}

func compileStored(d storage.PolicyDefinition) (*Definition, error) {
	p, err := ParseProperties(d.Properties)
	if err != nil {
		return nil, err
	}
	return Compile(DefinitionID(d.Scope, d.Name), d.Name, p)
}

// PutDefinition checks and stores a custom definition at a subscription.
func (s *Service) PutDefinition(ctx context.Context, scope, name string, p Properties, by string) (StoredDefinition, bool, error) {
	scope, err := CustomScope(scope)
	if err != nil {
		return StoredDefinition{}, false, err
	}
	if err := checkName(name, "policy definition"); err != nil {
		return StoredDefinition{}, false, err
	}
	p.PolicyType = TypeCustom
	d, err := Compile(DefinitionID(scope, name), name, p)
	if err != nil {
		return StoredDefinition{}, false, err
	}
	raw, err := json.Marshal(d.Props)
	if err != nil {
		return StoredDefinition{}, false, err
	}
	return putAndRead(ctx, s, func(now time.Time) (bool, error) {
		return s.store.PutPolicyDefinition(ctx, storage.PolicyDefinition{Scope: scope, Name: name, Properties: raw, CreatedBy: by, CreatedAt: now, UpdatedAt: now})
	}, func() (StoredDefinition, error) { return s.Definition(ctx, scope, name) })
}

// putAndRead stores a row with put, given the time of the write, then
// reloads the engine so that the next request is judged by it, and reads
// the row back so that the answer is what the store holds.
func putAndRead[T any](ctx context.Context, s *Service, put func(now time.Time) (bool, error), read func() (T, error)) (T, bool, error) {
	var zero T
	created, err := put(s.now().UTC())
	if err != nil {
		return zero, false, err
	}
	if err := s.Reload(ctx); err != nil {
		return zero, false, err
	}
	got, err := read()
	return got, created, err
}

// Definition reads a definition: a built-in at "/", a custom one at a
// subscription.
func (s *Service) Definition(ctx context.Context, scope, name string) (StoredDefinition, error) {
	if scope == "/" || scope == "" {
		d, ok := BuiltIn(name)
		if !ok {
			return StoredDefinition{}, ErrNotFound
		}
		return StoredDefinition{Definition: d}, nil
	}
	scope, err := CustomScope(scope)
	if err != nil {
		return StoredDefinition{}, ErrNotFound
	}
	row, err := s.store.GetPolicyDefinition(ctx, scope, name)
	if errors.Is(err, storage.ErrNotFound) {
		return StoredDefinition{}, ErrNotFound
	}
	if err != nil {
		return StoredDefinition{}, err
	}
	d, err := compileStored(row)
	if err != nil {
		return StoredDefinition{}, err
	}
	return StoredDefinition{Definition: d, CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}, nil
}

// DefinitionByID reads a definition by its resource ID.
func (s *Service) DefinitionByID(ctx context.Context, id string) (StoredDefinition, error) {
	const seg = "/providers/microsoft.authorization/policydefinitions/"
	i := strings.LastIndex(strings.ToLower(id), seg)
	if i < 0 || strings.Contains(id[i+len(seg):], "/") || id[i+len(seg):] == "" {
		return StoredDefinition{}, ErrNotFound
	}
	scope := id[:i]
	if scope == "" {
		scope = "/"
	}
	return s.Definition(ctx, scope, id[i+len(seg):])
}

// Definitions lists the built-ins and, when sub is set, the custom
// definitions of that subscription.
func (s *Service) Definitions(ctx context.Context, sub string) ([]StoredDefinition, error) {
	var out []StoredDefinition
	for _, d := range BuiltIns() {
		out = append(out, StoredDefinition{Definition: d})
	}
	if sub == "" {
		return out, nil
	}
	rows, err := storage.All(func(p storage.Page) ([]storage.PolicyDefinition, string, error) {
		return s.store.ListPolicyDefinitions(ctx, "/subscriptions/"+sub, p)
	})
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		d, err := compileStored(row)
		if err != nil {
			continue
		}
		out = append(out, StoredDefinition{Definition: d, CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt})
	}
	return out, nil
}

// DeleteDefinition deletes a custom definition; ErrInUse while an
// assignment refers to it, as Azure refuses.
func (s *Service) DeleteDefinition(ctx context.Context, scope, name string) (bool, error) {
	scope, err := CustomScope(scope)
	if err != nil {
		return false, err
	}
	id := strings.ToLower(DefinitionID(scope, name))
	rows, err := storage.All(func(p storage.Page) ([]storage.PolicyAssignment, string, error) {
		return s.store.ListPolicyAssignments(ctx, p)
	})
	if err != nil {
		return false, err
	}
	for _, row := range rows {
		if a, err := assignmentOf(row); err == nil && strings.EqualFold(a.Props.PolicyDefinitionID, id) {
			return false, fmt.Errorf("%w: the policy definition '%s' is assigned by '%s'", ErrInUse, name, a.ID)
		}
	}
	err = s.store.DeletePolicyDefinition(ctx, scope, name)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, s.Reload(ctx)
}

// AssignmentProperties are an assignment's properties as ARM carries them.
type AssignmentProperties struct {
	DisplayName           string                     `json:"displayName,omitempty"`
	PolicyDefinitionID    string                     `json:"policyDefinitionId"`
	Scope                 string                     `json:"scope"`
	NotScopes             []string                   `json:"notScopes"`
	Parameters            map[string]json.RawMessage `json:"parameters"`
	Description           string                     `json:"description,omitempty"`
	Metadata              json.RawMessage            `json:"metadata,omitempty"`
	EnforcementMode       string                     `json:"enforcementMode"`
	NonComplianceMessages json.RawMessage            `json:"nonComplianceMessages,omitempty"`
}

// StoredAssignment is an assignment as ARM answers it.
type StoredAssignment struct {
	ID, Name, Scope, Location string
	Props                     AssignmentProperties
	CreatedBy                 string
	CreatedAt, UpdatedAt      time.Time
}

// Assignment is the evaluator's view of it.
func (a StoredAssignment) Assignment() Assignment {
	return Assignment{ID: a.ID, Name: a.Name, Scope: a.Scope, DisplayName: a.Props.DisplayName, DefinitionID: a.Props.PolicyDefinitionID,
		Parameters: a.Props.Parameters, NotScopes: a.Props.NotScopes, EnforcementMode: a.Props.EnforcementMode}
}

func assignmentOf(row storage.PolicyAssignment) (StoredAssignment, error) {
	var p AssignmentProperties
	if err := json.Unmarshal(row.Properties, &p); err != nil {
		return StoredAssignment{}, err
	}
	return StoredAssignment{ID: AssignmentID(row.Scope, row.Name), Name: row.Name, Scope: row.Scope, Location: row.Location, Props: p,
		CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}, nil
}

// maxNotScopes bounds an assignment's exclusions.
const maxNotScopes = 400

func checkName(name, what string) error {
	if name == "" || len(name) > 128 || strings.ContainsAny(name, `/\%&?<>*#:`) {
		return invalid("InvalidPolicyName", "The %s name '%s' is invalid: use 1 to 128 characters without / \\ %% & ? < > * # or :.", what, name)
	}
	return nil
}

// PutAssignment checks and stores an assignment at scope: the definition
// must exist, the parameters fit it, the enforcement mode be known.
func (s *Service) PutAssignment(ctx context.Context, scope, name, location string, p AssignmentProperties, by string) (StoredAssignment, bool, error) {
	if err := checkName(name, "policy assignment"); err != nil {
		return StoredAssignment{}, false, err
	}
	if scope == "" {
		scope = "/"
	}
	mode, ok := canonical(p.EnforcementMode, EnforceDefault, EnforceDoNotEnforce)
	if !ok {
		return StoredAssignment{}, false, invalid("InvalidPolicyEnforcementMode", "The enforcement mode '%s' is invalid; use 'Default' or 'DoNotEnforce'.", p.EnforcementMode)
	}
	p.EnforcementMode = mode
	if p.PolicyDefinitionID == "" {
		return StoredAssignment{}, false, invalid("InvalidRequestContent", "The policy assignment needs properties.policyDefinitionId.")
	}
	def, err := s.DefinitionByID(ctx, p.PolicyDefinitionID)
	if errors.Is(err, ErrNotFound) {
		return StoredAssignment{}, false, invalid("PolicyDefinitionNotFound", "The policy definition '%s' could not be found.", p.PolicyDefinitionID)
	}
	if err != nil {
		return StoredAssignment{}, false, err
	}
	p.PolicyDefinitionID = def.ID
	if p.Parameters == nil {
		p.Parameters = map[string]json.RawMessage{}
	}
	if _, err := def.Values(p.Parameters); err != nil {
		return StoredAssignment{}, false, err
	}
	if len(p.NotScopes) > maxNotScopes {
		return StoredAssignment{}, false, invalid("InvalidNotScopes", "A policy assignment takes at most %d notScopes.", maxNotScopes)
	}
	if p.NotScopes == nil {
		p.NotScopes = []string{}
	}
	for _, ns := range p.NotScopes {
		if !strings.HasPrefix(ns, "/") {
			return StoredAssignment{}, false, invalid("InvalidNotScopes", "The notScope '%s' is not a resource ID.", ns)
		}
	}
	p.Scope = scope
	raw, err := json.Marshal(p)
	if err != nil {
		return StoredAssignment{}, false, err
	}
	return putAndRead(ctx, s, func(now time.Time) (bool, error) {
		return s.store.PutPolicyAssignment(ctx, storage.PolicyAssignment{Scope: scope, Name: name, Location: location, Properties: raw, CreatedBy: by, CreatedAt: now, UpdatedAt: now})
	}, func() (StoredAssignment, error) { return s.AssignmentAt(ctx, scope, name) })
}

// AssignmentAt reads an assignment.
func (s *Service) AssignmentAt(ctx context.Context, scope, name string) (StoredAssignment, error) {
	row, err := s.store.GetPolicyAssignment(ctx, scope, name)
	if errors.Is(err, storage.ErrNotFound) {
		return StoredAssignment{}, ErrNotFound
	}
	if err != nil {
		return StoredAssignment{}, err
	}
	return assignmentOf(row)
}

// Filters of an assignment list, as ARM's $filter names them.
const (
	FilterAll          = ""               // at, above and below the scope
	FilterAtScope      = "atScope()"      // at and above
	FilterAtExactScope = "atExactScope()" // at only
)

// Assignments lists the assignments related to scope by filter; definition,
// when set, keeps those of one definition.
func (s *Service) Assignments(ctx context.Context, scope, filter, definition string) ([]StoredAssignment, error) {
	rows, err := storage.All(func(p storage.Page) ([]storage.PolicyAssignment, string, error) {
		return s.store.ListPolicyAssignments(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	out := []StoredAssignment{}
	for _, row := range rows {
		a, err := assignmentOf(row)
		if err != nil {
			continue
		}
		above := InScope(scope, a.Scope)
		below := InScope(a.Scope, scope)
		exact := above && below
		keep := false
		switch filter {
		case FilterAtExactScope:
			keep = exact
		case FilterAtScope:
			keep = above
		default:
			keep = above || below
		}
		if keep && (definition == "" || strings.EqualFold(definition, a.Props.PolicyDefinitionID)) {
			out = append(out, a)
		}
	}
	return out, nil
}

// DeleteAssignment deletes an assignment; false when there was none.
func (s *Service) DeleteAssignment(ctx context.Context, scope, name string) (bool, error) {
	err := s.store.DeletePolicyAssignment(ctx, scope, name)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, s.Reload(ctx)
}
