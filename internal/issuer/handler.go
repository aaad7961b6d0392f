package issuer

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/storage"
)

// Discovery is a hosted issuer's OpenID discovery document, as
// kube-apiserver serves it for its service-account issuer.
type Discovery struct {
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
}

// Paths under an issuer's URL.
const (
	DiscoveryPath = ".well-known/openid-configuration"
	JWKSPath      = "openid/v1/jwks"
)

// Discovery returns an issuer's discovery document.
func (s *Service) Discovery(id string) Discovery {
	iss := s.URL(id)
	return Discovery{Issuer: iss, JWKSURI: iss + JWKSPath, ResponseTypesSupported: []string{"id_token"},
		SubjectTypesSupported: []string{"public"}, IDTokenSigningAlgValuesSupported: []string{"RS256"}}
}

// Handler serves /oidc/<tenant>/<id>/.well-known/openid-configuration
// and /oidc/<tenant>/<id>/openid/v1/jwks.
type Handler struct {
	Issuers *Service
	// Log gets the storage failures answered with 500; nil is slog.Default.
	Log *slog.Logger
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/oidc/"), "/", 3)
	if len(parts) != 3 || !strings.EqualFold(parts[0], h.Issuers.tenantID) {
		http.NotFound(w, r)
		return
	}
	id, rest := parts[1], parts[2]
	set, err := h.Issuers.Keys(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		// Not a 404: a verifier would cache "no such issuer" and refuse
		// every token of a cluster that exists.
		h.log().ErrorContext(r.Context(), "hosted issuer keys", "issuer", id, "err", err)
		http.Error(w, "the issuer's keys could not be read; retry", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	switch rest {
	case DiscoveryPath:
		_ = json.NewEncoder(w).Encode(h.Issuers.Discovery(id))
	case JWKSPath:
		_ = json.NewEncoder(w).Encode(set)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}
