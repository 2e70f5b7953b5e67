package restapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/posml/posml/internal/auth"
)

// SessionCookie is the cookie of a UI login (package web sets it); the
// API accepts it too, so that the UI's pages may call it.
const SessionCookie = "posml_session"

// UserVerifier checks user tokens and sessions (*auth.Users). An error
// wrapping auth.ErrBadCredentials means they are wrong.
type UserVerifier interface {
	Token(ctx context.Context, token string) (auth.User, error)
	Session(ctx context.Context, session string) (auth.User, error)
}

type userKey struct{}

// UserFrom returns the user a request authenticated as, if any.
func UserFrom(ctx context.Context) (auth.User, bool) {
	u, ok := ctx.Value(userKey{}).(auth.User)
	return u, ok
}

// RequireUser wraps the API's handler so that every request needs a
// user: "Authorization: Bearer <user token>", or the UI's session cookie.
// Run tokens pass on to the mart endpoints only, which check them
// (MartsConfig.Tokens); push webhooks pass, for their signature is their
// credential. Anything else is a 401.
func RequireUser(next http.Handler, users UserVerifier, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{log: log}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, Prefix+"hooks/") {
			next.ServeHTTP(w, r)
			return
		}
		var (
			u   auth.User
			err error
		)
		tok, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		ck, ckErr := r.Cookie(SessionCookie)
		switch {
		case hasBearer && auth.IsUserToken(tok):
			u, err = users.Token(r.Context(), tok)
		case hasBearer && tok != "":
			if strings.HasPrefix(r.URL.Path, Prefix+"marts") {
				next.ServeHTTP(w, r) // a run token, for the mart handlers to check
				return
			}
			h.writeError(w, r, errUnauthorized("a run token may only read marts; use a user token (posml token create)"))
			return
		case ckErr == nil:
			if !sameOrigin(r) {
				h.writeError(w, r, &apiError{http.StatusForbidden, "forbidden", "cross-origin request refused"})
				return
			}
			u, err = users.Session(r.Context(), ck.Value)
		default:
			h.writeError(w, r, errUnauthorized("this server requires authentication: Authorization: Bearer <user token> (posml token create)"))
			return
		}
		if err != nil {
			if errors.Is(err, auth.ErrBadCredentials) {
				err = errUnauthorized("invalid or expired token or session")
			}
			h.writeError(w, r, err)
			return
		}
		if what := adminOnly(r); what != "" && !u.Admin {
			h.writeError(w, r, &apiError{http.StatusForbidden, "forbidden",
				fmt.Sprintf("only an admin may %s; %s is not one (posml user add NAME --admin makes one)", what, u.Name)})
			return
		}
		r2 := r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		r2.Header = r.Header.Clone()
		r2.Header.Del("Authorization") // the mart handlers would take a user token for a run token
		next.ServeHTTP(w, r2)
		r.Pattern = r2.Pattern
	})
}

// sameOrigin refuses a state-changing request a browser sent from another
// origin with the session cookie: its Origin must be this host.
func sameOrigin(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
}

// adminOnly names what request r does if only an admin may do it: change
// which repositories the server runs (add, reconfigure or remove a
// project, with its credentials), or the database credentials of mart
// sources, or delete a mart with its snapshots; "" otherwise. Every user
// may read everything, run, cancel, retry and backfill pipelines, pause
// and resume projects, and create, upload and refresh marts.
func adminOnly(r *http.Request) string {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		return ""
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case seg[0] == "projects" && len(seg) == 1 && r.Method == http.MethodPost:
		return "add a project"
	case seg[0] == "projects" && len(seg) == 2 && r.Method == http.MethodPatch:
		return "change a project's repository, branch or credentials"
	case seg[0] == "projects" && len(seg) == 2 && r.Method == http.MethodDelete:
		return "remove a project"
	case seg[0] == "sources" && len(seg) == 1 && r.Method == http.MethodPost:
		return "add a mart source"
	case seg[0] == "sources" && len(seg) == 2 && r.Method == http.MethodDelete:
		return "remove a mart source"
	case seg[0] == "marts" && len(seg) == 2 && r.Method == http.MethodDelete:
		return "remove a mart"
	}
	return ""
}
