package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// normalize turns decoded JSON of any Go shape into the evaluator's: nil,
// string, float64, bool, []any, map[string]any.
func normalize(v any) any {
	switch v := v.(type) {
	case nil, string, float64, bool:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, s := range v {
			out[k] = s
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normalize(x)
		}
		return out
	case json.RawMessage:
		var x any
		if json.Unmarshal(v, &x) != nil {
			return nil
		}
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var x any
	_ = json.Unmarshal(b, &x)
	return x
}

// equalValues is Azure Policy's equality: strings compare without regard
// to case, arrays element by element, objects key by key (keys without
// regard to case).
func equalValues(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case string:
		s, ok := b.(string)
		return ok && strings.EqualFold(a, s)
	case float64:
		f, ok := b.(float64)
		return ok && a == f
	case bool:
		x, ok := b.(bool)
		return ok && a == x
	case []any:
		x, ok := b.([]any)
		if !ok || len(a) != len(x) {
			return false
		}
		for i := range a {
			if !equalValues(a[i], x[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		x, ok := b.(map[string]any)
		if !ok || len(a) != len(x) {
			return false
		}
		for k, v := range a {
			w, err := lookupKey(x, k)
			if err != nil || !equalValues(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// compare orders two numbers, or two strings without regard to case.
func compare(a, b any) (int, error) {
	switch a := a.(type) {
	case float64:
		if f, ok := b.(float64); ok {
			switch {
			case a < f:
				return -1, nil
			case a > f:
				return 1, nil
			}
			return 0, nil
		}
	case string:
		if s, ok := b.(string); ok {
			return strings.Compare(strings.ToLower(a), strings.ToLower(s)), nil
		}
	}
	return 0, fmt.Errorf("cannot compare %s with %s", kindOf(a), kindOf(b))
}

// like matches s against a pattern whose '*' stands for any run of
// characters, without regard to case. Azure documents one '*' per pattern;
// more are matched the same way.
func like(s, pattern string) bool {
	s, pattern = strings.ToLower(s), strings.ToLower(pattern)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// match is Azure Policy's match: '#' a digit, '?' a letter, '.' any
// character, anything else itself; the whole string, case-sensitive unless
// fold.
func match(s, pattern string, fold bool) bool {
	rs, rp := []rune(s), []rune(pattern)
	if len(rs) != len(rp) {
		return false
	}
	for i, p := range rp {
		c := rs[i]
		switch p {
		case '#':
			if !unicode.IsDigit(c) {
				return false
			}
		case '?':
			if !unicode.IsLetter(c) {
				return false
			}
		case '.':
		default:
			if c != p && !(fold && unicode.ToLower(c) == unicode.ToLower(p)) {
				return false
			}
		}
	}
	return true
}
