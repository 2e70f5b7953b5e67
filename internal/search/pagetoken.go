package search

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// EncodePageToken returns the page token MLflow's Python server returns for
// the next page starting at offset: base64 of the JSON {"offset": N}, spaced
// as Python's json.dumps spaces it.
func EncodePageToken(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(`{"offset": ` + strconv.Itoa(offset) + `}`))
}

// DecodePageToken returns the offset a page token stands for; "" means 0.
// It accepts what MLflow's SearchUtils.parse_start_offset_from_page_token
// accepts, and fails with its messages. It also refuses a negative offset,
// which MLflow would pass on to its database.
func DecodePageToken(token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	// Python's b64decode skips characters outside the alphabet.
	clean := strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=') {
			return r
		}
		return -1
	}, token)
	raw, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return 0, invalid("Invalid page token, could not base64-decode")
	}
	if !json.Valid(raw) {
		return 0, invalid("Invalid page token, decoded value=" + pyBytes(raw))
	}
	parsedErr := func() (int, error) {
		r, _ := pyJSON(raw)
		return 0, invalid("Invalid page token, parsed value=" + r)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return parsedErr() // MLflow fails here with an internal error
	}
	v, ok := obj["offset"]
	if !ok || !pyTruthy(v) {
		return parsedErr()
	}
	off, ok := pyInt(v)
	if !ok {
		return 0, invalid("Invalid page token, not stringable " + pyStrOf(v))
	}
	if off < 0 {
		return parsedErr()
	}
	return off, nil
}

// pyTruthy reports whether a decoded JSON value is true in Python.
func pyTruthy(v json.RawMessage) bool {
	switch s := strings.TrimSpace(string(v)); s {
	case "null", "false", `""`, "[]", "{}":
		return false
	default:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f != 0
		}
		var x any
		if json.Unmarshal(v, &x) == nil {
			switch x := x.(type) {
			case []any:
				return len(x) > 0
			case map[string]any:
				return len(x) > 0
			}
		}
		return true
	}
}

// pyInt is Python's int() of a decoded JSON value, for the values that can
// be an offset: integers, floats (truncated), True, and strings of digits.
func pyInt(v json.RawMessage) (int, bool) {
	var x any
	d := json.NewDecoder(strings.NewReader(string(v)))
	d.UseNumber()
	if d.Decode(&x) != nil {
		return 0, false
	}
	switch x := x.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 0); err == nil {
			return int(n), true
		}
		f, err := x.Float64()
		if err != nil || math.Abs(f) >= math.MaxInt64 {
			return 0, false
		}
		return int(f), true
	case string:
		s := strings.TrimSpace(x)
		if strings.HasPrefix(s, "+") {
			s = s[1:]
			if strings.HasPrefix(s, "-") {
				return 0, false
			}
		}
		n, err := strconv.ParseInt(s, 10, 0)
		if err != nil {
			return 0, false
		}
		return int(n), true
	}
	return 0, false
}

// CheckMaxResults returns MLflow's error for a max_results above limit, as its
// request validation words it for an integer sent in a JSON body; nil
// otherwise.
func CheckMaxResults(n, limit int64) error {
	if n <= limit {
		return nil
	}
	return invalid("Invalid value " + strconv.FormatInt(n, 10) + " for parameter 'max_results' supplied. " +
		"Hint: Value was of type 'int'. See the API docs for more information about request parameters.")
}
