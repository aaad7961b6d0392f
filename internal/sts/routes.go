package sts

import (
	"net/http"

	"github.com/ward-id/ward/internal/router"
)

// Mount puts the authority's routes on mux. They are public by nature:
// discovery documents and keys are published for anyone to verify tokens,
// and the token endpoints authenticate the client in the request body
// (secret, certificate or federated assertion), never with a bearer token.
func (h *Handler) Mount(mux *router.Mux) {
	// A recovered panic is the token service's AADSTS 500, as its other
	// internal errors.
	proto := &router.Protocol{Name: "oauth2", Internal: func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, newErr(http.StatusInternalServerError, errTemporarilyUnavail, CodeInternalError, "The token service hit an internal error; retry the request."), h.svc.now(), h.svc.publicURL)
	}}
	get := func(pattern string, access router.Access, fn http.HandlerFunc) {
		mux.Handle(router.Route{Method: http.MethodGet, Pattern: pattern, Access: access, Handler: fn, Protocol: proto})
	}
	discovery := router.Public("OpenID discovery and signing keys, published so clients and resources can verify tokens")
	get("/common/discovery/instance", discovery, h.instanceDiscovery)
	get("/discovery/instance", discovery, h.instanceDiscovery)
	get("/discovery/keys", discovery, h.jwks)
	get("/discovery/v2.0/keys", discovery, h.jwks)
	get("/{tenant}/v2.0/.well-known/openid-configuration", discovery, h.inTenant(h.discoveryV2))
	get("/{tenant}/.well-known/openid-configuration", discovery, h.inTenant(h.discoveryV1))
	get("/{tenant}/discovery/keys", discovery, h.inTenant(h.tenantJWKS))
	get("/{tenant}/discovery/v2.0/keys", discovery, h.inTenant(h.tenantJWKS))
	token := router.Public("the token endpoint authenticates the client by the credential in the form (secret, certificate or federated assertion)")
	post := func(pattern string, fn http.HandlerFunc) {
		mux.Handle(router.Route{Method: http.MethodPost, Pattern: pattern, Access: token, Handler: fn, Protocol: proto, MaxBody: maxFormBytes})
	}
	post("/{tenant}/oauth2/v2.0/token", h.tokenV2)
	post("/{tenant}/oauth2/token", h.tokenV1)
}
