package federation

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
)

// CertificateFor returns the certificate, among the registered ones (DER),
// that a certificate-signed assertion names in its header, as Entra finds
// a client certificate: x5t#S256 (SHA-256, standard or URL base64) or x5t
// (SHA-1). It returns nil when none matches. Service principals' client
// assertions and connected machines' agent assertions both use it.
func (a *Assertion) CertificateFor(ders [][]byte) (*x509.Certificate, error) {
	thumb256, _ := a.Header["x5t#S256"].(string)
	thumb1, _ := a.Header["x5t"].(string)
	for _, der := range ders {
		s256 := sha256.Sum256(der)
		s1 := sha1.Sum(der)
		if (thumb256 != "" && (thumb256 == base64.StdEncoding.EncodeToString(s256[:]) || thumb256 == base64.RawURLEncoding.EncodeToString(s256[:]) ||
			thumb256 == base64.URLEncoding.EncodeToString(s256[:]))) ||
			(thumb1 != "" && (thumb1 == base64.RawURLEncoding.EncodeToString(s1[:]) || thumb1 == base64.StdEncoding.EncodeToString(s1[:]))) {
			return x509.ParseCertificate(der)
		}
	}
	return nil, nil
}
