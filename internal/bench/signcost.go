package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

// SignCost measures, for about d, what one token signature of alg (RS256
// with RSA-2048, ES256 with P-256, the keys Ward signs with) costs on the
// calling goroutine's CPU: the t_sign of the limit 1/(t_sign + t_noop).
// The input is the SHA-256 of a 900-byte signing input, an access token's
// header and claims.
func SignCost(alg string, d time.Duration) (time.Duration, error) {
	var sign func(digest []byte) error
	switch strings.ToUpper(alg) {
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return 0, err
		}
		sign = func(h []byte) error { _, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h); return err }
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return 0, err
		}
		sign = func(h []byte) error { _, err := ecdsa.SignASN1(rand.Reader, k, h); return err }
	default:
		return 0, fmt.Errorf("signing cost of %q: RS256 or ES256", alg)
	}
	h := sha256.Sum256([]byte(strings.Repeat("x", 900)))
	n, start := 0, time.Now()
	for n == 0 || time.Since(start) < d {
		if err := sign(h[:]); err != nil {
			return 0, err
		}
		n++
	}
	return time.Since(start) / time.Duration(n), nil
}
