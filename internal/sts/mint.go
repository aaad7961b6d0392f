package sts

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/ward-id/ward/internal/signer"
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// principal is who a token is minted for.
type principal struct {
	TenantID   string
	AppID      string // client ID
	ObjectID   string // principal ID
	MIResource string // managed identity resource ID ("" for service principals)
	AuthMethod string // "1" secret, "2" certificate or federated assertion
	Credential string // clientSecret, certificate, federated (for the sign-in log)
	// CredentialID is the very credential verified (authn.ClaimCredential),
	// "" for a managed identity token an attested agent asked for.
	CredentialID string
	ManagedKind  bool
}

// accessClaims are the claims Entra puts in app-only access tokens.
type accessClaims struct {
	Aud      string `json:"aud"`
	Iss      string `json:"iss"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
	Aio      string `json:"aio"`
	AppID    string `json:"appid,omitempty"`
	AppIDACR string `json:"appidacr,omitempty"`
	Azp      string `json:"azp,omitempty"`
	AzpACR   string `json:"azpacr,omitempty"`
	Idp      string `json:"idp"`
	Idtyp    string `json:"idtyp"`
	Oid      string `json:"oid"`
	Rh       string `json:"rh"`
	Sub      string `json:"sub"`
	Tid      string `json:"tid"`
	Uti      string `json:"uti"`
	Ver      string `json:"ver"`
	XmsMirid string `json:"xms_mirid,omitempty"`
	// Cred is authn.ClaimCredential: Ward's own, read by Ward only.
	Cred string `json:"xms_ward_cred,omitempty"`
}

// IssuerV1 and IssuerV2 are the two issuer forms of a tenant. Ward serves
// both from its own host, so they share scheme, host and port with the
// authority (MSAL checks that).
func IssuerV1(publicURL, tenant string) string { return publicURL + "/" + tenant + "/" }

// IssuerV2 is the v2.0 issuer of a tenant.
func IssuerV2(publicURL, tenant string) string { return publicURL + "/" + tenant + "/v2.0" }

// tokenVersion picks the access token version the way Entra does it by the
// resource's accepted version: resources named by a GUID (an app's client
// ID) get v2.0 tokens; resources named by URI (https://management.azure.com/,
// https://vault.azure.net, Ward's own URL) get v1.0 tokens like Azure's
// first-party resources.
func tokenVersion(resource string) int {
	if guidRE.MatchString(resource) {
		return 2
	}
	return 1
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// mint signs an access token for p and resource with the current key.
func (s *Service) mint(p principal, resource string, lifetime time.Duration) (string, time.Time, error) {
	now := s.now().UTC().Truncate(time.Second)
	exp := now.Add(lifetime)
	key := s.keys.Signing()
	c := accessClaims{
		Aud: resource, Iat: now.Unix(), Nbf: now.Unix(), Exp: exp.Unix(), Aio: randomID(24),
		Idp: IssuerV1(s.publicURL, p.TenantID), Idtyp: "app", Oid: p.ObjectID, Sub: p.ObjectID,
		Rh: randomID(18), Tid: p.TenantID, Uti: randomID(16), Cred: p.CredentialID,
	}
	v1 := tokenVersion(resource) != 2
	if !v1 {
		c.Iss, c.Ver, c.Azp, c.AzpACR = IssuerV2(s.publicURL, p.TenantID), "2.0", p.AppID, p.AuthMethod
		c.Aud = strings.ToLower(resource)
	} else {
		c.Iss, c.Ver, c.AppID, c.AppIDACR = IssuerV1(s.publicURL, p.TenantID), "1.0", p.AppID, p.AuthMethod
		c.XmsMirid = p.MIResource
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", time.Time{}, err
	}
	if key.Alg == jose.RS256 || key.Alg == jose.ES256 {
		header, err := s.headers.get(key, v1) // v1 tokens carry x5t, as Entra's
		if err != nil {
			return "", time.Time{}, err
		}
		tok, err := signCompact(key, header, payload)
		return tok, exp, err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if v1 {
		opts = opts.WithHeader("x5t", key.X5T)
	}
	sig, err := newSigner(key, opts)
	if err != nil {
		return "", time.Time{}, err
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		return "", time.Time{}, err
	}
	tok, err := jws.CompactSerialize()
	return tok, exp, err
}

func newSigner(key signer.Key, opts *jose.SignerOptions) (jose.Signer, error) {
	return jose.NewSigner(jose.SigningKey{Algorithm: key.Alg, Key: jose.JSONWebKey{Key: key.Private, KeyID: key.ID}}, opts)
}
