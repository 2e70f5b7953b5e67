package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/posml/posml/internal/auth"
)

// Login: when Options.Users is set, every page but the login page and the
// static assets needs a session. GET /login shows the form (or, signed in,
// who you are and a log-out button); POST /login checks the name and
// password and sets the session cookie (HttpOnly, SameSite=Lax, Secure
// over TLS), then goes back to the page asked for; POST /logout ends the
// session. Both forms carry the CSRF token of csrf.go. A page request
// without a valid session is redirected to /login; any other request gets
// a 401.

// SessionCookie holds the session of a login (restapi.SessionCookie too).
const SessionCookie = "posml_session"

// Users checks the users' passwords and sessions (*auth.Users).
type Users interface {
	Login(ctx context.Context, name, password string) (string, auth.User, error)
	Session(ctx context.Context, session string) (auth.User, error)
	Logout(ctx context.Context, session string) error
}

type userKey struct{}

// UserFrom returns the user signed in for a request, if any.
func UserFrom(ctx context.Context) (auth.User, bool) {
	u, ok := ctx.Value(userKey{}).(auth.User)
	return u, ok
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .User}}Account{{else}}Sign in{{end}} · posml</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;display:flex;justify-content:center;padding-top:10vh;background:#f6f7f9;color:#1b1f24}
main{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:2rem;min-width:18rem}
label{display:block;margin-top:1rem}input{display:block;width:100%;box-sizing:border-box;padding:.4rem;font:inherit}
button{margin-top:1.5rem;padding:.5rem 1rem;font:inherit}.error{color:#b42318;margin-top:1rem}
</style>
</head>
<body>
<main>
<h1>posml</h1>
{{if .User}}
<p>Signed in as <strong>{{.User}}</strong>.</p>
<p><a href="/">Back to posml</a></p>
<form method="post" action="/logout">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit">Log out</button>
</form>
{{else}}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="next" value="{{.Next}}">
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<label for="name">User name</label>
<input id="name" name="name" autocomplete="username" required autofocus value="{{.Name}}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
{{end}}
</main>
</body>
</html>
`))

type loginData struct {
	User, CSRF, Next, Name, Error string
}

// requireLogin wraps the UI's routes with the login pages and the session
// check.
func (h *handler) requireLogin(next http.Handler, users Users) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, signedIn := h.sessionUser(r, users)
		switch {
		case r.URL.Path == "/login" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			d := loginData{CSRF: h.csrf.token(w, r), Next: safeNext(r.URL.Query().Get("next"))}
			if signedIn {
				d.User = u.Name
			}
			h.renderLogin(w, http.StatusOK, d)
		case r.URL.Path == "/login" && r.Method == http.MethodPost:
			h.login(w, r, users)
		case r.URL.Path == "/logout" && r.Method == http.MethodPost:
			if h.csrf.check(r) != nil {
				http.Error(w, "This form has expired or did not come from this site: reload the page and try again.", http.StatusForbidden)
				return
			}
			if ck, err := r.Cookie(SessionCookie); err == nil {
				if err := users.Logout(r.Context(), ck.Value); err != nil {
					h.log.Error("logout", "err", err)
				}
			}
			http.SetCookie(w, sessionCookie(r, "", -1))
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		case strings.HasPrefix(r.URL.Path, "/static/"), signedIn:
			if signedIn {
				r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
			}
			next.ServeHTTP(w, r)
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			dest := "/login"
			if r.URL.RequestURI() != "/" {
				dest += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, dest, http.StatusSeeOther)
		default:
			http.Error(w, "Sign in first: /login", http.StatusUnauthorized)
		}
	})
}

func (h *handler) sessionUser(r *http.Request, users Users) (auth.User, bool) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil {
		return auth.User{}, false
	}
	u, err := users.Session(r.Context(), ck.Value)
	if err != nil {
		if !errors.Is(err, auth.ErrBadCredentials) {
			h.log.Error("check session", "err", err)
		}
		return auth.User{}, false
	}
	return u, true
}

func (h *handler) login(w http.ResponseWriter, r *http.Request, users Users) {
	if h.csrf.check(r) != nil {
		h.renderLogin(w, http.StatusForbidden, loginData{CSRF: h.csrf.token(w, r), Next: safeNext(r.PostFormValue("next")),
			Error: "This form has expired or did not come from this site: please try again."})
		return
	}
	name, next := r.PostFormValue("name"), safeNext(r.PostFormValue("next"))
	s, _, err := users.Login(r.Context(), name, r.PostFormValue("password"))
	if err != nil {
		status, msg := http.StatusUnauthorized, "Wrong user name or password."
		var te *auth.ThrottledError
		switch {
		case errors.As(err, &te):
			status, msg = http.StatusTooManyRequests, fmt.Sprintf("Too many wrong passwords for this user: try again in %s.", te.Wait.Round(time.Second))
			w.Header().Set("Retry-After", strconv.Itoa(int((te.Wait+time.Second-1)/time.Second)))
		case !errors.Is(err, auth.ErrBadCredentials):
			h.log.Error("login", "err", err)
			msg = "Something went wrong; the server log has the details."
		}
		h.renderLogin(w, status, loginData{CSRF: h.csrf.token(w, r), Next: next, Name: name, Error: msg})
		return
	}
	http.SetCookie(w, sessionCookie(r, s, int(auth.DefaultSessionLifetime/time.Second)))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *handler) renderLogin(w http.ResponseWriter, status int, d loginData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := loginPage.Execute(w, d); err != nil {
		h.log.Error("login page", "err", err)
	}
}

func sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secure(r)}
}

// safeNext is where to go after the login: a path of this site, else /.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || next == "/login" {
		return "/"
	}
	return next
}
