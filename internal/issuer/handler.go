package issuer

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/ward-id/ward/internal/router"
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

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	Issuers *Service
	// Logger gets the storage failures answered with 500.
	Logger *slog.Logger
}

// Handler serves /oidc/<tenant>/<id>/.well-known/openid-configuration
// and /oidc/<tenant>/<id>/openid/v1/jwks, one handler each (Mount).
type Handler struct{ cfg HandlerConfig }

// NewHandler returns the handler; a nil Logger is slog.Default().
func NewHandler(cfg HandlerConfig) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg}
}

// discovery serves GET /oidc/{tenant}/{cluster}/.well-known/openid-configuration.
func (h *Handler) discovery(w http.ResponseWriter, r *http.Request, id string, _ jose.JSONWebKeySet) {
	_ = json.NewEncoder(w).Encode(h.cfg.Issuers.Discovery(id))
}

// jwks serves GET /oidc/{tenant}/{cluster}/openid/v1/jwks.
func (h *Handler) jwks(w http.ResponseWriter, _ *http.Request, _ string, set jose.JSONWebKeySet) {
	_ = json.NewEncoder(w).Encode(set)
}

// issuer wraps a route of one hosted issuer: the {tenant} must be Ward's
// and the {cluster} an issuer whose keys exist (else 404); a storage
// failure is a 500, not a 404, since a verifier would cache "no such
// issuer" and refuse every token of a cluster that exists.
func (h *Handler) issuer(fn func(w http.ResponseWriter, r *http.Request, id string, set jose.JSONWebKeySet)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, p, _ := router.FromContext(r.Context())
		if !strings.EqualFold(p.Get("tenant"), h.cfg.Issuers.tenantID) {
			http.NotFound(w, r)
			return
		}
		id := p.Get("cluster")
		set, err := h.cfg.Issuers.Keys(r.Context(), id)
		if errors.Is(err, storage.ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			h.cfg.Logger.ErrorContext(r.Context(), "hosted issuer keys", "issuer", id, "err", err)
			http.Error(w, "the issuer's keys could not be read; retry", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		fn(w, r, id, set)
	}
}
