package policy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// A template expression is a string in brackets, "[parameters('x')]",
// evaluated when the rule is: function calls, single-quoted strings ('' is
// a quote), numbers, true/false/null, [i] indexing and .property access. A
// string that starts with "[[" is the literal text with one bracket less.
// Only the functions policy rules about identities use are known; any
// other is refused when the definition is created.

// node is a parsed expression.
type node interface{}

type (
	litNode  struct{ v any }
	callNode struct {
		name string
		args []node
	}
	indexNode struct{ on, index node }
	propNode  struct {
		on   node
		name string
	}
)

// maxExprLen bounds one expression; rules are bounded as a whole by the
// request body cap, this only keeps a pathological string cheap to refuse.
const maxExprLen = 8192

// isExpression reports whether s is a template expression.
func isExpression(s string) bool {
	return len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' && !strings.HasPrefix(s, "[[")
}

// literalText is s as literal text: "[[x]" is "[x]".
func literalText(s string) string {
	if strings.HasPrefix(s, "[[") {
		return s[1:]
	}
	return s
}

// parseExpression parses the text of a template expression (without its
// outer brackets).
func parseExpression(src string) (node, error) {
	if len(src) > maxExprLen {
		return nil, fmt.Errorf("the expression is longer than %d characters", maxExprLen)
	}
	p := &exprParser{src: src}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("unexpected %q at position %d of '%s'", p.src[p.pos:], p.pos, src)
	}
	return n, nil
}

type exprParser struct {
	src string
	pos int
}

func (p *exprParser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *exprParser) peek() byte {
	p.space()
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

const maxExprDepth = 64

func (p *exprParser) expr(depth int) (node, error) {
	if depth > maxExprDepth {
		return nil, errors.New("the expression is nested too deeply")
	}
	n, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek() {
		case '[':
			p.pos++
			idx, err := p.expr(depth + 1)
			if err != nil {
				return nil, err
			}
			if p.peek() != ']' {
				return nil, fmt.Errorf("missing ']' at position %d of '%s'", p.pos, p.src)
			}
			p.pos++
			n = indexNode{on: n, index: idx}
		case '.':
			p.pos++
			name := p.ident()
			if name == "" {
				return nil, fmt.Errorf("a property name is missing at position %d of '%s'", p.pos, p.src)
			}
			n = propNode{on: n, name: name}
		default:
			return n, nil
		}
	}
}

func (p *exprParser) ident() string {
	p.space()
	start := p.pos
	for p.pos < len(p.src) {
		c := rune(p.src[p.pos])
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_') {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *exprParser) primary(depth int) (node, error) {
	c := p.peek()
	switch {
	case c == '\'':
		p.pos++
		var b strings.Builder
		for {
			if p.pos >= len(p.src) {
				return nil, fmt.Errorf("unterminated string in '%s'", p.src)
			}
			ch := p.src[p.pos]
			p.pos++
			if ch == '\'' {
				if p.pos < len(p.src) && p.src[p.pos] == '\'' {
					b.WriteByte('\'')
					p.pos++
					continue
				}
				return litNode{b.String()}, nil
			}
			b.WriteByte(ch)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
		f, err := strconv.ParseFloat(p.src[start:p.pos], 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %q in '%s'", p.src[start:p.pos], p.src)
		}
		return litNode{f}, nil
	}
	name := p.ident()
	if name == "" {
		return nil, fmt.Errorf("unexpected %q at position %d of '%s'", string(c), p.pos, p.src)
	}
	if p.peek() != '(' {
		switch strings.ToLower(name) {
		case "true":
			return litNode{true}, nil
		case "false":
			return litNode{false}, nil
		case "null":
			return litNode{nil}, nil
		}
		return nil, fmt.Errorf("'%s' is not a function call in '%s'", name, p.src)
	}
	p.pos++
	fn := strings.ToLower(name)
	if _, ok := functions[fn]; !ok && fn != "if" {
		return nil, fmt.Errorf("the template function '%s' is not supported", name)
	}
	call := callNode{name: fn}
	if p.peek() == ')' {
		p.pos++
		return call, nil
	}
	for {
		a, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		call.args = append(call.args, a)
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return call, nil
		default:
			return nil, fmt.Errorf("expected ',' or ')' at position %d of '%s'", p.pos, p.src)
		}
	}
}

// env is what an expression can see.
type env struct {
	params       map[string]any // lower-cased names
	resource     *Resource
	subscription map[string]any
	group        map[string]any
	// cluster resolves an issuer URL to the Ward cluster it belongs to
	// (id, name, resourceGroupId, location, tags), nil when none does.
	cluster func(issuer string) map[string]any
	// current is the element of the innermost count, by count name ("" for
	// the unnamed one).
	current map[string]any
}

func (e *env) eval(n node) (any, error) {
	switch n := n.(type) {
	case litNode:
		return n.v, nil
	case indexNode:
		on, err := e.eval(n.on)
		if err != nil {
			return nil, err
		}
		idx, err := e.eval(n.index)
		if err != nil {
			return nil, err
		}
		switch on := on.(type) {
		case []any:
			f, ok := idx.(float64)
			if !ok || f != math.Trunc(f) {
				return nil, fmt.Errorf("an array index must be an integer, not %v", idx)
			}
			if f < 0 || int(f) >= len(on) {
				return nil, fmt.Errorf("the index %d is out of range for an array of length %d", int(f), len(on))
			}
			return on[int(f)], nil
		case map[string]any:
			k, ok := idx.(string)
			if !ok {
				return nil, fmt.Errorf("an object is indexed by a string, not %v", idx)
			}
			return lookupKey(on, k)
		}
		return nil, fmt.Errorf("cannot index %s", kindOf(on))
	case propNode:
		on, err := e.eval(n.on)
		if err != nil {
			return nil, err
		}
		m, ok := on.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("cannot read property '%s' of %s", n.name, kindOf(on))
		}
		return lookupKey(m, n.name)
	case callNode:
		if n.name == "if" {
			if len(n.args) != 3 {
				return nil, errors.New("if() takes three arguments")
			}
			c, err := e.eval(n.args[0])
			if err != nil {
				return nil, err
			}
			b, ok := c.(bool)
			if !ok {
				return nil, fmt.Errorf("the condition of if() must be a boolean, not %s", kindOf(c))
			}
			if b {
				return e.eval(n.args[1])
			}
			return e.eval(n.args[2])
		}
		args := make([]any, len(n.args))
		for i, a := range n.args {
			v, err := e.eval(a)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
		return functions[n.name](e, args)
	}
	return nil, fmt.Errorf("unknown expression node %T", n)
}

func lookupKey(m map[string]any, k string) (any, error) {
	if v, ok := m[k]; ok {
		return v, nil
	}
	for key, v := range m {
		if strings.EqualFold(key, k) {
			return v, nil
		}
	}
	return nil, fmt.Errorf("the property '%s' does not exist", k)
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

type function func(e *env, args []any) (any, error)

func nargs(name string, args []any, min, max int) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		switch {
		case min == max:
			return fmt.Errorf("%s() takes %d argument(s), not %d", name, min, len(args))
		case max < 0:
			return fmt.Errorf("%s() takes at least %d argument(s), not %d", name, min, len(args))
		}
		return fmt.Errorf("%s() takes %d to %d arguments, not %d", name, min, max, len(args))
	}
	return nil
}

func str(name string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s() needs a string, not %s", name, kindOf(v))
	}
	return s, nil
}

func num(name string, v any) (float64, error) {
	f, ok := v.(float64)
	if !ok {
		return 0, fmt.Errorf("%s() needs a number, not %s", name, kindOf(v))
	}
	return f, nil
}

// functions are the template functions Ward evaluates, by lower-cased name
// (if is lazy and handled in eval).
var functions = map[string]function{
	"parameters": func(e *env, a []any) (any, error) {
		if err := nargs("parameters", a, 1, 1); err != nil {
			return nil, err
		}
		name, err := str("parameters", a[0])
		if err != nil {
			return nil, err
		}
		v, ok := e.params[strings.ToLower(name)]
		if !ok {
			return nil, fmt.Errorf("the parameter '%s' is not defined in the policy definition", name)
		}
		return v, nil
	},
	"field": func(e *env, a []any) (any, error) {
		if err := nargs("field", a, 1, 1); err != nil {
			return nil, err
		}
		name, err := str("field", a[0])
		if err != nil {
			return nil, err
		}
		if e.resource == nil {
			return nil, nil
		}
		v, _, err := e.resource.Field(name)
		return v, err
	},
	"current": func(e *env, a []any) (any, error) {
		if err := nargs("current", a, 0, 1); err != nil {
			return nil, err
		}
		key := ""
		if len(a) == 1 {
			s, err := str("current", a[0])
			if err != nil {
				return nil, err
			}
			key = strings.ToLower(s)
		}
		v, ok := e.current[key]
		if !ok {
			return nil, errors.New("current() is only valid inside a count's where condition")
		}
		return v, nil
	},
	"concat": func(_ *env, a []any) (any, error) {
		if len(a) > 0 {
			if _, ok := a[0].([]any); ok {
				var out []any
				for _, x := range a {
					arr, ok := x.([]any)
					if !ok {
						return nil, fmt.Errorf("concat() of arrays got %s", kindOf(x))
					}
					out = append(out, arr...)
				}
				return out, nil
			}
		}
		var b strings.Builder
		for _, x := range a {
			b.WriteString(toText(x))
		}
		return b.String(), nil
	},
	"equals": func(_ *env, a []any) (any, error) {
		if err := nargs("equals", a, 2, 2); err != nil {
			return nil, err
		}
		return equalValues(a[0], a[1]), nil
	},
	"not": func(_ *env, a []any) (any, error) {
		if err := nargs("not", a, 1, 1); err != nil {
			return nil, err
		}
		b, ok := a[0].(bool)
		if !ok {
			return nil, fmt.Errorf("not() needs a boolean, not %s", kindOf(a[0]))
		}
		return !b, nil
	},
	"and":             boolFold("and", true),
	"or":              boolFold("or", false),
	"greater":         compareFn("greater", func(c int) bool { return c > 0 }),
	"greaterorequals": compareFn("greaterOrEquals", func(c int) bool { return c >= 0 }),
	"less":            compareFn("less", func(c int) bool { return c < 0 }),
	"lessorequals":    compareFn("lessOrEquals", func(c int) bool { return c <= 0 }),
	"length": func(_ *env, a []any) (any, error) {
		if err := nargs("length", a, 1, 1); err != nil {
			return nil, err
		}
		switch v := a[0].(type) {
		case string:
			return float64(len([]rune(v))), nil
		case []any:
			return float64(len(v)), nil
		case map[string]any:
			return float64(len(v)), nil
		case nil:
			return float64(0), nil
		}
		return nil, fmt.Errorf("length() needs a string, array or object, not %s", kindOf(a[0]))
	},
	"empty": func(_ *env, a []any) (any, error) {
		if err := nargs("empty", a, 1, 1); err != nil {
			return nil, err
		}
		switch v := a[0].(type) {
		case string:
			return v == "", nil
		case []any:
			return len(v) == 0, nil
		case map[string]any:
			return len(v) == 0, nil
		case nil:
			return true, nil
		}
		return false, nil
	},
	"split": func(_ *env, a []any) (any, error) {
		if err := nargs("split", a, 2, 2); err != nil {
			return nil, err
		}
		s, err := str("split", a[0])
		if err != nil {
			return nil, err
		}
		var seps []string
		switch d := a[1].(type) {
		case string:
			seps = []string{d}
		case []any:
			for _, x := range d {
				t, err := str("split", x)
				if err != nil {
					return nil, err
				}
				seps = append(seps, t)
			}
		default:
			return nil, fmt.Errorf("split() needs a delimiter string or array, not %s", kindOf(a[1]))
		}
		parts := []string{s}
		for _, sep := range seps {
			if sep == "" {
				continue
			}
			var next []string
			for _, p := range parts {
				next = append(next, strings.Split(p, sep)...)
			}
			parts = next
		}
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	},
	"tolower": strFn("toLower", strings.ToLower),
	"toupper": strFn("toUpper", strings.ToUpper),
	"trim":    strFn("trim", strings.TrimSpace),
	"first":   endFn("first", true),
	"last":    endFn("last", false),
	"contains": func(_ *env, a []any) (any, error) {
		if err := nargs("contains", a, 2, 2); err != nil {
			return nil, err
		}
		switch c := a[0].(type) {
		case string:
			return strings.Contains(strings.ToLower(c), strings.ToLower(toText(a[1]))), nil
		case []any:
			for _, x := range c {
				if equalValues(x, a[1]) {
					return true, nil
				}
			}
			return false, nil
		case map[string]any:
			k, _ := a[1].(string)
			_, err := lookupKey(c, k)
			return err == nil, nil
		}
		return nil, fmt.Errorf("contains() needs a string, array or object, not %s", kindOf(a[0]))
	},
	"startswith": strPred("startsWith", strings.HasPrefix),
	"endswith":   strPred("endsWith", strings.HasSuffix),
	"indexof": func(_ *env, a []any) (any, error) {
		if err := nargs("indexOf", a, 2, 2); err != nil {
			return nil, err
		}
		s, err := str("indexOf", a[0])
		if err != nil {
			return nil, err
		}
		t, err := str("indexOf", a[1])
		if err != nil {
			return nil, err
		}
		return float64(strings.Index(strings.ToLower(s), strings.ToLower(t))), nil
	},
	"substring": func(_ *env, a []any) (any, error) {
		if err := nargs("substring", a, 2, 3); err != nil {
			return nil, err
		}
		s, err := str("substring", a[0])
		if err != nil {
			return nil, err
		}
		start, err := num("substring", a[1])
		if err != nil {
			return nil, err
		}
		end := float64(len(s))
		if len(a) == 3 {
			n, err := num("substring", a[2])
			if err != nil {
				return nil, err
			}
			end = start + n
		}
		if start < 0 || end > float64(len(s)) || end < start {
			return nil, fmt.Errorf("substring() range [%v, %v) is out of the string's length %d", start, end, len(s))
		}
		return s[int(start):int(end)], nil
	},
	"replace": func(_ *env, a []any) (any, error) {
		if err := nargs("replace", a, 3, 3); err != nil {
			return nil, err
		}
		var s [3]string
		for i := range s {
			t, err := str("replace", a[i])
			if err != nil {
				return nil, err
			}
			s[i] = t
		}
		return strings.ReplaceAll(s[0], s[1], s[2]), nil
	},
	"string": func(_ *env, a []any) (any, error) {
		if err := nargs("string", a, 1, 1); err != nil {
			return nil, err
		}
		return toText(a[0]), nil
	},
	"int": func(_ *env, a []any) (any, error) {
		if err := nargs("int", a, 1, 1); err != nil {
			return nil, err
		}
		switch v := a[0].(type) {
		case float64:
			return math.Trunc(v), nil
		case string:
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("int() cannot convert '%s'", v)
			}
			return float64(n), nil
		}
		return nil, fmt.Errorf("int() needs a number or string, not %s", kindOf(a[0]))
	},
	"coalesce": func(_ *env, a []any) (any, error) {
		for _, x := range a {
			if x != nil {
				return x, nil
			}
		}
		return nil, nil
	},
	"tryget": func(_ *env, a []any) (any, error) {
		if err := nargs("tryGet", a, 2, 2); err != nil {
			return nil, err
		}
		switch c := a[0].(type) {
		case map[string]any:
			k, _ := a[1].(string)
			v, err := lookupKey(c, k)
			if err != nil {
				return nil, nil //nolint:nilerr // tryGet answers null for a missing key
			}
			return v, nil
		case []any:
			f, ok := a[1].(float64)
			if !ok || f < 0 || int(f) >= len(c) {
				return nil, nil
			}
			return c[int(f)], nil
		}
		return nil, nil
	},
	// wardIssuerCluster is Ward's own: the cluster of this Ward whose
	// hosted issuer is the given URL, as an object with id, name,
	// resourceGroupId, location and tags; every property empty when the
	// URL is not the issuer of one of this Ward's clusters.
	"wardissuercluster": func(e *env, a []any) (any, error) {
		if err := nargs("wardIssuerCluster", a, 1, 1); err != nil {
			return nil, err
		}
		iss, _ := a[0].(string)
		if e.cluster != nil && iss != "" {
			if c := e.cluster(iss); c != nil {
				return normalize(c), nil
			}
		}
		return map[string]any{"id": "", "name": "", "resourceGroupId": "", "location": "", "tags": map[string]any{}}, nil
	},
	"createarray": func(_ *env, a []any) (any, error) { return append([]any{}, a...), nil },
	"subscription": func(e *env, a []any) (any, error) {
		if err := nargs("subscription", a, 0, 0); err != nil {
			return nil, err
		}
		return e.subscription, nil
	},
	"resourcegroup": func(e *env, a []any) (any, error) {
		if err := nargs("resourceGroup", a, 0, 0); err != nil {
			return nil, err
		}
		if e.group == nil {
			return nil, errors.New("resourceGroup() is not available for a resource outside a resource group")
		}
		return e.group, nil
	},
}

func boolFold(name string, and bool) function {
	return func(_ *env, a []any) (any, error) {
		if err := nargs(name, a, 1, -1); err != nil {
			return nil, err
		}
		acc := and
		for _, x := range a {
			b, ok := x.(bool)
			if !ok {
				return nil, fmt.Errorf("%s() needs booleans, not %s", name, kindOf(x))
			}
			if and {
				acc = acc && b
			} else {
				acc = acc || b
			}
		}
		return acc, nil
	}
}

func compareFn(name string, ok func(int) bool) function {
	return func(_ *env, a []any) (any, error) {
		if err := nargs(name, a, 2, 2); err != nil {
			return nil, err
		}
		c, err := compare(a[0], a[1])
		if err != nil {
			return nil, fmt.Errorf("%s(): %w", name, err)
		}
		return ok(c), nil
	}
}

func strFn(name string, f func(string) string) function {
	return func(_ *env, a []any) (any, error) {
		if err := nargs(name, a, 1, 1); err != nil {
			return nil, err
		}
		s, err := str(name, a[0])
		if err != nil {
			return nil, err
		}
		return f(s), nil
	}
}

func strPred(name string, f func(s, t string) bool) function {
	return func(_ *env, a []any) (any, error) {
		if err := nargs(name, a, 2, 2); err != nil {
			return nil, err
		}
		s, err := str(name, a[0])
		if err != nil {
			return nil, err
		}
		t, err := str(name, a[1])
		if err != nil {
			return nil, err
		}
		return f(strings.ToLower(s), strings.ToLower(t)), nil
	}
}

func endFn(name string, first bool) function {
	return func(_ *env, a []any) (any, error) {
		if err := nargs(name, a, 1, 1); err != nil {
			return nil, err
		}
		switch v := a[0].(type) {
		case string:
			r := []rune(v)
			if len(r) == 0 {
				return "", nil
			}
			if first {
				return string(r[0]), nil
			}
			return string(r[len(r)-1]), nil
		case []any:
			if len(v) == 0 {
				return nil, nil
			}
			if first {
				return v[0], nil
			}
			return v[len(v)-1], nil
		}
		return nil, fmt.Errorf("%s() needs a string or array, not %s", name, kindOf(a[0]))
	}
}

// toText renders a value as concat() and string() do.
func toText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	b, _ := jsonMarshal(v)
	return string(b)
}
