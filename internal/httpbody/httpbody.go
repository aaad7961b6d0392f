// Package httpbody reads request bodies under a size cap, the same way for
// every protocol: it says why a body was refused (too large, unreadable,
// empty, malformed) as an *Error, and each protocol turns that into its
// own wire error (ARM's JSON error, Storage's XML, a registry's errors
// array, Key Vault's error, an AdmissionReview's plain text).
//
// The router caps every route's body with http.MaxBytesReader; a handler
// that reads a body the router does not cap (a stream, the webhook's own
// server) passes its own limit.
package httpbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// Problem is why a body was refused.
type Problem int

// The problems a body can have, in the order they are found.
const (
	// TooLarge: more bytes than the cap (Error.Limit).
	TooLarge Problem = iota + 1
	// Unreadable: the body stopped arriving (a read deadline) or the
	// connection broke; not the client's content, and not "too large".
	Unreadable
	// Empty: no content where a JSON value is required.
	Empty
	// Malformed: not the expected content (JSON syntax, a value of the
	// wrong type, trailing data, a bad form encoding).
	Malformed
)

func (p Problem) String() string {
	switch p {
	case TooLarge:
		return "too large"
	case Unreadable:
		return "unreadable"
	case Empty:
		return "empty"
	case Malformed:
		return "malformed"
	}
	return fmt.Sprintf("Problem(%d)", int(p))
}

// Error is a refused body.
type Error struct {
	Problem Problem
	// Limit is the cap in bytes a TooLarge body went past.
	Limit int64
	// Err is the cause: the read error, or the decoder's complaint.
	Err error
}

func (e *Error) Error() string {
	switch e.Problem {
	case TooLarge:
		return fmt.Sprintf("the request body is larger than %d bytes", e.Limit)
	case Unreadable:
		return "the request body could not be read completely: it was not sent in time or the connection broke"
	case Empty:
		return "the request body is empty"
	}
	return "the request body is malformed: " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// As returns err's *Error, if it is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err is a refused body with problem p.
func Is(err error, p Problem) bool {
	e, ok := As(err)
	return ok && e.Problem == p
}

// Read reads all of body. limit > 0 caps it here (a body of exactly limit
// bytes is read; one more is TooLarge); limit 0 leaves the cap to the
// router's http.MaxBytesReader, whose error is TooLarge with its limit.
func Read(body io.Reader, limit int64) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	r := body
	if limit > 0 {
		r = io.LimitReader(body, limit+1)
	}
	b, err := io.ReadAll(r)
	switch {
	case err != nil:
		return nil, readError(err)
	case limit > 0 && int64(len(b)) > limit:
		return nil, &Error{Problem: TooLarge, Limit: limit}
	}
	return b, nil
}

// readError is the refusal of a body whose read failed. It is its own
// function so that only a failed read pays for the errors.As target,
// which escapes to the heap.
func readError(err error) *Error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &Error{Problem: TooLarge, Limit: tooBig.Limit, Err: err}
	}
	return &Error{Problem: Unreadable, Err: err}
}

// JSON reads one JSON value from body (capped as Read caps it) into v. An
// empty or blank body is Empty; bad syntax, a value of the wrong type or
// anything after the value is Malformed.
func JSON(body io.Reader, limit int64, v any) error {
	b, err := Read(body, limit)
	if err != nil {
		return err
	}
	return Decode(b, v)
}

// Decode decodes one JSON value read by Read into v, with JSON's
// problems.
func Decode(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return &Error{Problem: Empty}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return &Error{Problem: Malformed, Err: err}
	}
	if dec.More() {
		return &Error{Problem: Malformed, Err: errors.New("unexpected data after the JSON value")}
	}
	return nil
}

// Form parses r's query and, for a POST, PUT or PATCH whose Content-Type
// is application/x-www-form-urlencoded, its body (capped by the router)
// into r.Form and r.PostForm, as http.Request.ParseForm does (body values
// first in r.Form), but with the body's problems as an *Error: a body past
// the cap is TooLarge, not a bad form.
func Form(r *http.Request) error {
	post := url.Values{}
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
			b, err := Read(r.Body, 0)
			if err != nil {
				return err
			}
			if post, err = url.ParseQuery(string(b)); err != nil {
				return &Error{Problem: Malformed, Err: err}
			}
		}
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return &Error{Problem: Malformed, Err: err}
	}
	r.PostForm = post
	r.Form = url.Values{}
	for k, vs := range post {
		r.Form[k] = append(r.Form[k], vs...)
	}
	for k, vs := range query {
		r.Form[k] = append(r.Form[k], vs...)
	}
	return nil
}
