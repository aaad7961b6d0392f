package issuer

import (
	"net/http"

	"github.com/ward-id/ward/internal/router"
)

// Mount puts the hosted issuers' discovery document and JWKS on mux. They
// are public, as kube-apiserver's own issuer endpoints are: anyone who
// verifies a service-account token needs them.
func (h *Handler) Mount(mux *router.Mux) {
	public := router.Public("a hosted cluster issuer's discovery document and public keys, as kube-apiserver publishes them")
	mux.Handle(router.Route{Method: http.MethodGet, Pattern: "/oidc/{tenant}/{cluster}/" + DiscoveryPath, Access: public, Handler: h.issuer(h.discovery)})
	mux.Handle(router.Route{Method: http.MethodGet, Pattern: "/oidc/{tenant}/{cluster}/" + JWKSPath, Access: public, Handler: h.issuer(h.jwks)})
}
