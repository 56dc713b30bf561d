// Package auth checks secrets and keeps sessions: Argon2id password
// hashes, server-side sessions, durable lock-outs shared by every channel
// of a database, per-key rate limits and the audit log. Its state lives in
// the database, so several instances of a server agree on it.
package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"katong"
)

// Argon2id parameters (OWASP: m ≥ 19456 KiB, t ≥ 2, p = 1).
const (
	argonMemory  = 19456
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// Password lengths: staff need 12 (PCI DSS 8.3.6), customers 8; up to 128.
const (
	StaffMinLen    = 12
	CustomerMinLen = 8
	MaxLen         = 128
)

//go:embed common-passwords.txt
var commonList []byte

var common = func() map[string]bool {
	m := map[string]bool{}
	s := bufio.NewScanner(bytes.NewReader(commonList))
	for s.Scan() {
		if w := strings.TrimSpace(s.Text()); w != "" {
			m[strings.ToLower(w)] = true
		}
	}
	return m
}()

// CheckPassword applies the password policy: a length between min and
// MaxLen characters, and not a commonly used password. No composition rules.
func CheckPassword(pw string, min int) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < min:
		return katong.Invalid("password", "password must be at least %d characters", min)
	case n > MaxLen:
		return katong.Invalid("password", "password must be at most %d characters", MaxLen)
	case isCommon(pw):
		return katong.Invalid("password", "this password is too common")
	}
	return nil
}

// isCommon reports a password on the list, also with digits or marks
// added at the end ("password1234").
func isCommon(pw string) bool {
	l := strings.ToLower(pw)
	if common[l] {
		return true
	}
	base := strings.TrimRight(l, "0123456789!@#$%.?*")
	return len(base) >= 4 && common[base]
}

// HashPassword returns the Argon2id PHC string of pw.
func HashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime,
		argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// PHC is a parsed Argon2id hash.
type PHC struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	Salt    []byte
	Key     []byte
}

// ParsePHC parses an Argon2id PHC string.
func ParsePHC(s string) (*PHC, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return nil, fmt.Errorf("auth: not an argon2id hash")
	}
	var p PHC
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return nil, fmt.Errorf("auth: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return nil, fmt.Errorf("auth: bad argon2 parameters")
	}
	var err error
	if p.Salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return nil, fmt.Errorf("auth: bad salt")
	}
	if p.Key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.Key) == 0 {
		return nil, fmt.Errorf("auth: bad key")
	}
	if p.Memory > 1<<22 || p.Time > 16 || p.Threads == 0 {
		return nil, fmt.Errorf("auth: argon2 parameters out of range")
	}
	return &p, nil
}

// dummy is verified against when there is no user, so that a wrong name
// costs the same time as a wrong password.
var dummy = HashPassword("katong dummy password for timing")

// VerifyPassword reports whether pw matches the PHC string. An empty or
// broken hash is checked against a dummy so the time spent is the same.
func VerifyPassword(phc, pw string) bool {
	p, err := ParsePHC(phc)
	ok := err == nil
	if !ok {
		p, _ = ParsePHC(dummy)
	}
	key := argon2.IDKey([]byte(pw), p.Salt, p.Time, p.Memory, p.Threads, uint32(len(p.Key)))
	return subtle.ConstantTimeCompare(key, p.Key) == 1 && ok
}
