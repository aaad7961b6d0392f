// Package challenge holds the WWW-Authenticate challenges Ward's resources
// send with a 401, one per protocol, and the parameter names clients read
// from them. Each shape is the one the real service sends and its SDKs
// parse: a change here is a change on the wire.
package challenge

import (
	"fmt"
	"strings"
)

// Header is the response header that carries a challenge.
const Header = "WWW-Authenticate"

// Parameters of a Bearer challenge.
const (
	// ParamAuthorization is Key Vault's authority (tenant as the last
	// segment).
	ParamAuthorization = "authorization"
	// ParamAuthorizationURI is ARM's and Graph's authority.
	ParamAuthorizationURI = "authorization_uri"
	// ParamResource is the resource to ask a token for (Key Vault).
	ParamResource = "resource"
	// ParamResourceID is the resource to ask a token for (Azure Storage).
	ParamResourceID = "resource_id"
	// ParamScope is the scope to ask a token for, where a service names a
	// scope instead of a resource.
	ParamScope = "scope"
	// ParamError is the RFC 6750 error code.
	ParamError = "error"
	// ParamErrorDescription explains ParamError.
	ParamErrorDescription = "error_description"
	// ErrInvalidToken is the RFC 6750 error of a missing, expired or
	// malformed token.
	ErrInvalidToken = "invalid_token"
)

// KeyVault is the challenge a vault (and a resource protected like one, as
// authcheck does) sends: where to get a token and for which resource.
// azsecrets parses it: values without spaces, the tenant as the fourth '/'
// segment of authorization.
func KeyVault(authorization, resource string) string {
	return fmt.Sprintf(`Bearer %s="%s", %s="%s"`, ParamAuthorization, authorization, ParamResource, resource)
}

// ARM is Azure Resource Manager's challenge: the authority and why the token
// was refused (double quotes in the description become single quotes, so
// the header stays one quoted value).
func ARM(authorizationURI, description string) string {
	return fmt.Sprintf(`Bearer %s="%s", %s="%s", %s="%s"`, ParamAuthorizationURI, authorizationURI,
		ParamError, ErrInvalidToken, ParamErrorDescription, strings.ReplaceAll(description, `"`, "'"))
}

// Graph is Microsoft Graph's challenge (also the signing-key rotation API's):
// an empty realm, the authority, and invalid_token.
func Graph(authorizationURI string) string {
	return fmt.Sprintf(`Bearer realm="", %s="%s", %s="%s"`, ParamAuthorizationURI, authorizationURI, ParamError, ErrInvalidToken)
}

// Storage is Azure Storage's challenge: the authority and the resource,
// unquoted and separated by a space, as the Blob service sends it and its
// SDKs parse it (the tenant is the authorization_uri's first segment).
func Storage(authority, resource string) string {
	return fmt.Sprintf("Bearer %s=%s/oauth2/authorize %s=%s", ParamAuthorizationURI, authority, ParamResourceID, resource)
}

// Param reads one parameter of a Bearer challenge, unquoted; "" when absent.
func Param(header, name string) string {
	for _, part := range strings.Split(strings.TrimPrefix(strings.TrimSpace(header), "Bearer "), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(k, name) {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
