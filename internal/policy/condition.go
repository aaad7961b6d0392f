package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// EvaluatedExpression is one leaf condition as Azure reports it in a
// PolicyViolation's evaluationDetails.
type EvaluatedExpression struct {
	Result          string `json:"result"`         // True or False
	ExpressionKind  string `json:"expressionKind"` // Field, Value or Count
	Expression      string `json:"expression"`
	Path            string `json:"path,omitempty"`
	ExpressionValue any    `json:"expressionValue,omitempty"`
	TargetValue     any    `json:"targetValue"`
	Operator        string `json:"operator"`
}

// operators by lower-cased name, with Azure's spelling for reports.
var operators = map[string]string{
	"equals": "Equals", "notequals": "NotEquals", "like": "Like", "notlike": "NotLike",
	"match": "Match", "notmatch": "NotMatch", "matchinsensitively": "MatchInsensitively", "notmatchinsensitively": "NotMatchInsensitively",
	"contains": "Contains", "notcontains": "NotContains", "in": "In", "notin": "NotIn",
	"containskey": "ContainsKey", "notcontainskey": "NotContainsKey",
	"less": "Less", "lessorequals": "LessOrEquals", "greater": "Greater", "greaterorequals": "GreaterOrEquals",
	"exists": "Exists",
}

// cond is a compiled condition.
type cond interface {
	eval(e *evaluation) (bool, error)
}

type allOf []cond
type anyOf []cond
type notCond struct{ c cond }

// leaf is a field, value or count condition with one operator.
type leaf struct {
	kind      string // Field, Value, Count
	field     string // field name (Field; Count over a field)
	array     bool   // field is an array alias ([*])
	value     any    // the value (Value; Count over a value): literal or expression
	valueExpr node
	countName string
	where     cond
	op        string // lower-cased operator
	target    any    // literal or expression text
	targetExp node
}

// evaluation carries one evaluation's environment and its report.
type evaluation struct {
	env     *env
	details []EvaluatedExpression
}

func (c allOf) eval(e *evaluation) (bool, error) {
	for _, x := range c {
		ok, err := x.eval(e)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (c anyOf) eval(e *evaluation) (bool, error) {
	for _, x := range c {
		ok, err := x.eval(e)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func (c notCond) eval(e *evaluation) (bool, error) {
	ok, err := c.c.eval(e)
	return !ok, err
}

// maxConditionDepth bounds nesting; maxConditions the leaves of one rule.
const (
	maxConditionDepth = 32
	maxConditions     = 512
)

type compiler struct{ leaves int }

// compile parses an if condition (decoded JSON): a logical operator over
// other conditions, or a leaf that tests one field, value or count with
// one operator. Azure reads property names ignoring case, so they are
// lower-cased first.
func (cp *compiler) compile(raw any, depth int) (cond, error) {
	if depth > maxConditionDepth {
		return nil, errors.New("the condition is nested too deeply")
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a condition must be a JSON object, not %s", kindOf(raw))
	}
	keys := map[string]any{}
	for k, v := range m {
		keys[strings.ToLower(k)] = v
	}
	if c, logical, err := cp.compileLogical(keys, depth); logical {
		return c, err
	}
	cp.leaves++
	if cp.leaves > maxConditions {
		return nil, fmt.Errorf("the rule has more than %d conditions", maxConditions)
	}
	l := &leaf{}
	if err := cp.compileSubject(l, keys, m, depth); err != nil {
		return nil, err
	}
	if err := compileOperator(l, keys); err != nil {
		return nil, err
	}
	return l, nil
}

// logicalOperators are the conditions over conditions, by lower-cased
// name, with Azure's spelling for errors; tried in this order.
var logicalOperators = []struct{ key, name string }{{"allof", "allOf"}, {"anyof", "anyOf"}, {"not", "not"}}

// compileLogical compiles allOf, anyOf or not; logical is false when keys
// holds none of them (a leaf).
func (cp *compiler) compileLogical(keys map[string]any, depth int) (c cond, logical bool, err error) {
	for _, op := range logicalOperators {
		if keys[op.key] == nil {
			continue
		}
		if len(keys) != 1 {
			return nil, true, fmt.Errorf("'%s' must be the only property of its condition", op.name)
		}
		if op.key == "not" {
			c, err := cp.compile(keys["not"], depth+1)
			return notCond{c}, true, err
		}
		arr, ok := keys[op.key].([]any)
		if !ok || len(arr) == 0 {
			return nil, true, fmt.Errorf("'%s' must be a non-empty array of conditions", op.key)
		}
		list := make([]cond, 0, len(arr))
		for _, x := range arr {
			c, err := cp.compile(x, depth+1)
			if err != nil {
				return nil, true, err
			}
			list = append(list, c)
		}
		if op.key == "allof" {
			return allOf(list), true, nil
		}
		return anyOf(list), true, nil
	}
	return nil, false, nil
}

// compileSubject fills what a leaf tests (its field, value or count) and
// takes that property out of keys, leaving the operator. m is the
// condition as written: a "value" of null is still a value condition.
func (cp *compiler) compileSubject(l *leaf, keys, m map[string]any, depth int) error {
	switch {
	case keys["field"] != nil:
		f, ok := keys["field"].(string)
		if !ok || f == "" {
			return errors.New("'field' must be a non-empty string")
		}
		if isExpression(f) {
			return fmt.Errorf("'field' takes an alias, not an expression ('%s')", f)
		}
		if _, err := fieldPath(f); err != nil {
			return err
		}
		l.kind, l.field, l.array = "Field", f, isArrayField(f)
		delete(keys, "field")
	case keys["value"] != nil || hasKey(m, "value"):
		l.kind, l.value = "Value", keys["value"]
		n, err := compileValue(l.value)
		if err != nil {
			return fmt.Errorf("'value': %w", err)
		}
		l.valueExpr = n
		delete(keys, "value")
	case keys["count"] != nil:
		cm, ok := keys["count"].(map[string]any)
		if !ok {
			return errors.New("'count' must be an object with 'field' or 'value'")
		}
		if err := cp.compileCount(l, cm, depth); err != nil {
			return err
		}
		delete(keys, "count")
	default:
		return errors.New("a condition needs 'field', 'value', 'count', 'allOf', 'anyOf' or 'not'")
	}
	return nil
}

// compileCount fills a count leaf from the count object: what it counts
// (an array field or a value), the name its members go by in where, and
// the where condition itself.
func (cp *compiler) compileCount(l *leaf, cm map[string]any, depth int) error {
	l.kind = "Count"
	for k, v := range cm {
		switch strings.ToLower(k) {
		case "field":
			f, ok := v.(string)
			if !ok || !isArrayField(f) {
				return fmt.Errorf("count.field must name an array alias ending in [*], not %v", v)
			}
			l.field = f
		case "value":
			l.value = v
			n, err := compileValue(v)
			if err != nil {
				return fmt.Errorf("count.value: %w", err)
			}
			l.valueExpr = n
		case "name":
			s, _ := v.(string)
			l.countName = strings.ToLower(s)
		case "where":
			c, err := cp.compile(v, depth+1)
			if err != nil {
				return fmt.Errorf("count.where: %w", err)
			}
			l.where = c
		default:
			return fmt.Errorf("count has no property '%s'", k)
		}
	}
	if (l.field == "") == (l.value == nil && l.valueExpr == nil) {
		return errors.New("count needs exactly one of 'field' and 'value'")
	}
	return nil
}

// compileOperator fills a leaf's operator and target from what is left
// of keys once its subject is taken out: exactly one supported operator.
func compileOperator(l *leaf, keys map[string]any) error {
	if len(keys) != 1 {
		var names []string
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		return fmt.Errorf("a condition needs exactly one operator, found %v", names)
	}
	for k, v := range keys {
		if _, ok := operators[k]; !ok {
			return fmt.Errorf("the operator '%s' is not supported", k)
		}
		l.op, l.target = k, v
	}
	n, err := compileValue(l.target)
	if err != nil {
		return fmt.Errorf("'%s': %w", operators[l.op], err)
	}
	l.targetExp = n
	if l.op == "exists" {
		if _, ok := l.target.(bool); !ok {
			if s, ok := l.target.(string); !ok || (!strings.EqualFold(s, "true") && !strings.EqualFold(s, "false")) {
				return fmt.Errorf("'exists' takes true or false, not %v", l.target)
			}
		}
	}
	return nil
}

func hasKey(m map[string]any, k string) bool {
	for key := range m {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}

// compileValue parses v when it is a template expression (nil otherwise).
func compileValue(v any) (node, error) {
	s, ok := v.(string)
	if !ok || !isExpression(s) {
		return nil, nil
	}
	return parseExpression(s[1 : len(s)-1])
}

// resolve is v as the evaluation sees it: an expression's result, or the
// literal (a "[[" string losing one bracket).
func (e *evaluation) resolve(v any, n node) (any, error) {
	if n != nil {
		return e.env.eval(n)
	}
	if s, ok := v.(string); ok {
		return literalText(s), nil
	}
	return v, nil
}

func (l *leaf) eval(e *evaluation) (bool, error) {
	target, err := e.resolve(l.target, l.targetExp)
	if err != nil {
		return false, err
	}
	rep := EvaluatedExpression{ExpressionKind: l.kind, Operator: operators[l.op], TargetValue: target}
	var ok bool
	switch l.kind {
	case "Field":
		v, path, err := e.env.resource.Field(l.field)
		if err != nil {
			return false, err
		}
		rep.Expression, rep.Path, rep.ExpressionValue = l.field, path, v
		if l.array {
			// An array alias: the condition holds when every member
			// satisfies it (an absent or empty array satisfies it).
			ok = true
			arr, _ := v.([]any)
			for _, x := range arr {
				if r, err := apply(l.op, x, x != nil, target); err != nil || !r {
					ok = false
					break
				}
			}
		} else if ok, err = apply(l.op, v, v != nil, target); err != nil {
			return false, err
		}
	case "Value":
		v, err := e.resolve(l.value, l.valueExpr)
		if err != nil {
			return false, err
		}
		rep.Expression, rep.ExpressionValue = toText(l.value), v
		if ok, err = apply(l.op, v, v != nil, target); err != nil {
			return false, err
		}
	case "Count":
		n, expr, err := l.count(e)
		if err != nil {
			return false, err
		}
		rep.Expression, rep.ExpressionValue = expr, float64(n)
		if ok, err = apply(l.op, float64(n), true, target); err != nil {
			return false, err
		}
	}
	rep.Result = "False"
	if ok {
		rep.Result = "True"
	}
	e.details = append(e.details, rep)
	return ok, nil
}

// count counts the members of the array the count names that satisfy its
// where condition (every member without one).
func (l *leaf) count(e *evaluation) (int, string, error) {
	var arr []any
	var expr, key string
	if l.field != "" {
		v, _, err := e.env.resource.Field(l.field)
		if err != nil {
			return 0, "", err
		}
		arr, _ = v.([]any)
		expr, key = l.field, strings.ToLower(l.field)
	} else {
		v, err := e.resolve(l.value, l.valueExpr)
		if err != nil {
			return 0, "", err
		}
		switch v := v.(type) {
		case []any:
			arr = v
		case nil:
		default:
			return 0, "", fmt.Errorf("count.value must be an array, not %s", kindOf(v))
		}
		expr, key = toText(l.value), l.countName
	}
	if l.where == nil {
		return len(arr), expr, nil
	}
	saved := e.env.current
	defer func() { e.env.current = saved }()
	n := 0
	for _, x := range arr {
		cur := map[string]any{}
		for k, v := range saved {
			cur[k] = v
		}
		cur[key], cur[""] = x, x
		e.env.current = cur
		inner := &evaluation{env: e.env}
		ok, err := l.where.eval(inner)
		if err != nil {
			return 0, "", err
		}
		if ok {
			n++
		}
	}
	return n, expr, nil
}

// apply runs one operator on a value (exists tells a missing field from a
// present one) against the target.
func apply(op string, v any, exists bool, target any) (bool, error) {
	text := func(x any) string { s, _ := x.(string); return s }
	switch op {
	case "equals":
		return equalValues(v, target), nil
	case "notequals":
		return !equalValues(v, target), nil
	case "like":
		return isString(v) && like(text(v), toText(target)), nil
	case "notlike":
		return !(isString(v) && like(text(v), toText(target))), nil
	case "match":
		return isString(v) && match(text(v), toText(target), false), nil
	case "notmatch":
		return !(isString(v) && match(text(v), toText(target), false)), nil
	case "matchinsensitively":
		return isString(v) && match(text(v), toText(target), true), nil
	case "notmatchinsensitively":
		return !(isString(v) && match(text(v), toText(target), true)), nil
	case "contains", "notcontains":
		var in bool
		switch x := v.(type) {
		case string:
			in = strings.Contains(strings.ToLower(x), strings.ToLower(toText(target)))
		case []any:
			in = slices.ContainsFunc(x, func(m any) bool { return equalValues(m, target) })
		}
		return in == (op == "contains"), nil
	case "in", "notin":
		arr, ok := target.([]any)
		if !ok {
			return false, fmt.Errorf("'%s' needs an array, not %s", operators[op], kindOf(target))
		}
		in := slices.ContainsFunc(arr, func(m any) bool { return equalValues(v, m) })
		return in == (op == "in"), nil
	case "containskey", "notcontainskey":
		m, _ := v.(map[string]any)
		_, err := lookupKey(m, toText(target))
		return (m != nil && err == nil) == (op == "containskey"), nil
	case "exists":
		want := true
		switch t := target.(type) {
		case bool:
			want = t
		case string:
			want = strings.EqualFold(t, "true")
		}
		return exists == want, nil
	case "less", "lessorequals", "greater", "greaterorequals":
		if v == nil {
			return false, nil
		}
		c, err := compare(v, target)
		if err != nil {
			return false, nil //nolint:nilerr // values of other types are not ordered: the condition is false
		}
		switch op {
		case "less":
			return c < 0, nil
		case "lessorequals":
			return c <= 0, nil
		case "greater":
			return c > 0, nil
		}
		return c >= 0, nil
	}
	return false, fmt.Errorf("the operator '%s' is not supported", op)
}

func isString(v any) bool { _, ok := v.(string); return ok }

// decodeJSON decodes raw JSON into the evaluator's shapes.
func decodeJSON(raw json.RawMessage) (any, error) {
	var v any
	if len(raw) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}
