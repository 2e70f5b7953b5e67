package gitrepo

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Auth holds the credentials for a private repository: an HTTPS token, an
// SSH private key, or neither. Its String, GoString and LogValue methods
// never show the secrets, so an Auth printed by mistake leaks nothing.
type Auth struct {
	// Username goes with Token over HTTPS; "" means "oauth2", which GitLab
	// expects for access tokens and GitHub and Gitea accept. A username in
	// the URL (https://user@host/...) takes precedence, as git asks only
	// for the password then.
	Username string
	// Token is the HTTPS password or access token.
	Token string
	// SSHKey is an SSH private key in OpenSSH or PEM format, without a
	// passphrase.
	SSHKey []byte
}

// IsZero reports whether a carries no credentials.
func (a Auth) IsZero() bool { return a.Username == "" && a.Token == "" && len(a.SSHKey) == 0 }

// String describes the kind of credentials without revealing them.
func (a Auth) String() string {
	switch {
	case a.Token != "" && len(a.SSHKey) > 0:
		return "https token and ssh key"
	case a.Token != "":
		return "https token"
	case len(a.SSHKey) > 0:
		return "ssh key"
	}
	return "no credentials"
}

// GoString keeps %#v from printing the secrets.
func (a Auth) GoString() string { return "gitrepo.Auth{" + a.String() + "}" }

// LogValue keeps slog from printing the secrets.
func (a Auth) LogValue() slog.Value { return slog.StringValue(a.String()) }

// askpassScript answers git's prompts: the username for "Username for
// '...':" and the token for anything else ("Password for '...':"). It reads
// both from files beside it, so neither appears in an argument list or an
// environment.
const askpassScript = `#!/bin/sh
d=$(dirname "$0")
case "$1" in
[Uu]sername*) exec cat "$d/username" ;;
*) exec cat "$d/password" ;;
esac
`

// install writes the credentials into the session's private directory.
func (a *Auth) install(s *session) error {
	if a.Token != "" {
		user := a.Username
		if user == "" {
			user = "oauth2"
		}
		if err := writePrivate(filepath.Join(s.dir, "username"), []byte(user+"\n")); err != nil {
			return err
		}
		if err := writePrivate(filepath.Join(s.dir, "password"), []byte(a.Token+"\n")); err != nil {
			return err
		}
		s.askpass = filepath.Join(s.dir, "askpass")
		if err := os.WriteFile(s.askpass, []byte(askpassScript), 0o700); err != nil {
			return fmt.Errorf("write git askpass helper: %w", err)
		}
	}
	if len(a.SSHKey) > 0 {
		key := a.SSHKey
		if key[len(key)-1] != '\n' { // ssh rejects a key file without a final newline
			key = append(append([]byte(nil), key...), '\n')
		}
		s.keyFile = filepath.Join(s.dir, "id_key")
		if err := writePrivate(s.keyFile, key); err != nil {
			return err
		}
	}
	return nil
}

// writePrivate writes a file only its owner can read.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write credentials file: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write credentials file: %w", err)
	}
	return nil
}
