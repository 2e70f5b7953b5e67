package search

import (
	"encoding/base64"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestEncodePageToken(t *testing.T) {
	for _, tc := range []struct {
		offset int
		want   string
	}{
		{1, "eyJvZmZzZXQiOiAxfQ=="},   // base64.b64encode(json.dumps({"offset": 1}).encode())
		{100, "eyJvZmZzZXQiOiAxMDB9"}, // the same for 100
	} {
		if got := EncodePageToken(tc.offset); got != tc.want {
			t.Errorf("EncodePageToken(%d) = %q, want %q", tc.offset, got, tc.want)
		}
		if got, err := DecodePageToken(tc.want); err != nil || got != tc.offset {
			t.Errorf("DecodePageToken(%q) = %d, %v; want %d", tc.want, got, err, tc.offset)
		}
	}
}

func TestDecodePageToken(t *testing.T) {
	for _, tc := range []struct {
		token string
		want  int
	}{
		{"", 0},
		{b64(`{"offset": 7}`), 7},
		{b64(`{"offset":"5"}`), 5},
		{b64(`{"offset": " 12 "}`), 12},
		{b64(`{"offset": 5.9}`), 5},
		{b64(`{"offset": true}`), 1},
		{b64(`{"offset": 3, "other": "x"}`), 3},
		{" " + b64(`{"offset": 4}`) + "\n", 4}, // Python skips non-alphabet characters
	} {
		got, err := DecodePageToken(tc.token)
		if err != nil || got != tc.want {
			t.Errorf("DecodePageToken(%q) = %d, %v; want %d", tc.token, got, err, tc.want)
		}
	}
}

// The error cases of MLflow's test_invalid_page_tokens and more.
func TestDecodePageTokenErrors(t *testing.T) {
	for _, tc := range []errorCase{
		{b64(`{}`), "Invalid page token, parsed value={}"},
		{b64(`{"offset": "a"}`), "Invalid page token, not stringable a"},
		{b64(`{"offset": "5.0"}`), "Invalid page token, not stringable 5.0"},
		{b64(`{"offset": [1]}`), "Invalid page token, not stringable [1]"},
		{b64(`{"offsoot": 7}`), "Invalid page token, parsed value={'offsoot': 7}"},
		{b64(`{"offset": 0}`), "Invalid page token, parsed value={'offset': 0}"},
		{b64(`{"offset": null, "b": [true, 1.5, 1e20, "x'y"]}`), `Invalid page token, parsed value={'offset': None, 'b': [True, 1.5, 1e+20, "x'y"]}`},
		{b64(`{"offset": -3}`), "Invalid page token, parsed value={'offset': -3}"},
		{b64(`[1]`), "Invalid page token, parsed value=[1]"},
		{b64("not json"), "Invalid page token, decoded value=b'not json'"},
		{b64("it's\x00\xff"), `Invalid page token, decoded value=b"it's\x00\xff"`},
		{"not base64", "Invalid page token, could not base64-decode"},
		{"abc", "Invalid page token, could not base64-decode"},
	} {
		got, err := DecodePageToken(tc.in)
		if got != 0 {
			t.Errorf("DecodePageToken(%q) = %d, want 0", tc.in, got)
		}
		wantInvalid(t, tc.in, err, tc.want)
	}
}

func TestCheckMaxResults(t *testing.T) {
	if err := CheckMaxResults(50000, 50000); err != nil {
		t.Errorf("CheckMaxResults(50000, 50000) = %v, want nil", err)
	}
	err := CheckMaxResults(123456789, 50000)
	wantInvalid(t, "123456789", err, "Invalid value 123456789 for parameter 'max_results' supplied. "+
		"Hint: Value was of type 'int'. See the API docs for more information about request parameters.")
}
