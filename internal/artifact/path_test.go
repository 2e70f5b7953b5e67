package artifact

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/posml/posml"
)

func TestCleanPath(t *testing.T) {
	valid := []struct{ in, want string }{
		{"", ""},
		{".", ""},
		{"a", "a"},
		{"1/abc/artifacts/model/MLmodel", "1/abc/artifacts/model/MLmodel"},
		{"a//b", "a/b"},
		{"./a/./b/", "a/b"},
		{"a/b/", "a/b"},
		{"a%20b", "a b"},
		{"a%2Fb", "a/b"},
		{"a%252Fb", "a/b"},   // decoded until it stops changing
		{"100%", "100%"},     // not an escape: kept
		{"a%zz%4", "a%zz%4"}, // nor these
		{"a+b", "a+b"},       // '+' is not a space in a path
		{"...", "..."},       // not "..": a legal name
		{"a..b/..c", "a..b/..c"},
		{"1:2/x", "1:2/x"},   // a colon after a digit is no scheme
		{"x/C:/y", "x/C:/y"}, // nor one past the first segment
		{"日本/データ.csv", "日本/データ.csv"},
	}
	for _, tc := range valid {
		t.Run(tc.in, func(t *testing.T) {
			got, err := CleanPath(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("CleanPath(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
			}
		})
	}

	invalid := []string{
		"..",
		"../x",
		"a/..",
		"a/../b", // MLflow refuses any ".." segment, even one that stays inside
		"a/../../b",
		"%2e%2e/x",
		"%2E%2E%2Fx",
		"%252e%252e/x",
		"/etc/passwd",
		"%2Fetc%2Fpasswd",
		"//x",
		"a\x00b",
		"a%00b",
		"a%2500b",
		"a\nb",
		"a%0Db",
		"a\x7fb",
		`a\b`,
		`..\x`,
		"a%5C..%5Cb",
		"a#b",
		"a%23b",
		"C:/windows",
		"c:x",
		"file:///etc/passwd",
		"file:x",
		"s3://bucket/x",
		"\xff\xfe",
		"%ff",
		"%" + strings.Repeat("25", 10) + "41", // still changing after ten rounds
	}
	want := &posml.Error{Kind: posml.KindInvalid, Msg: "Invalid path"}
	for _, in := range invalid {
		t.Run(in, func(t *testing.T) {
			got, err := CleanPath(in)
			if diff := cmp.Diff(want, err); diff != "" || got != "" {
				t.Errorf("CleanPath(%q) = %q, %v; want \"\", Invalid path (-want +got):\n%s", in, got, err, diff)
			}
		})
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "%2e%2e", "a//b/", "%252e", "C:x", "a%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CleanPath(in)
		if err != nil {
			if posml.KindOf(err) != posml.KindInvalid {
				t.Fatalf("CleanPath(%q) error %v has kind %v; want invalid", in, err, posml.KindOf(err))
			}
			return
		}
		if strings.HasPrefix(got, "/") || strings.HasSuffix(got, "/") || strings.Contains(got, "//") {
			t.Fatalf("CleanPath(%q) = %q: not normalized", in, got)
		}
		for _, seg := range strings.Split(got, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("CleanPath(%q) = %q: has a %q segment", in, got, seg)
			}
		}
		if strings.ContainsAny(got, "\x00\\#") {
			t.Fatalf("CleanPath(%q) = %q: has a forbidden character", in, got)
		}
		if again, err := CleanPath(got); err != nil || again != got {
			t.Fatalf("CleanPath(CleanPath(%q)) = %q, %v; want %q", in, again, err, got)
		}
	})
}

func TestRunRootAndURIs(t *testing.T) {
	root := RunRoot("1", "4f0c2d")
	if root != "1/4f0c2d/artifacts" {
		t.Errorf("RunRoot = %q", root)
	}
	if got := ModelRoot("1", "m-77"); got != "1/models/m-77/artifacts" {
		t.Errorf("ModelRoot = %q", got)
	}
	uri := URIForPath(root)
	if uri != "mlflow-artifacts:/1/4f0c2d/artifacts" {
		t.Errorf("URIForPath = %q", uri)
	}
	if got, err := PathFromURI(uri); err != nil || got != root {
		t.Errorf("PathFromURI(URIForPath(%q)) = %q, %v", root, got, err)
	}
	if got := URIForPath(""); got != "mlflow-artifacts:/" {
		t.Errorf("URIForPath(\"\") = %q", got)
	}
}

func TestPathFromURI(t *testing.T) {
	valid := []struct{ in, want string }{
		{"mlflow-artifacts:/x/y", "x/y"},
		{"mlflow-artifacts:/", ""},
		{"mlflow-artifacts:", ""},
		{"mlflow-artifacts:x/y", "x/y"},
		{"mlflow-artifacts:///x/y", "x/y"},
		{"mlflow-artifacts://host/x/y", "x/y"},
		{"mlflow-artifacts://host:5000/x/y/", "x/y"},
		{"MLFLOW-ARTIFACTS:/x", "x"},
		{"http://host/api/2.0/mlflow-artifacts/artifacts/x/y", "x/y"},
		{"https://host:8443/prefix/api/2.0/mlflow-artifacts/artifacts/x/y", "x/y"},
		{"http://host/ajax-api/2.0/mlflow-artifacts/artifacts/x", "x"},
		{"http://host/api/2.0/mlflow-artifacts/artifacts", ""},
		{"mlflow-artifacts:/a%20b", "a b"},
	}
	for _, tc := range valid {
		got, err := PathFromURI(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("PathFromURI(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
		}
	}

	notProxied := []string{
		"s3://bucket/x",
		"file:///tmp/x",
		"/tmp/mlruns/1",
		"runs:/abc/model",
		"http://host/files/x",
		"http://host/api/2.0/mlflow-artifacts/artifactsX/y",
	}
	for _, in := range notProxied {
		_, err := PathFromURI(in)
		if !errors.Is(err, ErrNotProxied) || posml.KindOf(err) != posml.KindInvalid {
			t.Errorf("PathFromURI(%q) error = %v; want an invalid error wrapping ErrNotProxied", in, err)
		}
	}

	invalid := []string{
		"mlflow-artifacts:/../etc",
		"mlflow-artifacts:/x/%2e%2e/%2e%2e/y",
		"mlflow-artifacts://host/x/%00",
		"http://host/api/2.0/mlflow-artifacts/artifacts/../../x",
		"mlflow-artifacts:/x?y=1",
		"mlflow-artifacts:/x#frag",
		"http://[::1",
	}
	for _, in := range invalid {
		got, err := PathFromURI(in)
		if err == nil || errors.Is(err, ErrNotProxied) || posml.KindOf(err) != posml.KindInvalid {
			t.Errorf("PathFromURI(%q) = %q, %v; want an invalid-path error", in, got, err)
		}
	}
}
