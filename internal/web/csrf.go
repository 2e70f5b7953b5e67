package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
)

// CSRF protection of the UI's forms (pause, resume, run now, cancel,
// retry) is a signed double-submit token:
//
//   - every page with a form makes sure the browser holds the cookie
//     posml_csrf, a random 32-byte value (HttpOnly, SameSite=Strict,
//     Path=/, Secure when served over TLS), set once per browser session;
//   - each form carries a hidden field csrf = hex(HMAC-SHA256(key, cookie)),
//     where key is a random secret of this server process;
//   - a POST is accepted only when its csrf field matches the HMAC of its
//     cookie (compared in constant time) and, when the browser sends an
//     Origin header, that origin is this host. Anything else is a 403.
//
// A cross-site page can neither read the cookie nor compute the HMAC, and
// SameSite=Strict keeps the cookie off cross-site requests besides. A
// restarted server has a new key: a form rendered before the restart is
// refused once, and the reloaded page carries a fresh token.
const csrfCookie = "posml_csrf"

// errCSRF is a state-changing request without a valid token.
var errCSRF = errors.New("csrf")

type csrf struct{ key []byte }

func newCSRF() csrf {
	k := make([]byte, 32)
	rand.Read(k) //nolint:errcheck // crypto/rand never fails
	return csrf{key: k}
}

func (c csrf) sign(session string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(session))
	return hex.EncodeToString(m.Sum(nil))
}

// token returns the form token of the request's session, setting the
// session cookie first when the browser has none. Call it before writing
// the response.
func (c csrf) token(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 64 {
		return c.sign(ck.Value)
	}
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails
	session := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: session, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	return c.sign(session)
}

// check verifies a POST's token and origin.
func (c csrf) check(r *http.Request) error {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || len(ck.Value) != 64 {
		return errCSRF
	}
	got := r.PostFormValue("csrf")
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.sign(ck.Value))) != 1 {
		return errCSRF
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return errCSRF
		}
	}
	return nil
}
