package policy

import (
	"encoding/json"
	"sort"
	"strings"
)

// Enforcement modes of an assignment.
const (
	EnforceDefault      = "Default"
	EnforceDoNotEnforce = "DoNotEnforce"
)

// Assignment is a definition assigned at a scope.
type Assignment struct {
	// ID is the assignment's resource ID ({scope}/providers/Microsoft.Authorization/policyAssignments/{name}).
	ID, Name, Scope string
	DisplayName     string
	DefinitionID    string
	Parameters      map[string]json.RawMessage
	NotScopes       []string
	EnforcementMode string
}

// InScope reports whether the resource id lies at or below scope ("/" is
// every resource), comparing segments without regard to case.
func InScope(id, scope string) bool {
	scope = strings.TrimRight(strings.ToLower(scope), "/")
	if scope == "" {
		return true
	}
	id = strings.ToLower(id)
	return id == scope || strings.HasPrefix(id, scope+"/")
}

// Covers reports whether the assignment applies at resource id: inside its
// scope and outside every notScope.
func (a Assignment) Covers(id string) bool {
	if !InScope(id, a.Scope) {
		return false
	}
	for _, ns := range a.NotScopes {
		if InScope(id, ns) {
			return false
		}
	}
	return true
}

// Bound is an assignment with its definition and resolved values.
type Bound struct {
	Assignment Assignment
	Definition *Definition
	Values     map[string]any
}

// Set is every assignment of the server bound to its definition: the
// in-memory view each replica keeps (package arm evaluates writes with it).
type Set struct {
	bound []Bound
	// Broken are assignments whose definition is missing or whose values
	// no longer fit it (a definition changed under them); they are skipped
	// and reported.
	Broken map[string]error
}

// NewSet binds assignments to definitions (looked up by ID without regard
// to case).
func NewSet(defs []*Definition, assignments []Assignment) *Set {
	byID := map[string]*Definition{}
	for _, d := range defs {
		byID[strings.ToLower(d.ID)] = d
	}
	s := &Set{Broken: map[string]error{}}
	for _, a := range assignments {
		d, ok := byID[strings.ToLower(a.DefinitionID)]
		if !ok {
			s.Broken[a.ID] = invalid("PolicyDefinitionNotFound", "The policy definition '%s' of the assignment '%s' was not found.", a.DefinitionID, a.Name)
			continue
		}
		vals, err := d.Values(a.Parameters)
		if err != nil {
			s.Broken[a.ID] = err
			continue
		}
		s.bound = append(s.bound, Bound{Assignment: a, Definition: d, Values: vals})
	}
	sort.Slice(s.bound, func(i, j int) bool { return s.bound[i].Assignment.ID < s.bound[j].Assignment.ID })
	return s
}

// Assignments lists the bound assignments.
func (s *Set) Assignments() []Bound { return s.bound }

// Decision is one assignment's verdict on a resource.
type Decision struct {
	Bound
	Result Result
}

// Denies reports whether the decision refuses the write: a deny effect
// whose condition held (or whose evaluation failed, Azure's implicit
// deny) under an enforced assignment.
func (d Decision) Denies() bool {
	return d.Result.Effect == EffectDeny && (d.Result.Match || d.Result.Err != nil) &&
		!strings.EqualFold(d.Assignment.EnforcementMode, EnforceDoNotEnforce)
}

// NonCompliant reports whether the resource does not comply: the
// condition held under an effect other than disabled.
func (d Decision) NonCompliant() bool {
	return (d.Result.Match || d.Result.Err != nil) && d.Result.Effect != EffectDisabled && d.Result.Effect != ""
}

// Applicable reports whether the assignment's rule concerns the resource
// at all, as Azure's compliance counts only those: a rule that tests the
// resource's type applies to the types it accepted.
func (d Decision) Applicable() bool {
	if d.Result.Effect == EffectDisabled {
		return false
	}
	typed := false
	for _, x := range d.Result.Details {
		if x.ExpressionKind == "Field" && strings.EqualFold(x.Expression, "type") {
			typed = true
			if x.Result == "True" && (x.Operator == "Equals" || x.Operator == "In" || x.Operator == "Like") {
				return true
			}
		}
	}
	return !typed || d.Result.Match
}

// AnyCovers reports whether any assignment covers the resource id: writes
// outside every assignment skip evaluation entirely.
func (s *Set) AnyCovers(id string) bool {
	for _, b := range s.bound {
		if b.Assignment.Covers(id) {
			return true
		}
	}
	return false
}

// Evaluate evaluates every assignment covering the resource.
func (s *Set) Evaluate(r *Resource, c Context) []Decision {
	var out []Decision
	for _, b := range s.bound {
		if !b.Assignment.Covers(r.ID) || !b.Definition.AppliesTo(r.Type) {
			continue
		}
		out = append(out, Decision{Bound: b, Result: b.Definition.Evaluate(r, b.Values, c)})
	}
	return out
}
