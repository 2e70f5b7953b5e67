// Package sealed encrypts the secrets posml stores (git tokens and SSH
// keys of projects, webhook secrets, the DSNs of mart sources) with the
// server's key: AES-256-GCM, a random nonce per value, and the value's
// purpose as additional data, so that a sealed value copied into another
// column does not open there.
//
// A sealed value is text, "sealed:v1:" and the base64 of nonce and
// ciphertext, so it fits the TEXT columns that held the plain values; a
// value without that prefix is a plain one from before the key existed.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Prefix starts every sealed value.
const Prefix = "sealed:v1:"

// KeySize is the size of a key: AES-256.
const KeySize = 32

// ErrNoKey is the error of opening a sealed value without a key.
var ErrNoKey = errors.New("the value is encrypted and this server has no key to open it (posml server --secret-key-file: the same file on every replica)")

// Box seals and opens values with one key. A nil *Box seals nothing: Seal
// returns the plain value, Open opens plain values and refuses sealed ones.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a key of KeySize bytes.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealed: the key has %d bytes; want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain for purpose (e.g. "projects.cred_token"). The empty
// value stays empty: "no secret" is not a secret.
func (b *Box) Seal(purpose, plain string) (string, error) {
	if b == nil || plain == "" {
		return plain, nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := b.aead.Seal(nonce, nonce, []byte(plain), []byte(purpose))
	return Prefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal made for purpose, or returns a plain value as
// it is.
func (b *Box) Open(purpose, stored string) (string, error) {
	text, ok := strings.CutPrefix(stored, Prefix)
	if !ok {
		return stored, nil
	}
	if b == nil {
		return "", ErrNoKey
	}
	raw, err := base64.RawStdEncoding.DecodeString(text)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", errors.New("sealed: a stored secret is damaged")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	if err != nil {
		return "", errors.New("sealed: a stored secret does not open with this server's key (another replica's key file, or a changed one?)")
	}
	return string(plain), nil
}

// IsSealed reports whether a stored value is sealed.
func IsSealed(stored string) bool { return strings.HasPrefix(stored, Prefix) }

// LoadOrCreateKey reads the key in path (KeySize bytes, or their base64 or
// hex on one line); when the file does not exist and create is set, it
// writes a new random key there first (mode 0600).
func LoadOrCreateKey(path string, create bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateKey(path, false) // another process made it first
		}
		if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("secret key: %w", werr)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return parseKey(path, b)
}

func parseKey(path string, b []byte) ([]byte, error) {
	if len(b) == KeySize {
		return b, nil
	}
	text := strings.TrimSpace(string(b))
	if k, err := base64.StdEncoding.DecodeString(text); err == nil && len(k) == KeySize {
		return k, nil
	}
	if len(text) == 2*KeySize {
		k := make([]byte, KeySize)
		if _, err := fmt.Sscanf(text, "%x", &k); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("secret key %s: want %d random bytes, or their base64 or hex (e.g. openssl rand -base64 32 > %s)", path, KeySize, path)
}
