package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Effects Ward enforces. Azure's others (append, modify, auditIfNotExists,
// deployIfNotExists, denyAction, manual) change or deploy resources; a
// definition using one is refused rather than stored and ignored.
const (
	EffectDeny     = "deny"
	EffectAudit    = "audit"
	EffectDisabled = "disabled"
)

// Modes of a definition: All evaluates every resource type, Indexed only
// the types that carry location and tags (tracked, top-level resources).
const (
	ModeAll     = "All"
	ModeIndexed = "Indexed"
)

// Policy types.
const (
	TypeBuiltIn = "BuiltIn"
	TypeCustom  = "Custom"
)

// Properties are a definition's properties as ARM carries them.
type Properties struct {
	DisplayName string                         `json:"displayName,omitempty"`
	PolicyType  string                         `json:"policyType,omitempty"`
	Mode        string                         `json:"mode,omitempty"`
	Description string                         `json:"description,omitempty"`
	Metadata    json.RawMessage                `json:"metadata,omitempty"`
	Version     string                         `json:"version,omitempty"`
	Parameters  map[string]ParameterDefinition `json:"parameters,omitempty"`
	PolicyRule  json.RawMessage                `json:"policyRule"`
}

// ParameterDefinition declares one parameter of a definition.
type ParameterDefinition struct {
	Type          string          `json:"type"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
	DefaultValue  json.RawMessage `json:"defaultValue,omitempty"`
	AllowedValues []any           `json:"allowedValues,omitempty"`
}

// parameterTypes are Azure's parameter types, by lower-cased name.
var parameterTypes = map[string]string{"string": "String", "array": "Array", "object": "Object", "boolean": "Boolean", "integer": "Integer", "float": "Float", "datetime": "DateTime"}

// Error is a definition or assignment Ward refuses, with the ARM error
// code package arm answers it with.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func invalid(code, format string, a ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Error codes (ARM's).
const (
	CodeInvalidPolicyRule       = "InvalidPolicyRule"
	CodeInvalidPolicyParameters = "InvalidPolicyParameters"
	CodeMissingPolicyParameter  = "MissingPolicyParameter"
	CodeUndefinedPolicyParam    = "UndefinedPolicyParameter"
	CodeInvalidPolicyParamValue = "InvalidPolicyParameterValue"
	CodeInvalidPolicyMode       = "InvalidPolicyMode"
	CodeUnsupportedPolicyEffect = "UnsupportedPolicyEffect"
)

// Definition is a compiled policy definition.
type Definition struct {
	// ID is the definition's resource ID; Name its last segment (a GUID
	// for built-ins).
	ID, Name string
	Props    Properties
	cond     cond
	effect   any // literal effect or expression text
	effectN  node
}

// Compile checks a definition's properties and compiles its rule: every
// field a known alias, every function known, the effect one Ward enforces
// (or a parameter whose allowed values are), parameters well-typed.
func Compile(id, name string, p Properties) (*Definition, error) {
	mode, ok := canonical(p.Mode, ModeAll, ModeIndexed)
	if !ok {
		return nil, invalid(CodeInvalidPolicyMode, "The policy mode '%s' is not supported. Ward evaluates the resource manager modes 'All' and 'Indexed'.", p.Mode)
	}
	p.Mode = mode
	for pname, pd := range p.Parameters {
		t, ok := parameterTypes[strings.ToLower(pd.Type)]
		if !ok {
			return nil, invalid(CodeInvalidPolicyParameters, "The type '%s' of the parameter '%s' is invalid; use String, Array, Object, Boolean, Integer, Float or DateTime.", pd.Type, pname)
		}
		pd.Type = t
		p.Parameters[pname] = pd
		if len(pd.DefaultValue) > 0 {
			v, err := decodeJSON(pd.DefaultValue)
			if err != nil {
				return nil, invalid(CodeInvalidPolicyParameters, "The default value of the parameter '%s' is not valid JSON.", pname)
			}
			if err := checkValue(pname, pd, v); err != nil {
				return nil, err
			}
		}
	}
	rule, err := decodeJSON(p.PolicyRule)
	if err != nil || rule == nil {
		return nil, invalid(CodeInvalidPolicyRule, "The policy rule is missing or is not a JSON object.")
	}
	rm, ok := rule.(map[string]any)
	if !ok {
		return nil, invalid(CodeInvalidPolicyRule, "The policy rule must be a JSON object with 'if' and 'then'.")
	}
	var ifc, then any
	for k, v := range rm {
		switch strings.ToLower(k) {
		case "if":
			ifc = v
		case "then":
			then = v
		default:
			return nil, invalid(CodeInvalidPolicyRule, "The policy rule has an unknown property '%s'; it takes 'if' and 'then'.", k)
		}
	}
	if ifc == nil || then == nil {
		return nil, invalid(CodeInvalidPolicyRule, "The policy rule must have both 'if' and 'then'.")
	}
	d := &Definition{ID: id, Name: name, Props: p}
	cp := &compiler{}
	if d.cond, err = cp.compile(ifc, 0); err != nil {
		return nil, invalid(CodeInvalidPolicyRule, "The policy rule's 'if' condition is invalid: %v.", err)
	}
	if err := checkParameterRefs(ifc, p.Parameters); err != nil {
		return nil, err
	}
	tm, _ := then.(map[string]any)
	for k, v := range tm {
		if strings.EqualFold(k, "effect") {
			d.effect = v
		}
	}
	es, ok := d.effect.(string)
	if !ok || es == "" {
		return nil, invalid(CodeInvalidPolicyRule, "The policy rule's 'then' must have an 'effect'.")
	}
	if isExpression(es) {
		if d.effectN, err = parseExpression(es[1 : len(es)-1]); err != nil {
			return nil, invalid(CodeInvalidPolicyRule, "The effect expression '%s' is invalid: %v.", es, err)
		}
		if err := checkParameterRefs(es, p.Parameters); err != nil {
			return nil, err
		}
		// A parameterized effect must only ever resolve to one Ward enforces.
		for pname, pd := range p.Parameters {
			if !strings.Contains(strings.ToLower(es), "'"+strings.ToLower(pname)+"'") {
				continue
			}
			for _, av := range pd.AllowedValues {
				if _, err := checkEffect(toText(av)); err != nil {
					return nil, err
				}
			}
		}
	} else if _, err := checkEffect(es); err != nil {
		return nil, err
	}
	return d, nil
}

// checkEffect normalizes an effect, refusing the ones Ward does not enforce.
func checkEffect(e string) (string, error) {
	switch strings.ToLower(e) {
	case EffectDeny, EffectAudit, EffectDisabled:
		return strings.ToLower(e), nil
	}
	return "", invalid(CodeUnsupportedPolicyEffect, "The policy effect '%s' is not supported by Ward, which enforces 'deny', 'audit' and 'disabled'.", e)
}

// checkParameterRefs refuses a rule that uses a parameter the definition
// does not declare (a literal parameters('x') call anywhere in it).
func checkParameterRefs(v any, params map[string]ParameterDefinition) error {
	b, _ := json.Marshal(v)
	s := strings.ToLower(string(b))
	for {
		i := strings.Index(s, "parameters('")
		if i < 0 {
			return nil
		}
		s = s[i+len("parameters('"):]
		j := strings.Index(s, "'")
		if j < 0 {
			return nil
		}
		name := s[:j]
		found := false
		for p := range params {
			if strings.EqualFold(p, name) {
				found = true
			}
		}
		if !found {
			return invalid(CodeUndefinedPolicyParam, "The policy rule refers to the parameter '%s', which the definition does not declare.", name)
		}
		s = s[j:]
	}
}

// checkValue checks a parameter value against its declaration.
func checkValue(name string, pd ParameterDefinition, v any) error {
	ok := true
	switch pd.Type {
	case "String", "DateTime":
		_, ok = v.(string)
	case "Array":
		_, ok = v.([]any)
	case "Object":
		_, ok = v.(map[string]any)
	case "Boolean":
		_, ok = v.(bool)
	case "Integer":
		f, isNum := v.(float64)
		ok = isNum && f == float64(int64(f))
	case "Float":
		_, ok = v.(float64)
	}
	if !ok {
		return invalid(CodeInvalidPolicyParamValue, "The value of the parameter '%s' must be of type '%s', not %s.", name, pd.Type, kindOf(v))
	}
	if len(pd.AllowedValues) > 0 {
		check := []any{v}
		if arr, isArr := v.([]any); isArr && pd.Type == "Array" {
			check = arr
		}
		for _, x := range check {
			allowed := false
			for _, av := range pd.AllowedValues {
				if equalValues(normalize(av), x) {
					allowed = true
				}
			}
			if !allowed {
				return invalid(CodeInvalidPolicyParamValue, "The value '%s' of the parameter '%s' is not allowed; allowed values are %s.", toText(x), name, toText(normalize(pd.AllowedValues)))
			}
		}
	}
	return nil
}

// Values resolves an assignment's parameter values ({"x": {"value": v}})
// against the definition: every value declared and well-typed, every
// parameter without a default given. The result is by lower-cased name.
func (d *Definition) Values(assigned map[string]json.RawMessage) (map[string]any, error) {
	out := map[string]any{}
	for name := range assigned {
		found := false
		for p := range d.Props.Parameters {
			if strings.EqualFold(p, name) {
				found = true
			}
		}
		if !found {
			return nil, invalid(CodeUndefinedPolicyParam, "The policy assignment gives the parameter '%s', which the policy definition '%s' does not declare.", name, d.Name)
		}
	}
	for name, pd := range d.Props.Parameters {
		var raw json.RawMessage
		for k, v := range assigned {
			if strings.EqualFold(k, name) {
				raw = v
			}
		}
		var v any
		switch {
		case len(raw) > 0:
			var wrapped struct {
				Value json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(raw, &wrapped); err != nil || len(wrapped.Value) == 0 {
				return nil, invalid(CodeInvalidPolicyParameters, "The value of the parameter '%s' must be given as {\"value\": ...}.", name)
			}
			var err error
			if v, err = decodeJSON(wrapped.Value); err != nil {
				return nil, invalid(CodeInvalidPolicyParameters, "The value of the parameter '%s' is not valid JSON.", name)
			}
		case len(pd.DefaultValue) > 0:
			v, _ = decodeJSON(pd.DefaultValue)
		default:
			return nil, invalid(CodeMissingPolicyParameter, "The policy assignment does not give the parameter '%s' of the policy definition '%s', which has no default value.", name, d.Name)
		}
		if err := checkValue(name, pd, v); err != nil {
			return nil, err
		}
		out[strings.ToLower(name)] = v
	}
	return out, nil
}

// Context is what a rule sees beside the resource: the subscription and
// the resource group of the resource (nil when it has none).
type Context struct {
	Subscription map[string]any // id, subscriptionId, tenantId, displayName
	Group        map[string]any // id, name, location
	// Cluster resolves an issuer URL to the Ward cluster whose hosted
	// issuer it is (wardIssuerCluster()); nil resolves none.
	Cluster func(issuer string) map[string]any
}

// Result is a definition evaluated against a resource.
type Result struct {
	// Match: the if condition held, so the effect applies.
	Match bool
	// Effect is the resolved effect, lower case.
	Effect string
	// Details are the leaf conditions evaluated, in order.
	Details []EvaluatedExpression
	// Err is an evaluation that failed (a template function's error): a
	// deny policy then denies, as Azure's failed evaluation is an implicit
	// deny.
	Err error
}

// Effect resolves the definition's effect with the given values.
func (d *Definition) Effect(values map[string]any) (string, error) {
	if d.effectN == nil {
		return checkEffect(toText(d.effect))
	}
	v, err := (&env{params: values}).eval(d.effectN)
	if err != nil {
		return "", err
	}
	return checkEffect(toText(v))
}

// AppliesTo reports whether the definition's mode covers a resource type.
func (d *Definition) AppliesTo(typ string) bool {
	return d.Props.Mode != ModeIndexed || Tracked(typ)
}

// Tracked reports whether a type is a tracked resource (one that has a
// location and tags): a top-level type under a provider other than
// Microsoft.Authorization, and not a resource group or subscription.
func Tracked(typ string) bool {
	parts := strings.Split(typ, "/")
	if len(parts) != 2 {
		return false
	}
	switch strings.ToLower(parts[0]) {
	case "microsoft.authorization", "microsoft.resources":
		return false
	}
	return true
}

// Evaluate evaluates the definition against a resource with the given
// parameter values.
func (d *Definition) Evaluate(r *Resource, values map[string]any, c Context) Result {
	effect, err := d.Effect(values)
	if err != nil {
		return Result{Err: err}
	}
	if effect == EffectDisabled {
		return Result{Effect: effect}
	}
	e := &evaluation{env: &env{params: values, resource: r, subscription: c.Subscription, group: c.Group, cluster: c.Cluster}}
	ok, err := d.cond.eval(e)
	return Result{Match: ok && err == nil, Effect: effect, Details: e.details, Err: err}
}

// errNoRule is returned for a nil definition.
var errNoRule = errors.New("no policy rule")

// ParseProperties decodes a definition's properties.
func ParseProperties(raw json.RawMessage) (Properties, error) {
	var p Properties
	if len(raw) == 0 {
		return p, errNoRule
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, invalid(CodeInvalidPolicyRule, "The policy definition's properties are invalid: %v.", err)
	}
	return p, nil
}

// canonical is v spelled as the one of names it equals ignoring case
// (Azure takes any case and answers in its own), or names[0], the
// default, when v is empty; false when v is none of them.
func canonical(v string, names ...string) (string, bool) {
	if v == "" {
		return names[0], true
	}
	for _, n := range names {
		if strings.EqualFold(v, n) {
			return n, true
		}
	}
	return "", false
}
