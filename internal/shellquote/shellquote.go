// Package shellquote renders commands for a person to paste into a POSIX
// shell. Every command Ward shows (the console's copy buttons and fixes,
// `ward doctor`, CLI hints, generated install text) is built as a list of
// arguments and joined here, so that a value someone else chose (a token's
// subject, a role's name, a scope under an unknown provider) reaches the
// program as one argument, byte for byte, and never as shell syntax.
package shellquote

import "strings"

// safe reports whether b needs no quoting: letters, digits and the
// punctuation no POSIX shell treats specially in an unquoted word, even at
// its start ('=' in a command's first word is an assignment, but a
// command's first word is Ward's own constant).
func safe(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("_@%+=:,./-", b) >= 0
}

// Quote returns s as one shell word: bare when every byte is safe, else in
// single quotes, inside which nothing is special. A single quote itself
// ends the quoted part, is written escaped, and the quoting resumes; the
// empty string is two single quotes:
//
//	a'b  →  'a'\''b'
//	""   →  ''
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	bare := true
	for i := 0; i < len(s); i++ {
		if !safe(s[i]) {
			bare = false
			break
		}
	}
	if bare {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes each argument and joins them with spaces: the command line
// that runs args[0] with exactly args[1:].
func Join(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}
