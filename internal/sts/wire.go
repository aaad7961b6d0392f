package sts

import "strings"

// Wire names of the Entra ID token service protocol as Ward serves it.

// Form parameters and values.
const (
	ParamGrantType           = "grant_type"
	ParamClientID            = "client_id"
	ParamClientSecret        = "client_secret"
	ParamClientAssertion     = "client_assertion"
	ParamClientAssertionType = "client_assertion_type"
	ParamScope               = "scope"
	ParamResource            = "resource"

	GrantClientCredentials = "client_credentials"
	AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	DefaultScopeSuffix     = "/.default"
)

// headerClientRequestID is MSAL's request ID (header or query parameter),
// echoed as the error's correlation_id.
const headerClientRequestID = "client-request-id"

// OIDC scopes MSAL appends to every request; ignored when picking the resource.
var oidcScopes = []string{"openid", "offline_access", "profile", "email"}

// isOIDCScope reports whether sc is one of oidcScopes, in any letter case.
func isOIDCScope(sc string) bool {
	for _, o := range oidcScopes {
		if strings.EqualFold(sc, o) {
			return true
		}
	}
	return false
}

// Tenant aliases accepted where Entra accepts them.
const (
	TenantCommon        = "common"
	TenantOrganizations = "organizations"
	TenantConsumers     = "consumers"
)

// OAuth error values.
const (
	errInvalidRequest       = "invalid_request"
	errInvalidClient        = "invalid_client"
	errUnauthorizedClient   = "unauthorized_client"
	errUnsupportedGrantType = "unsupported_grant_type"
	errInvalidScope         = "invalid_scope"
	errInvalidResource      = "invalid_resource"
	errTemporarilyUnavail   = "temporarily_unavailable"
)

// AADSTS codes Ward returns.
const (
	CodeTenantNotFound           = 90002
	CodeMalformedTenant          = 900023
	CodeMissingParameter         = 900144
	CodeUnsupportedGrantType     = 70003
	CodeInvalidScope             = 70011
	CodeScopeWithoutDefault      = 1002012
	CodeUnknownClient            = 700016
	CodeInvalidSecret            = 7000215
	CodeExpiredSecret            = 7000222
	CodeNoCredential             = 7000218
	CodeInvalidJWT               = 50027
	CodeAssertionTimeRange       = 700024
	CodeInvalidSignature         = 700027
	CodeNoMatchingFederation     = 70021
	CodeNoMatchingIssuer         = 700211
	CodeNoMatchingAudience       = 700212
	CodeNoMatchingSubject        = 700213
	CodeExternalOIDCFailed       = 50166
	CodeInternalError            = 50000
	CodeCertificateCredentialBad = 700027
)

// Token lifetimes and limits.
const (
	maxFormBytes    = 64 << 10
	assertionLeeway = 5 * 60 // seconds of clock skew tolerated on assertions
)
