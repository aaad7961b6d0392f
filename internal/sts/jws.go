package sts

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/ward-id/ward/internal/signer"
)

// The access token's compact JWS is written here with the standard
// library rather than through go-jose's general signer, which for one
// token builds a signer, a header map, a JSON object model and ASN.1 big
// numbers: about 40% of an ES256 mint besides the signature itself
// (BenchmarkTokenHandler/mint/ES256's profile). The format is the one
// go-jose wrote before (same header fields in the same order) and is
// checked against go-jose's verifier in TestCompactJWS.

// jwsHeader is the protected header of an access token, its fields in
// go-jose's (alphabetical) order.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
	X5t string `json:"x5t,omitempty"`
}

// headerCache holds each signing key's encoded headers (with and without
// x5t), so a token costs no header encoding.
type headerCache struct {
	mu sync.Mutex
	m  map[string]string // kid + "\x00" + x5t -> base64url header
}

func (c *headerCache) get(key signer.Key, withX5T bool) (string, error) {
	x5t := ""
	if withX5T {
		x5t = key.X5T
	}
	k := key.ID + "\x00" + x5t
	c.mu.Lock()
	h, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return h, nil
	}
	b, err := json.Marshal(jwsHeader{Alg: string(key.Alg), Kid: key.ID, Typ: "JWT", X5t: x5t})
	if err != nil {
		return "", err
	}
	h = base64.RawURLEncoding.EncodeToString(b)
	c.mu.Lock()
	if c.m == nil || len(c.m) > 64 { // keys rotate rarely: a few entries
		c.m = map[string]string{}
	}
	c.m[k] = h
	c.mu.Unlock()
	return h, nil
}

// signCompact returns header.payload.signature for an RS256 or ES256 key.
func signCompact(key signer.Key, header string, payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	sigLen := 0
	switch key.Alg {
	case jose.RS256:
		sigLen = 512 // up to RSA-4096
	case jose.ES256:
		sigLen = 64
	default:
		return "", fmt.Errorf("compact JWS: algorithm %s", key.Alg)
	}
	b := make([]byte, 0, len(header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(sigLen))
	b = append(b, header...)
	b = append(b, '.')
	b = enc.AppendEncode(b, payload)
	digest := sha256.Sum256(b)
	sig, err := key.Private.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	if key.Alg == jose.ES256 {
		if sig, err = rawECDSA(sig, 32); err != nil {
			return "", err
		}
	}
	b = append(b, '.')
	b = enc.AppendEncode(b, sig)
	return string(b), nil
}

// rawECDSA turns an ASN.1 ECDSA signature into JWS's r || s, each size
// bytes (RFC 7518 §3.4).
func rawECDSA(der []byte, size int) ([]byte, error) {
	var seq, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1(&r, asn1.INTEGER) || !seq.ReadASN1(&s, asn1.INTEGER) || !seq.Empty() {
		return nil, errors.New("sign access token: malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	for i, n := range [][]byte{r, s} {
		n = bytes.TrimLeft(n, "\x00")
		if len(n) > size {
			return nil, errors.New("sign access token: ECDSA signature too long")
		}
		copy(out[(i+1)*size-len(n):(i+1)*size], n)
	}
	return out, nil
}
