package mlflowapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/posml/posml"
)

// maxBody bounds a request body: a dataset profile alone may take 16 MiB
// (log-inputs); log-batch has its own, smaller limit.
const maxBody = 64 << 20

// decode reads a request into v the way MLflow's _get_request_message does:
// for GET, the query parameters (repeated keys become lists); otherwise the
// JSON body, where an empty body is {} and a body that is a JSON string is
// decoded again. Unknown fields are ignored. It returns the raw JSON object
// (for error messages and size checks).
func decode(r *http.Request, v any) ([]byte, error) {
	var raw []byte
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		obj := make(map[string]any, len(q))
		for k, vs := range q {
			if len(vs) == 1 {
				obj[k] = vs[0]
			} else {
				obj[k] = vs
			}
		}
		raw, _ = json.Marshal(obj)
	} else {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return nil, posml.Errorf(posml.KindInvalid, "Could not read the request body: "+err.Error())
		}
		if len(b) > maxBody {
			return nil, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Request body is larger than %d bytes.", maxBody))
		}
		raw = bytes.TrimSpace(b)
		if len(raw) == 0 || string(raw) == "null" {
			raw = []byte("{}")
		}
		if raw[0] == '"' { // double-encoded by old clients
			var s string
			if err := json.Unmarshal(raw, &s); err == nil {
				raw = bytes.TrimSpace([]byte(s))
				if len(raw) == 0 {
					raw = []byte("{}")
				}
			}
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return raw, requestError(raw, err)
	}
	return raw, nil
}

// requestError turns a JSON decoding error into MLflow's message for a value
// of the wrong type, or a malformed request.
func requestError(raw []byte, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		// The field path may start with embedded struct names
		// ("metricIn.value"): report the first segment the request has.
		field := te.Field
		val := "null"
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) == nil {
			for _, seg := range strings.Split(te.Field, ".") {
				if rv, ok := obj[seg]; ok {
					val, field = string(rv), seg
					break
				}
			}
		}
		return posml.Errorf(posml.KindInvalid, invalidValue(field, val))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.As(err, &te) {
		return &apiError{status: http.StatusBadRequest, code: "BAD_REQUEST", msg: "Malformed request: " + err.Error()}
	}
	return &apiError{status: http.StatusBadRequest, code: "BAD_REQUEST", msg: "Malformed request: " + err.Error()}
}

// invalidValue is MLflow's schema error for a value of the wrong type; raw is
// the value as JSON.
func invalidValue(param, raw string) string {
	return fmt.Sprintf("Invalid value %s for parameter '%s' supplied. Hint: Value was of type '%s'. See the API docs for more information about request parameters.", compactJSON(raw), param, pyType(raw))
}

func compactJSON(raw string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(raw)) != nil {
		return raw
	}
	return b.String()
}

// pyType names the Python type json.loads gives a JSON value.
func pyType(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "NoneType"
	}
	switch raw[0] {
	case '"':
		return "str"
	case '{':
		return "dict"
	case '[':
		return "list"
	case 't', 'f':
		return "bool"
	case 'n':
		return "NoneType"
	}
	if strings.ContainsAny(raw, ".eE") {
		return "float"
	}
	return "int"
}

// missing is MLflow's error for a required parameter that is absent or "".
func missing(param string) error {
	return posml.Errorf(posml.KindInvalid, fmt.Sprintf("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", param))
}

// require checks required string parameters, in order.
func require(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return missing(pairs[i])
		}
	}
	return nil
}

// intString formats an int64 in decimal.
func intString(n int64) string { return strconv.FormatInt(n, 10) }
