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
	discovery := router.Public("OpenID discovery and signing keys, published so clients and resources can verify tokens")
	for _, p := range []string{"/common/discovery/instance", "/discovery/instance", "/discovery/keys", "/discovery/v2.0/keys",
		"/{tenant}/v2.0/.well-known/openid-configuration", "/{tenant}/.well-known/openid-configuration",
		"/{tenant}/discovery/keys", "/{tenant}/discovery/v2.0/keys"} {
		mux.Handle(router.Route{Method: http.MethodGet, Pattern: p, Access: discovery, Handler: h, Protocol: proto})
	}
	token := router.Public("the token endpoint authenticates the client by the credential in the form (secret, certificate or federated assertion)")
	for _, p := range []string{"/{tenant}/oauth2/v2.0/token", "/{tenant}/oauth2/token"} {
		mux.Handle(router.Route{Method: http.MethodPost, Pattern: p, Access: token, Handler: h, Protocol: proto, MaxBody: maxFormBytes})
	}
}
