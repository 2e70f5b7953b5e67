package mlflowapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/posml/posml/internal/auth"
)

// UserVerifier checks the credentials of users (*auth.Users). An error
// wrapping auth.ErrBadCredentials means they are wrong.
type UserVerifier interface {
	Password(ctx context.Context, name, password string) (auth.User, error)
	Token(ctx context.Context, token string) (auth.User, error)
}

type userKey struct{}

// UserFrom returns the user a request authenticated as, if any.
func UserFrom(ctx context.Context) (auth.User, bool) {
	u, ok := ctx.Value(userKey{}).(auth.User)
	return u, ok
}

// checkUser serves a request that carries a user's credentials (Basic
// user:password, or a Bearer user token) and reports true; or reports false
// for one that carries none (anonymous, or a run token), leaving it to the
// caller. Wrong credentials get a 401.
func checkUser(w http.ResponseWriter, r *http.Request, users UserVerifier, log *slog.Logger, next http.Handler) bool {
	var u auth.User
	var err error
	if name, pw, ok := r.BasicAuth(); ok {
		u, err = users.Password(r.Context(), name, pw)
	} else if tok, ok := bearerToken(r); ok && auth.IsUserToken(tok) {
		u, err = users.Token(r.Context(), tok)
	} else {
		return false
	}
	if err != nil {
		var te *auth.ThrottledError
		if errors.As(err, &te) {
			w.Header().Set("Retry-After", strconv.Itoa(int((te.Wait+time.Second-1)/time.Second)))
			writeJSON(w, http.StatusTooManyRequests, errorBody{ErrorCode: "REQUEST_LIMIT_EXCEEDED", Message: te.Error() + "."})
			return true
		}
		if errors.Is(err, auth.ErrBadCredentials) {
			w.Header().Set("WWW-Authenticate", `Basic realm="posml"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{ErrorCode: "UNAUTHENTICATED", Message: "Invalid user name, password or token."})
			return true
		}
		writeError(w, r, log, err)
		return true
	}
	// The handlers behind see an anonymous request of this user: the
	// credentials are not passed on (an inner WithAuth would take a user
	// token for a run token).
	r2 := r.WithContext(context.WithValue(r.Context(), userKey{}, u))
	r2.Header = r.Header.Clone()
	r2.Header.Del("Authorization")
	next.ServeHTTP(w, r2)
	r.Pattern = r2.Pattern
	return true
}
