package sealed

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := make([]byte, KeySize)
	rand.Read(key)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Seal("projects.cred_token", "glpat-secret")
	if err != nil || !IsSealed(s) || strings.Contains(s, "glpat") {
		t.Fatalf("Seal = %q, %v", s, err)
	}
	if s2, _ := b.Seal("projects.cred_token", "glpat-secret"); s2 == s {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	if got, err := b.Open("projects.cred_token", s); err != nil || got != "glpat-secret" {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, err := b.Open("mart_sources.dsn", s); err == nil {
		t.Error("a value opened under another purpose")
	}
	if got, err := b.Open("x", "plain from before"); err != nil || got != "plain from before" {
		t.Errorf("Open(plain) = %q, %v", got, err)
	}
	if s, _ := b.Seal("x", ""); s != "" {
		t.Errorf("Seal(\"\") = %q", s)
	}
	var none *Box
	if got, _ := none.Seal("x", "v"); got != "v" {
		t.Errorf("nil Box sealed: %q", got)
	}
	if _, err := none.Open("projects.cred_token", s); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil Box opened a sealed value: %v", err)
	}
	other := make([]byte, KeySize)
	rand.Read(other)
	ob, _ := New(other)
	if _, err := ob.Open("projects.cred_token", s); err == nil || !strings.Contains(err.Error(), "does not open with this server's key") {
		t.Errorf("another key: %v", err)
	}
	if _, err := New(key[:16]); err == nil {
		t.Error("a 16-byte key accepted")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "secret.key")
	if _, err := LoadOrCreateKey(path, false); err == nil {
		t.Error("a missing key file without create: no error")
	}
	k1, err := LoadOrCreateKey(path, true)
	if err != nil || len(k1) != KeySize {
		t.Fatalf("create: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v; want 0600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(path, true)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("second load: %v, equal %v", err, bytes.Equal(k1, k2))
	}
	hexPath := filepath.Join(dir, "hex.key")
	os.WriteFile(hexPath, []byte(hex.EncodeToString(k1)+"\n"), 0o600)
	if k, err := LoadOrCreateKey(hexPath, false); err != nil || !bytes.Equal(k, k1) {
		t.Errorf("hex key: %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("short\n"), 0o600)
	if _, err := LoadOrCreateKey(bad, false); err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Errorf("bad key: %v", err)
	}
}
