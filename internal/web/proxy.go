package web

import (
	"context"
	"net/http"
	"strings"
)

type httpsKey struct{}

// TrustForwardedProto marks requests that a TLS-terminating proxy in front
// of posml forwarded with X-Forwarded-Proto: https as secure, so that the
// session and CSRF cookies get the Secure flag. Use it only behind such a
// proxy (posml server --trust-proxy): a client that reaches posml directly
// could set the header itself (which only adds the flag).
func TrustForwardedProto(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ","); strings.EqualFold(strings.TrimSpace(p), "https") {
			r = r.WithContext(context.WithValue(r.Context(), httpsKey{}, true))
		}
		next.ServeHTTP(w, r)
	})
}

// secure reports whether r reached the client over TLS: posml's own, or a
// trusted proxy's (TrustForwardedProto).
func secure(r *http.Request) bool {
	return r.TLS != nil || r.Context().Value(httpsKey{}) != nil
}
