package issuer

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/audience"
)

// DefaultAudience is the audience of a service-account token when the
// request names none: the one Entra expects of a federated assertion.
const DefaultAudience = audience.TokenExchange

// InvalidError is a request the issuer refuses; Message says what to send
// instead. Callers turn it into their protocol's 400.
type InvalidError struct{ Message string }

func (e *InvalidError) Error() string { return e.Message }

func invalid(format string, args ...any) *InvalidError {
	return &InvalidError{Message: fmt.Sprintf(format, args...)}
}

// TokenRequest asks for a service-account token.
type TokenRequest struct {
	Namespace, ServiceAccount, Audience string
	Duration                            time.Duration
}

// ServiceAccountToken mints a token shaped exactly like kube-apiserver's
// projected service-account token, signed with the issuer's current key.
// The caller checks that the issuer is enabled and signs with Ward's keys.
func (s *Service) ServiceAccountToken(ctx context.Context, id string, req TokenRequest) (string, time.Time, error) {
	if req.Namespace == "" || req.ServiceAccount == "" {
		return "", time.Time{}, invalid("namespace and serviceAccount are required.")
	}
	if req.Audience == "" {
		req.Audience = DefaultAudience
	}
	if req.Duration <= 0 {
		req.Duration = time.Hour
	}
	if req.Duration < 10*time.Minute || req.Duration > 48*time.Hour {
		return "", time.Time{}, invalid("The token duration must be between 10m and 48h, as kube-apiserver's expirationSeconds.")
	}
	m, err := s.signer(ctx, id)
	if err != nil {
		return "", time.Time{}, err
	}
	key := m.Signing()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: key.Alg, Key: jose.JSONWebKey{Key: key.Private, KeyID: key.ID}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	exp := now.Add(req.Duration)
	saUID := uuid.NewHash(sha1.New(), uuid.NameSpaceURL, []byte(id+"/"+req.Namespace+"/"+req.ServiceAccount), 5).String()
	claims := struct {
		jwt.Claims
		Kubernetes map[string]any `json:"kubernetes.io"`
	}{
		Claims: jwt.Claims{Issuer: s.URL(id), Subject: "system:serviceaccount:" + req.Namespace + ":" + req.ServiceAccount,
			Audience: jwt.Audience{req.Audience}, IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp)},
		Kubernetes: map[string]any{"namespace": req.Namespace, "serviceaccount": map[string]string{"name": req.ServiceAccount, "uid": saUID}},
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	return tok, exp, err
}

// SigningKeyPEM returns an issuer's current private and public key (PKCS#8
// and PKIX PEM), for a kube-apiserver's --service-account-signing-key-file.
func (s *Service) SigningKeyPEM(ctx context.Context, id string) (priv, pub []byte, err error) {
	m, err := s.signer(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	k := m.Signing()
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(k.Private.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), nil
}

// KeyID returns the kid of an issuer's current key.
func (s *Service) KeyID(ctx context.Context, id string) (string, error) {
	m, err := s.signer(ctx, id)
	if err != nil {
		return "", err
	}
	return m.Signing().ID, nil
}

// Rotate makes an issuer sign with a new key; the old one stays published
// until the tokens it signed expire. It returns the new kid.
func (s *Service) Rotate(ctx context.Context, id string) (string, error) {
	m, err := s.signer(ctx, id)
	if err != nil {
		return "", err
	}
	k, err := m.Rotate(ctx)
	return k.ID, err
}

// KubeKeys validates uploaded public keys and gives each the kid
// kube-apiserver gives it: base64url(SHA-256(DER of the PKIX public key)),
// so tokens from a real apiserver find their key.
func KubeKeys(in jose.JSONWebKeySet) (jose.JSONWebKeySet, error) {
	if len(in.Keys) == 0 || len(in.Keys) > 10 {
		return jose.JSONWebKeySet{}, invalid("Give 1 to 10 service-account public keys.")
	}
	out := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(in.Keys))}
	for i, k := range in.Keys {
		pub := k.Public()
		if !pub.Valid() || !pub.IsPublic() {
			return jose.JSONWebKeySet{}, invalid("Service-account key %d is not a valid public key.", i)
		}
		alg := "RS256"
		switch pub.Key.(type) {
		case *rsa.PublicKey:
		case *ecdsa.PublicKey:
			alg = "ES256"
		default:
			return jose.JSONWebKeySet{}, invalid("Service-account key %d must be RSA or ECDSA.", i)
		}
		der, err := x509.MarshalPKIXPublicKey(pub.Key)
		if err != nil {
			return jose.JSONWebKeySet{}, invalid("Service-account key %d: %v", i, err)
		}
		sum := sha256.Sum256(der)
		out.Keys = append(out.Keys, jose.JSONWebKey{Key: pub.Key, KeyID: base64.RawURLEncoding.EncodeToString(sum[:]), Algorithm: alg, Use: "sig"})
	}
	return out, nil
}
