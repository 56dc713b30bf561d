// Package secret seals card and ID numbers: a keyed HMAC-SHA256 for
// look-up and an AES-256-GCM ciphertext for the rare need of the clear
// value. Both keys come from configuration, never from the database.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Vault holds the keys.
type Vault struct {
	mac  []byte
	aead cipher.AEAD
}

// NewVault derives the look-up and encryption keys from a master key of
// at least 32 bytes, given as hex.
func NewVault(masterHex string) (*Vault, error) {
	master, err := hex.DecodeString(masterHex)
	if err != nil || len(master) < 32 {
		return nil, errors.New("secret: the master key must be at least 32 bytes of hex (64 hex digits)")
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, master)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("katong aes-gcm v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Vault{mac: derive("katong hmac v1"), aead: aead}, nil
}

// Lookup returns the keyed HMAC of value in a domain ("pan", "id", …), so
// equal values in different domains do not match.
func (v *Vault) Lookup(domain, value string) []byte {
	m := hmac.New(sha256.New, v.mac)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// Seal encrypts value; the domain is authenticated with it.
func (v *Vault) Seal(domain, value string) []byte {
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return v.aead.Seal(nonce, nonce, []byte(value), []byte(domain))
}

// Open decrypts what Seal made in the same domain.
func (v *Vault) Open(domain string, sealed []byte) (string, error) {
	n := v.aead.NonceSize()
	if len(sealed) < n {
		return "", fmt.Errorf("secret: sealed value too short")
	}
	b, err := v.aead.Open(nil, sealed[:n], sealed[n:], []byte(domain))
	if err != nil {
		return "", fmt.Errorf("secret: open %s: %w", domain, err)
	}
	return string(b), nil
}
