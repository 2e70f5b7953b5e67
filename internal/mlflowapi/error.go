package mlflowapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/posml/posml"
)

// apiError is an error with an MLflow error code that no posml.Kind stands
// for (ENDPOINT_NOT_FOUND, BAD_REQUEST, NOT_IMPLEMENTED).
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// errorCode maps an error to MLflow's error code and HTTP status
// (mlflow/exceptions.py ERROR_CODE_TO_HTTP_STATUS). RESOURCE_ALREADY_EXISTS is
// a 400, as in MLflow.
func errorCode(err error) (int, string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ae.code
	}
	switch posml.KindOf(err) {
	case posml.KindInvalid:
		return http.StatusBadRequest, "INVALID_PARAMETER_VALUE"
	case posml.KindNotFound:
		return http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST"
	case posml.KindExists:
		return http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS"
	case posml.KindConflict:
		return http.StatusConflict, "RESOURCE_CONFLICT"
	}
	return http.StatusInternalServerError, "INTERNAL_ERROR"
}

// errorMessage is the user-facing message: an *posml.Error's own message
// (without its cause) for client errors.
func errorMessage(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.msg
	}
	var pe *posml.Error
	if errors.As(err, &pe) && pe.Kind != posml.KindInternal {
		return pe.Msg
	}
	return err.Error()
}

type errorBody struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// writeError renders err as MLflow's JSON error; only server faults are
// logged.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, code := errorCode(err)
	msg := errorMessage(err)
	if status >= 500 {
		log.ErrorContext(r.Context(), "mlflow api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		if code == "INTERNAL_ERROR" {
			msg = "Internal error: " + msg
		}
	}
	writeJSON(w, status, errorBody{ErrorCode: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error_code":"INTERNAL_ERROR","message":"could not encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// NotFound answers an unknown route with 404 ENDPOINT_NOT_FOUND, which the
// client understands (and, for some 3.x calls, falls back on).
func NotFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, errorBody{ErrorCode: "ENDPOINT_NOT_FOUND", Message: "No API endpoint found for " + r.Method + " " + r.URL.Path})
}
