package storage

import (
	"strings"
	"unicode/utf8"
)

// Caps on what the sign-in and activity logs store per field, in bytes.
// Callers of those logs pass what they were sent, often by an
// unauthenticated caller; every backend stores SignIn.Bounded() and
// ActivityEvent.Bounded() so that no field of either log grows without
// bound, whichever caller forgot.
const (
	// MaxLogIDBytes caps identifiers and short names: GUIDs, client and
	// tenant IDs, IP addresses, methods, results, correlation IDs. Real
	// values are under 64 bytes.
	MaxLogIDBytes = 256
	// MaxLogTextBytes caps URLs, resource IDs and scopes, actions, issuers
	// and subjects. ARM resource IDs and federated credential issuers and
	// subjects (at most 600 characters in Entra) fit.
	MaxLogTextBytes = 1024
	// MaxLogReasonBytes caps a refusal's explanation, which may name what
	// would have matched (a few issuers or subjects).
	MaxLogReasonBytes = 2048
)

// TruncatedMarker ends a value that was cut to its cap.
const TruncatedMarker = "…(truncated)"

// Truncate returns s as valid UTF-8 without NUL bytes (which PostgreSQL
// text refuses) and at most max bytes long: a longer value is cut at a rune
// boundary and ends with TruncatedMarker.
func Truncate(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	if len(s) <= max {
		return s
	}
	if max <= len(TruncatedMarker) {
		return ""
	}
	cut := max - len(TruncatedMarker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + TruncatedMarker
}

// Bounded returns s with every text field capped (see MaxLogIDBytes and
// friends), Count at least 1 and LastSeen at least Time.
func (s SignIn) Bounded() SignIn {
	s.ID = Truncate(s.ID, MaxLogIDBytes)
	s.TenantID = Truncate(s.TenantID, MaxLogIDBytes)
	s.ClientID = Truncate(s.ClientID, MaxLogIDBytes)
	s.PrincipalID = Truncate(s.PrincipalID, MaxLogIDBytes)
	s.Source = Truncate(s.Source, MaxLogIDBytes)
	s.Credential = Truncate(s.Credential, MaxLogIDBytes)
	s.Result = Truncate(s.Result, MaxLogIDBytes)
	s.IdentityID = Truncate(s.IdentityID, MaxLogTextBytes)
	s.Resource = Truncate(s.Resource, MaxLogTextBytes)
	s.Issuer = Truncate(s.Issuer, MaxLogTextBytes)
	s.Subject = Truncate(s.Subject, MaxLogTextBytes)
	s.Reason = Truncate(s.Reason, MaxLogReasonBytes)
	if s.Count < 1 {
		s.Count = 1
	}
	if s.LastSeen.Before(s.Time) {
		s.LastSeen = s.Time
	}
	return s
}

// Bounded returns e with every text field capped (see MaxLogIDBytes and
// friends).
func (e ActivityEvent) Bounded() ActivityEvent {
	e.ID = Truncate(e.ID, MaxLogIDBytes)
	e.SubscriptionID = Truncate(e.SubscriptionID, MaxLogIDBytes)
	e.CallerAppID = Truncate(e.CallerAppID, MaxLogIDBytes)
	e.CallerObjectID = Truncate(e.CallerObjectID, MaxLogIDBytes)
	e.Method = Truncate(e.Method, MaxLogIDBytes)
	e.Result = Truncate(e.Result, MaxLogIDBytes)
	e.CorrelationID = Truncate(e.CorrelationID, MaxLogIDBytes)
	e.Action = Truncate(e.Action, MaxLogTextBytes)
	e.Scope = Truncate(e.Scope, MaxLogTextBytes)
	return e
}
