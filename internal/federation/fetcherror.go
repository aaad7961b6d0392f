package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// FetchErrorKind classifies why an issuer's keys could not be fetched.
type FetchErrorKind int

// Kinds of fetch failure.
const (
	// FetchInvalid: the issuer URL, its discovery document or its key set
	// is not acceptable (not https, wrong issuer, too large, not JSON,
	// redirected off its host).
	FetchInvalid FetchErrorKind = iota
	// FetchTimeout: the issuer did not answer in time.
	FetchTimeout
	// FetchTLS: the issuer's certificate did not verify, or the TLS
	// handshake failed.
	FetchTLS
	// FetchUnreachable: the issuer's host could not be resolved or
	// connected to, or it dropped the connection.
	FetchUnreachable
	// FetchRefused: the issuer's host is an address Ward does not fetch
	// from (see AddressError).
	FetchRefused
	// FetchStatus: the issuer answered with an HTTP status other than 200.
	FetchStatus
)

// FetchError says why an issuer's keys could not be fetched. Its Error text
// is safe to show to any caller: it names the issuer and the class of
// failure, never a Go error, a dialled address or certificate details.
// Detail has the underlying error for administrators.
type FetchError struct {
	Issuer string
	Kind   FetchErrorKind
	// Status is the HTTP status, for FetchStatus.
	Status int
	// RetryIn is how long the Fetcher waits before it tries this issuer
	// again; until then the same error is returned without a fetch.
	RetryIn time.Duration
	message string // the classified text
	cause   error
}

func (e *FetchError) Error() string {
	if e.RetryIn > 0 {
		return fmt.Sprintf("%s; Ward tries the issuer again in %s", e.message, e.RetryIn.Round(time.Second))
	}
	return e.message
}

// Unwrap returns the underlying error.
func (e *FetchError) Unwrap() error { return e.cause }

// Detail returns the underlying error's text, for the sign-in log and
// server logs only: it may name addresses and certificate details.
func (e *FetchError) Detail() string {
	if e.cause == nil {
		return ""
	}
	return e.cause.Error()
}

// retrying returns a copy of e that says when the issuer is tried again.
func (e *FetchError) retrying(in time.Duration) *FetchError {
	c := *e
	c.RetryIn = in
	return &c
}

func invalid(issuer, format string, args ...any) *FetchError {
	return &FetchError{Issuer: issuer, Kind: FetchInvalid, message: fmt.Sprintf("issuer '%s': ", issuer) + fmt.Sprintf(format, args...)}
}

// classify turns an error from an HTTP request to an issuer into a
// FetchError.
func classify(issuer string, err error) *FetchError {
	var fe *FetchError
	if errors.As(err, &fe) {
		return fe
	}
	e := &FetchError{Issuer: issuer, cause: err}
	var (
		ae *AddressError
		re *redirectError
		ne net.Error
	)
	switch {
	case errors.As(err, &ae):
		e.Kind, e.message = FetchRefused, fmt.Sprintf("issuer '%s' is refused: %s", issuer, ae.Error())
	case errors.As(err, &re):
		e.Kind, e.message = FetchInvalid, fmt.Sprintf("issuer '%s': %s", issuer, re.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.Kind, e.message = FetchTimeout, fmt.Sprintf("the request to issuer '%s' timed out", issuer)
	case errors.Is(err, context.Canceled):
		e.Kind, e.message = FetchTimeout, fmt.Sprintf("the request to issuer '%s' was cancelled", issuer)
	case isTLS(err):
		e.Kind, e.message = FetchTLS, fmt.Sprintf("TLS verification failed for issuer '%s'", issuer)
	default:
		e.Kind, e.message = FetchUnreachable, fmt.Sprintf("issuer '%s' is not reachable", issuer)
	}
	return e
}

func isTLS(err error) bool {
	var (
		cve *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
		ale tls.AlertError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
	)
	if errors.As(err, &cve) || errors.As(err, &rhe) || errors.As(err, &ale) || errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &cie) {
		return true
	}
	// Other handshake failures are plain errors from crypto/tls, and
	// net/http reports a plain-HTTP answer to the handshake in words.
	s := err.Error()
	return strings.Contains(s, "tls: ") || strings.Contains(s, "x509: ") || strings.Contains(s, "HTTP response to HTTPS client")
}
