package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTrustForwardedProto(t *testing.T) {
	var got bool
	h := TrustForwardedProto(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = secure(r) }))
	for _, tc := range []struct {
		header string
		want   bool
	}{{"https", true}, {"HTTPS", true}, {"https, http", true}, {"http", false}, {"", false}} {
		r := httptest.NewRequest("GET", "/login", nil)
		if tc.header != "" {
			r.Header.Set("X-Forwarded-Proto", tc.header)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tc.want {
			t.Errorf("X-Forwarded-Proto %q: secure %v; want %v", tc.header, got, tc.want)
		}
	}
	if secure(httptest.NewRequest("GET", "/login", nil)) {
		t.Error("a plain request without the middleware is secure")
	}
}
