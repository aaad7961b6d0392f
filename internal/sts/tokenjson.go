package sts

import (
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The token response is the one answer a busy server writes thousands of
// times a second, and encoding/json finds its fields by reflection each
// time. appendJSON writes the same bytes json.Marshal writes for it (the
// field order, omitempty and escaping of its tags; TestTokenResponseJSON
// compares the two over odd strings), without reflection and into a pooled
// buffer.

// appendJSON appends r as json.Marshal encodes it.
func (r *TokenResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"token_type":`...)
	b = appendJSONString(b, r.TokenType)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, r.ExpiresIn, 10)
	b = append(b, `,"ext_expires_in":`...)
	b = strconv.AppendInt(b, r.ExtExpiresIn, 10)
	if r.RefreshIn != 0 {
		b = append(b, `,"refresh_in":`...)
		b = strconv.AppendInt(b, r.RefreshIn, 10)
	}
	if r.ExpiresOn != "" {
		b = append(b, `,"expires_on":`...)
		b = appendJSONString(b, r.ExpiresOn)
	}
	if r.NotBefore != "" {
		b = append(b, `,"not_before":`...)
		b = appendJSONString(b, r.NotBefore)
	}
	if r.Resource != "" {
		b = append(b, `,"resource":`...)
		b = appendJSONString(b, r.Resource)
	}
	b = append(b, `,"access_token":`...)
	if r.plainToken {
		b = append(b, '"')
		b = append(b, r.AccessToken...)
		b = append(b, '"')
	} else {
		b = appendJSONString(b, r.AccessToken)
	}
	return append(b, '}')
}

// jsonPlainString reports whether s is copied into a JSON string as it is.
func jsonPlainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !jsonPlainByte[s[i]] {
			return false
		}
	}
	return true
}

// jsonPlainByte is jsonPlain indexed by any byte (none at or above
// utf8.RuneSelf is plain on its own).
var jsonPlainByte = func() (t [256]bool) {
	copy(t[:], jsonPlain[:])
	return t
}()

// jsonPlain marks the ASCII bytes encoding/json copies into a string as
// they are: printable, and none of the quote, the backslash or the HTML
// characters <, > and & it escapes by default. DEL (0x7f) is copied too.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way json.Marshal does:
// short escapes for \b \f \n \r \t, \u00XX for the other control bytes and
// for < > &, U+FFFD for each byte that is not UTF-8, and \u2028 and \u2029
// escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	// A JWS, the bulk of a token response, is all plain bytes: find the
	// plain prefix in one tight loop (a byte-indexed table, no rune or
	// escape checks) and copy it at once.
	i := 0
	for i < len(s) && jsonPlainByte[s[i]] {
		i++
	}
	b = append(b, s[:i]...)
	done := i // s[:done] is in b
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}

// responseBuffers hold token responses while they are written: the
// writer copies what it is given, so a buffer is free again when Write
// returns.
var responseBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// writeTokenResponse writes a successful token response.
func writeTokenResponse(w http.ResponseWriter, r *TokenResponse) {
	bp := responseBuffers.Get().(*[]byte)
	b := r.appendJSON((*bp)[:0])
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if cap(b) <= 16<<10 { // keep only buffers of ordinary tokens
		*bp = b[:0]
		responseBuffers.Put(bp)
	}
}
