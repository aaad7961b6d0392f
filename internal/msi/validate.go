package msi

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/claimsexpr"
)

// Limits and patterns of the managed identity resource provider.
const (
	// MaxFederatedCredentials is Entra's cap per identity, the default of
	// Config.MaxFederatedCredentials.
	MaxFederatedCredentials = 20
	maxFICFieldLength       = 600 // issuer, subject, each audience
)

var (
	identityNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$`)
	ficNameRE      = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$`)
)

// ValidateIdentityName applies the user-assigned identity naming rules.
func ValidateIdentityName(name string) error {
	if !identityNameRE.MatchString(name) {
		return invalid(armerr.CodeInvalidResourceName, "Resource name '%s' is invalid. The name must be 3 to 128 characters long, start with a letter or number, and contain only letters, numbers, hyphens and underscores.", name)
	}
	return nil
}

// FederatedCredentialSpec is the writable part of a federated credential.
// A flexible credential has an Expression instead of a Subject.
type FederatedCredentialSpec struct {
	Issuer     string
	Subject    string
	Audiences  []string
	Expression *Expression
}

// Expression is a claims matching expression (package claimsexpr).
type Expression struct {
	Value           string
	LanguageVersion int
}

// ValidateFederatedCredential applies the rules Entra enforces on one
// credential; rules spanning siblings are checked at write time.
func ValidateFederatedCredential(name string, spec FederatedCredentialSpec) error {
	if !ficNameRE.MatchString(name) {
		return invalid(armerr.CodeBadRequest, "Federated Identity Credential name '%s' is invalid. The name must be 3 to 120 characters long, start with a letter or number, and contain only letters, numbers, hyphens and underscores.", name)
	}
	if spec.Issuer == "" && spec.Subject == "" && len(spec.Audiences) == 0 {
		return invalid(armerr.CodeBadRequest, "Federated Identity Credential from HTTP body has empty properties")
	}
	if len(spec.Audiences) != 1 {
		return invalid(armerr.CodeBadRequest, "Federated identity credentials must have exactly one audience.")
	}
	fields := []struct{ name, value string }{
		{"issuer", spec.Issuer}, {"subject", spec.Subject}, {"audience", spec.Audiences[0]},
	}
	if spec.Expression != nil {
		if spec.Subject != "" {
			return invalid(armerr.CodeBadRequest, "Either 'subject' or 'claimsMatchingExpression' must be defined, but not both: set 'subject' to null when 'claimsMatchingExpression' is defined.")
		}
		if err := ValidateExpression(*spec.Expression); err != nil {
			return err
		}
		fields = slices.Delete(fields, 1, 2) // no subject
	}
	for _, f := range fields {
		switch {
		case f.value == "":
			return invalid(armerr.CodeBadRequest, "The federated identity credential %s is required and cannot be empty.", f.name)
		case len(f.value) > maxFICFieldLength:
			return invalid(armerr.CodeBadRequest, "The federated identity credential %s is %d characters long; at most %d are allowed.", f.name, len(f.value), maxFICFieldLength)
		case strings.Contains(f.value, "*"):
			return invalid(armerr.CodeBadRequest, "The federated identity credential %s '%s' contains a wildcard; wildcards are not supported, the value must match the token claim exactly.", f.name, f.value)
		case strings.TrimSpace(f.value) != f.value:
			return invalid(armerr.CodeBadRequest, "The federated identity credential %s '%s' has leading or trailing whitespace; it would never match a token claim.", f.name, f.value)
		}
	}
	u, err := url.Parse(spec.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return invalid(armerr.CodeBadRequest, "The federated identity credential issuer '%s' is invalid: it must be an absolute https URL without query or fragment, exactly as the token's 'iss' claim.", spec.Issuer)
	}
	return nil
}

// ValidateExpression parses a claims matching expression as Entra's
// language version 1 defines it, and words a refusal as ARM does.
func ValidateExpression(e Expression) error {
	_, err := claimsexpr.ParseVersion(e.Value, e.LanguageVersion)
	var ve *claimsexpr.VersionError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return invalid(armerr.CodeBadRequest, "The claimsMatchingExpression languageVersion '%d' is invalid. The only supported languageVersion is %d.", e.LanguageVersion, claimsexpr.LanguageVersion)
	}
	return invalid(armerr.CodeBadRequest, "The claimsMatchingExpression value '%s' is invalid: %v. An expression is one or more clauses claims['<claim>'] eq|matches '<value>' joined by ' and '; 'matches' accepts the wildcards * and ?; or, not and regular expressions are not supported.", e.Value, err)
}
