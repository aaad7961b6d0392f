package sts

import (
	"net"
	"net/http"

	"github.com/ward-id/ward/internal/storage"
)

// unknownClient is Entra's AADSTS700016 for a client ID that names no
// application or managed identity. Client IDs are GUIDs, so one that is not
// is refused before any lookup; the identifier is echoed as Entra does, cut
// to the length the sign-in log keeps, so a caller cannot make Ward store or
// send back an arbitrarily long value.
func unknownClient(clientID, tenant string) *Error {
	return newErr(http.StatusBadRequest, errUnauthorizedClient, CodeUnknownClient,
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
		storage.Truncate(clientID, storage.MaxLogIDBytes), tenant)
}

// remoteIP is the address the request came from (the peer, never a
// forwarding header, which any caller can write).
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
