package secret

import (
	"bytes"
	"strings"
	"testing"
)

const key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestSealOpen(t *testing.T) {
	v, err := NewVault(key)
	if err != nil {
		t.Fatal(err)
	}
	s := v.Seal("pan", "6222021234567894")
	if bytes.Contains(s, []byte("6222021234567894")) {
		t.Fatal("sealed value holds the clear text")
	}
	got, err := v.Open("pan", s)
	if err != nil || got != "6222021234567894" {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := v.Open("id", s); err == nil {
		t.Fatal("opened a pan as an id")
	}
	s[len(s)-1] ^= 1
	if _, err := v.Open("pan", s); err == nil {
		t.Fatal("opened a tampered value")
	}
}

func TestLookup(t *testing.T) {
	v, _ := NewVault(key)
	w, _ := NewVault(strings.Repeat("ab", 32))
	a, b := v.Lookup("pan", "6222021234567894"), v.Lookup("pan", "6222021234567894")
	if !bytes.Equal(a, b) {
		t.Fatal("lookup not deterministic")
	}
	if bytes.Equal(a, v.Lookup("id", "6222021234567894")) {
		t.Fatal("domains collide")
	}
	if bytes.Equal(a, w.Lookup("pan", "6222021234567894")) {
		t.Fatal("lookup does not depend on the key")
	}
	if _, err := NewVault("short"); err == nil {
		t.Fatal("short key accepted")
	}
}
