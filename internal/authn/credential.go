package authn

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ClaimCredential is the claim in which Ward's token service names the
// credential a token was issued for. Nothing outside Ward reads it; inside,
// what is derived from a token (a console session) is bound to it, so that
// removing the credential ends the derived thing too.
const ClaimCredential = "xms_ward_cred"

// Kinds of credential a CredentialRef names.
const (
	CredentialSecret      = "secret"
	CredentialCertificate = "certificate"
	CredentialFederated   = "federated"
)

// SecretCredential names a service principal's client secret by key ID.
func SecretCredential(keyID string) string { return CredentialSecret + ":" + keyID }

// CertificateCredential names a service principal's certificate by key ID.
func CertificateCredential(keyID string) string { return CredentialCertificate + ":" + keyID }

// FederatedCredential names an identity's federated credential by name and
// by what it trusts: a credential of the same name edited to trust another
// issuer or subject is not the one a token was issued for.
func FederatedCredential(name, issuer, subject string) string {
	d := sha256.Sum256([]byte(issuer + "\n" + subject))
	return CredentialFederated + ":" + hex.EncodeToString(d[:8]) + ":" + name
}

// CredentialRef splits a ClaimCredential value into kind and key ID (or,
// for a federated credential, its name); ok is false for "" or an unknown
// form.
func CredentialRef(v string) (kind, id string, ok bool) {
	kind, id, ok = strings.Cut(v, ":")
	switch {
	case !ok || id == "":
		return "", "", false
	case kind == CredentialSecret || kind == CredentialCertificate:
		return kind, id, true
	case kind == CredentialFederated:
		if _, name, ok := strings.Cut(id, ":"); ok && name != "" {
			return kind, name, true
		}
	}
	return "", "", false
}
