// Package seal encrypts small values at rest under Ward's key-encryption
// key (KEK): AES-256-GCM with a key derived per purpose, so a value sealed
// for one purpose never opens as another, and a random nonce per value.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Box seals and opens values for one purpose.
type Box struct{ aead cipher.AEAD }

// New derives the purpose's key from kek.
func New(kek []byte, purpose string) (*Box, error) {
	mac := hmac.New(sha256.New, kek)
	mac.Write([]byte("ward seal v1: " + purpose))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to name (authenticated, not secret).
func (b *Box) Seal(name string, plaintext []byte) string {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.StdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plaintext, []byte(name)))
}

// ErrOpen means the value was not sealed under this KEK for this name.
var ErrOpen = errors.New("the value does not open with this key-encryption key: was the database created with another KEK (WARD_KEK / --kek-file)?")

// Open decrypts a value Seal produced for name.
func (b *Box) Open(name, sealed string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return nil, ErrOpen
	}
	out, err := b.aead.Open(nil, raw[:b.aead.NonceSize()], raw[b.aead.NonceSize():], []byte(name))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
