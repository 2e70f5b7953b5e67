package restapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/posml/posml"
)

// apiError is an error with its own status and code, for what no
// posml.Kind stands for (a bad webhook signature, a missing route).
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errUnauthorized(msg string) error {
	return &apiError{http.StatusUnauthorized, "unauthorized", msg}
}

func errBadRequest(format string, args ...any) error {
	return &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf(format, args...)}
}

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the error object: a stable code (invalid, not_found,
// exists, conflict, unauthorized, internal) and a message for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusOf maps an error to its HTTP status, code and message. Internal
// errors are reported without their details, which may name files or SQL.
func statusOf(err error) (int, string, string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ae.code, ae.msg
	}
	msg := err.Error()
	var pe *posml.Error
	if errors.As(err, &pe) {
		msg = pe.Error()
	}
	switch posml.KindOf(err) {
	case posml.KindInvalid:
		return http.StatusBadRequest, "invalid", msg
	case posml.KindNotFound:
		return http.StatusNotFound, "not_found", msg
	case posml.KindExists:
		return http.StatusConflict, "exists", msg
	case posml.KindConflict:
		return http.StatusConflict, "conflict", msg
	}
	return http.StatusInternalServerError, "internal", "internal error"
}

// jsonFunc handles one request and returns the response body (nil: 204),
// or an error.
type jsonFunc func(w http.ResponseWriter, r *http.Request) (any, error)

// status carries a non-200 success status with its body.
type status struct {
	code int
	body any
}

// streamed says that the handler has written the response itself.
type streamed struct{}

func (h *handler) json(f jsonFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := f(w, r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if _, ok := v.(streamed); ok {
			return
		}
		code := http.StatusOK
		if s, ok := v.(status); ok {
			code, v = s.code, s.body
		}
		if v == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, code, v)
	})
}

func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, c, msg := statusOf(err)
	if code >= 500 {
		h.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, code, ErrorBody{ErrorDetail{Code: c, Message: msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // the client may be gone; nothing to do about it
}

// maxBody bounds request bodies (webhook payloads included).
const maxBody = 8 << 20

// decode reads a JSON request body into v; an empty body leaves v as is.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return errBadRequest("request body: %v", err)
	}
	return nil
}
