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

// leading is how many of alphabet's first characters may open a secret: the
// letters and digits. A secret that starts with "-" reads as a flag to the
// tools users paste it into (`az login -p <secret>` fails with "expected one
// argument"), and one that starts with "~" is a shell's tilde expansion.
const leading = 62

// Generate returns a new secret in Entra's shape: a 3-character hint, "8Q~",
// then random characters. The hint is what lists show.
func Generate() (secret, hint string) {
	out := make([]byte, 0, 40)
	out = append(out, alphabet[uniform(leading)])
	for len(out) < 40 {
		if len(out) == 3 {
			out = append(out, "8Q~"...)
			continue
		}
		out = append(out, alphabet[uniform(len(alphabet))])
	}
	s := string(out)
	return s, s[:3]
}

// uniform returns a random index below n (n <= 256) with no modulo bias: a
// byte at or above the largest multiple of n is drawn again.
func uniform(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
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
