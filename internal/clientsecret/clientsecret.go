// Package clientsecret generates service-principal client secrets and checks
// them against stored salted hashes.
//
// Secrets are 40 random characters (about 230 bits), so a salted SHA-256 is
// enough to make a leaked database useless; a slow password hash would only
// add milliseconds to every token request without adding security.
package clientsecret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"

// Generate returns a new secret in Entra's shape: a 3-character hint, "8Q~",
// then random characters. The hint is what lists show.
func Generate() (secret, hint string) {
	b := make([]byte, 37)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	out := make([]byte, 0, 40)
	for i, c := range b {
		out = append(out, alphabet[int(c)%len(alphabet)])
		if i == 2 {
			out = append(out, "8Q~"...)
		}
	}
	s := string(out)
	return s, s[:3]
}

// Hash returns the salted hash stored for secret.
func Hash(salt []byte, secret string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// New builds the stored form of secret: a fresh salt and its hash.
func New(keyID, appID, displayName, secret, hint string, created, expires time.Time) storage.ClientSecret {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	return storage.ClientSecret{KeyID: keyID, AppID: appID, Hint: hint, DisplayName: displayName,
		Salt: salt, Hash: Hash(salt, secret), CreatedAt: created, ExpiresAt: expires}
}

// Match returns the stored secret that secret matches, in constant time per
// candidate; ok is false when none does.
func Match(stored []storage.ClientSecret, secret string) (storage.ClientSecret, bool) {
	for _, s := range stored {
		if subtle.ConstantTimeCompare(Hash(s.Salt, secret), s.Hash) == 1 {
			return s, true
		}
	}
	return storage.ClientSecret{}, false
}
