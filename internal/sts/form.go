package sts

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Form is a token request's parameters. ParseForm refuses a parameter
// given twice (an ambiguous credential or scope must not be guessed at),
// so each name has one value. The first formInline parameters are kept in
// the Form itself, which is all a token request sends (five to eight), so
// reading one costs no allocation; a longer form keeps the rest in a map.
type Form struct {
	n    int
	head [formInline]formParam
	rest map[string]string
}

const formInline = 10

type formParam struct{ name, value string }

// Get returns the value of the parameter name, or "" when it is absent.
func (f *Form) Get(name string) string {
	v, _ := f.lookup(name)
	return v
}

// Len is the number of parameters.
func (f *Form) Len() int { return f.n }

func (f *Form) lookup(name string) (string, bool) {
	for _, p := range f.head[:min(f.n, formInline)] {
		if p.name == name {
			return p.value, true
		}
	}
	v, ok := f.rest[name]
	return v, ok
}

// add appends a parameter; the caller has checked that name is new.
func (f *Form) add(name, value string) {
	if f.n < formInline {
		f.head[f.n] = formParam{name, value}
	} else {
		if f.rest == nil {
			f.rest = map[string]string{}
		}
		f.rest[name] = value
	}
	f.n++
}

// ParseForm decodes a form body as url.ParseQuery does, but for refusing
// a parameter given twice. Values that need no unescaping (a JWT, a GUID,
// a scope without spaces) share body's memory: a caller that keeps a value
// beyond the request clones it (strings.Clone) rather than keeping body
// alive.
func ParseForm(body string) (Form, error) {
	var arena strings.Builder
	var f Form
	err := parseForm(&f, body, &arena)
	return f, err
}

// parseForm is ParseForm into f, writing unescaped values to arena, which
// the caller may have grown so that all of them fit in one allocation.
func parseForm(f *Form, body string, arena *strings.Builder) error {
	for rest := body; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, "&")
		if strings.Contains(kv, ";") {
			return errors.New("invalid semicolon separator in query")
		}
		if kv == "" {
			continue
		}
		k, val, _ := strings.Cut(kv, "=")
		k, err := unescapeForm(k, arena)
		if err != nil {
			return err
		}
		if val, err = unescapeForm(val, arena); err != nil {
			return err
		}
		if _, dup := f.lookup(k); dup {
			return fmt.Errorf("parameter '%s' is given %d times", k, countParam(body, k))
		}
		f.add(k, val)
	}
	return nil
}

// unescapeForm is url.QueryUnescape without a copy of a value that has
// nothing to unescape, and with the unescaped bytes appended to arena: the
// value returned is the arena's tail, which later appends leave as it is
// (a Builder only ever appends), so values of one form share the arena's
// allocation when it was grown to fit them.
func unescapeForm(s string, arena *strings.Builder) (string, error) {
	if !hasEscapes(s) {
		return s, nil
	}
	start := arena.Len()
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			arena.WriteByte(' ')
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				// The standard library's error, word for word.
				_, err := url.QueryUnescape(s)
				return "", err
			}
			arena.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			arena.WriteByte(c)
		}
	}
	return arena.String()[start:], nil
}

// escapedBytes bounds the room a form's unescaped values take: the length
// of its parameters that have anything to unescape (a JWT has nothing, a
// scope URL a few bytes).
func escapedBytes(body []byte) int {
	n := 0
	for rest := body; len(rest) > 0; {
		kv := rest
		if i := bytes.IndexByte(rest, '&'); i >= 0 {
			kv, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if bytes.IndexByte(kv, '%') >= 0 || bytes.IndexByte(kv, '+') >= 0 {
			n += len(kv)
		}
	}
	return n
}

// hasEscapes reports whether a form parameter has anything to unescape.
// Two IndexByte scans (escapedBytes makes the same two), not ContainsAny:
// a JWT is a kilobyte and more, and ContainsAny's byte-set loop over it
// cost 5% of a reuse hit.
func hasEscapes(s string) bool {
	return strings.IndexByte(s, '%') >= 0 || strings.IndexByte(s, '+') >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// countParam counts the parameters named k in a form body (for the error
// on a repeated one).
func countParam(body, k string) int {
	n := 0
	for _, kv := range strings.Split(body, "&") {
		name, _, _ := strings.Cut(kv, "=")
		if name, err := url.QueryUnescape(name); err == nil && name == k && kv != "" {
			n++
		}
	}
	return n
}
