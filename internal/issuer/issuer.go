// Package issuer serves the OIDC issuers Ward hosts for clusters, publicly,
// as kube-apiserver serves its own: the discovery document and the JWKS at
// <public-url>/oidc/<tenant>/<cluster guid>/.
package issuer

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// Keys returns a hosted issuer's published keys by cluster GUID.
type Keys interface {
	IssuerKeys(ctx context.Context, clusterID string) (jose.JSONWebKeySet, error)
	IssuerURL(clusterID string) string
}

// Handler serves /oidc/<tenant>/<cluster>/.well-known/openid-configuration
// and /oidc/<tenant>/<cluster>/openid/v1/jwks.
type Handler struct {
	Keys   Keys
	Tenant string
}

// Claims reports whether path is under the hosted issuers.
func Claims(path string) bool { return strings.HasPrefix(path, "/oidc/") }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/oidc/"), "/", 3)
	if len(parts) != 3 || !strings.EqualFold(parts[0], h.Tenant) {
		http.NotFound(w, r)
		return
	}
	cluster, rest := parts[1], parts[2]
	set, err := h.Keys.IssuerKeys(r.Context(), cluster)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	iss := h.Keys.IssuerURL(cluster)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	switch rest {
	case ".well-known/openid-configuration":
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "jwks_uri": iss + "openid/v1/jwks", "response_types_supported": []string{"id_token"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	case "openid/v1/jwks":
		_ = json.NewEncoder(w).Encode(set)
	default:
		http.NotFound(w, r)
	}
}
