package msi

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
)

// Limits and patterns of the managed identity resource provider.
const (
	MaxFederatedCredentials = 20  // per identity
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
type FederatedCredentialSpec struct {
	Issuer    string
	Subject   string
	Audiences []string
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
