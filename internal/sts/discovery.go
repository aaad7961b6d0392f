package sts

import "strings"

// Discovery is the authority's OpenID discovery document
// (/{tenant}/v2.0/.well-known/openid-configuration and the v1 one), in
// Entra's shape. Fields are in the order of their JSON names, the order
// Entra's clients have always received them from Ward.
type Discovery struct {
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint,omitempty"` // v2.0 only
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	MSGraphHost                       string   `json:"msgraph_host"`
	RBACURL                           string   `json:"rbac_url"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	TenantRegionScope                 string   `json:"tenant_region_scope"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
}

// Discovery returns the discovery document of the authority seg (a tenant
// ID, domain or alias as the client sent it) whose tenant resolved to tid;
// v2 selects the v2.0 endpoints and issuer. For common and organizations
// the issuer carries Entra's {tenantid} placeholder.
func (s *Service) Discovery(tid, seg string, v2 bool) Discovery {
	base := s.publicURL
	authority := base + "/" + seg
	issuerTenant := tid
	if l := strings.ToLower(seg); l == TenantCommon || l == TenantOrganizations {
		issuerTenant = "{tenantid}"
	}
	d := Discovery{
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ResponseTypesSupported:            []string{"code", "id_token", "code id_token", "id_token token"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		RequestURIParameterSupported:      false,
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		ClaimsSupported:                   []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver", "oid", "appid", "azp", "idtyp", "xms_mirid"},
		TenantRegionScope:                 "WW",
		CloudInstanceName:                 "ward",
		CloudGraphHostName:                hostOf(base),
		MSGraphHost:                       hostOf(base),
		RBACURL:                           base,
	}
	if v2 {
		d.Issuer = IssuerV2(base, issuerTenant)
		d.TokenEndpoint = authority + "/oauth2/v2.0/token"
		d.AuthorizationEndpoint = authority + "/oauth2/v2.0/authorize"
		d.DeviceAuthorizationEndpoint = authority + "/oauth2/v2.0/devicecode"
		d.EndSessionEndpoint = authority + "/oauth2/v2.0/logout"
		d.JWKSURI = authority + "/discovery/v2.0/keys"
	} else {
		d.Issuer = IssuerV1(base, issuerTenant)
		d.TokenEndpoint = authority + "/oauth2/token"
		d.AuthorizationEndpoint = authority + "/oauth2/authorize"
		d.EndSessionEndpoint = authority + "/oauth2/logout"
		d.JWKSURI = authority + "/discovery/keys"
	}
	return d
}
