package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// oidcIssuer is an OpenID Connect issuer run by the test over HTTPS, like a
// Kubernetes API server's service-account issuer.
type oidcIssuer struct {
	srv    *httptest.Server
	url    string
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	caFile string
}

func newOIDCIssuer(t *testing.T) *oidcIssuer {
	t.Helper()
	is := &oidcIssuer{}
	var err error
	if is.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if is.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": is.url, "jwks_uri": is.url + "/openid/v1/jwks",
			"response_types_supported": []string{"id_token"}, "id_token_signing_alg_values_supported": []string{"RS256", "ES256"}})
	})
	mux.HandleFunc("/openid/v1/jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &is.rsa.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
			{Key: &is.ec.PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
		}})
	})
	is.srv = httptest.NewTLSServer(mux)
	t.Cleanup(is.srv.Close)
	is.url = is.srv.URL
	is.caFile = filepath.Join(t.TempDir(), "issuer-ca.pem")
	if err := os.WriteFile(is.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return is
}

// token signs a service-account-style token.
func (is *oidcIssuer) token(t *testing.T, c jwt.Claims, alg jose.SignatureAlgorithm, kid string) string {
	t.Helper()
	var key any = is.rsa
	if alg == jose.ES256 {
		key = is.ec
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// saToken is a valid Kubernetes-style service account token for subject.
func (is *oidcIssuer) saToken(t *testing.T, subject string) string {
	now := time.Now()
	return is.token(t, jwt.Claims{Issuer: is.url, Subject: subject, Audience: jwt.Audience{"api://AzureADTokenExchange"},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}, jose.RS256, "rsa-1")
}
