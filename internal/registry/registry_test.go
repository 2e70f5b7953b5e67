package registry

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/posml/posml"
)

func wantErr(t *testing.T, err error, kind posml.Kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error; want %v %q", kind, msg)
	}
	if posml.KindOf(err) != kind || !strings.Contains(err.Error(), msg) {
		t.Fatalf("got %v %q; want %v containing %q", posml.KindOf(err), err, kind, msg)
	}
}

func TestParseStage(t *testing.T) {
	for in, want := range map[string]Stage{"None": StageNone, "none": StageNone, "STAGING": StageStaging,
		"StAgInG": StageStaging, "production": StageProduction, "pROduction": StageProduction, "archived": StageArchived} {
		got, err := ParseStage(in)
		if err != nil || got != want {
			t.Errorf("ParseStage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"unknown", "", "Deleted_Internal", " None"} {
		_, err := ParseStage(in)
		wantErr(t, err, posml.KindInvalid, "Invalid Model Version stage: "+in+". Value must be one of None, Staging, Production, Archived.")
	}
	if !StageStaging.IsActive() || !StageProduction.IsActive() || StageNone.IsActive() || StageArchived.IsActive() {
		t.Error("IsActive")
	}
	wantErr(t, ErrArchiveInactive("archived"), posml.KindInvalid,
		"Model version transition cannot archive existing model versions because 'archived' is not an Active stage. Valid stages are ['Staging', 'Production']")
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, " 42 ": 42, "+3": 3, "-1": -1, "1_000": 1000, "007": 7} {
		got, err := ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "", "1.0", "1__0", "_1", "1_", "I am not a version", "0x10", "1 2"} {
		_, err := ParseVersion(in)
		wantErr(t, err, posml.KindInvalid, "Model version must be an integer, got '"+in+"'")
	}
}

func TestValidateAlias(t *testing.T) {
	for _, ok := range []string{"champion", "Champion_2", "a-b", "v", "vx1", "v1a", "été", "x" + strings.Repeat("a", 254)} {
		if err := ValidateAlias(ok); err != nil {
			t.Errorf("ValidateAlias(%q) = %v", ok, err)
		}
	}
	cases := []struct{ in, msg string }{
		{"", "Registered model alias name cannot be empty."},
		{"a b", "Invalid alias name: 'a b'. Names may only contain alphanumerics, underscores (_), and dashes (-)."},
		{"a.b", "Invalid alias name: 'a.b'."},
		{"a/b", "Invalid alias name: 'a/b'."},
		{"latest", "'latest' alias name (case insensitive) is reserved."},
		{"LaTeSt", "'latest' alias name (case insensitive) is reserved."},
		{"v1", "Version alias name 'v1' is reserved."},
		{"V12", "Version alias name 'V12' is reserved."},
		{strings.Repeat("a", 256), "Registered model alias name '" + strings.Repeat("a", 250) + "' had length 256, which exceeded length limit of 255"},
	}
	for _, c := range cases {
		wantErr(t, ValidateAlias(c.in), posml.KindInvalid, c.msg)
	}
}

func TestValidateTags(t *testing.T) {
	if err := ValidateRegisteredModelTag(Tag{Key: "a.b/c d-e_f", Value: strings.Repeat("a", 5000)}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, ValidateRegisteredModelTag(Tag{Key: "k", Value: strings.Repeat("a", 5001)}), posml.KindInvalid,
		"Registered model value '"+strings.Repeat("a", 250)+"' had length 5001, which exceeded length limit of 5000")
	wantErr(t, ValidateModelVersionTag(Tag{Key: "k", Value: strings.Repeat("a", 5001)}), posml.KindInvalid,
		"Model version value '")
	wantErr(t, ValidateModelVersionTag(Tag{Key: strings.Repeat("k", 251)}), posml.KindInvalid,
		"Model version key '"+strings.Repeat("k", 250)+"' had length 251, which exceeded length limit of 250")
	wantErr(t, ValidateRegisteredModelTag(Tag{Key: "a:b"}), posml.KindInvalid,
		"Invalid tag name: 'a:b'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).")
	wantErr(t, ValidateTagKey("../x"), posml.KindInvalid,
		"Invalid tag name: '../x'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '../x'")
	wantErr(t, ValidateTagKey("a//b"), posml.KindInvalid, "This name would resolve to 'a/b'")
	wantErr(t, ValidateTagKey(""), posml.KindInvalid, "This name would resolve to '.'")
	wantErr(t, ValidateModelName(""), posml.KindInvalid, "Registered model name cannot be empty.")
}

func TestValidateSource(t *testing.T) {
	runs := func(id string) (string, error) {
		switch id {
		case "local":
			return "/data/artifacts/1/local/artifacts", nil
		case "fileuri":
			return "file:///data/artifacts/1/fileuri/artifacts", nil
		case "proxied":
			return "mlflow-artifacts:/1/proxied/artifacts", nil
		}
		return "", posml.Errorf(posml.KindNotFound, "Run with id="+id+" not found")
	}
	good := []struct{ source, id string }{
		{"runs:/abc/models", ""},
		{"models:/m-0123", ""},
		{"mlflow-artifacts:/1/abc/artifacts/models", ""},
		{"mlflow-artifacts:/1/abc/artifacts/models/", ""},
		{"mlflow-artifacts://host:9000/models", "proxied"},
		{"s3://bucket/path/to/model", ""},
		{"https://host/api/2.0/mlflow-artifacts/artifacts/1/x", ""},
		{"dbfs:/databricks/mlflow/x", ""},
		{"/data/artifacts/1/local/artifacts/model", "local"},
		{"/data/artifacts/1/local/artifacts", "local"},
		{"file:///data/artifacts/1/local/artifacts/model", "local"},
		{"/data/artifacts/1/fileuri/artifacts/m", "fileuri"},
		{"file://localhost/data/artifacts/1/local/artifacts/m", "local"},
	}
	for _, g := range good {
		if err := ValidateSource(g.source, g.id, OwnedByRun, runs); err != nil {
			t.Errorf("ValidateSource(%q, %q) = %v", g.source, g.id, err)
		}
	}
	remote := "If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path."
	localMsg := "To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id."
	bad := []struct{ source, id, msg string }{
		{"mlflow-artifacts:/models/artifacts/../../../", "", remote},
		{"mlflow-artifacts://host:9000/../../../../", "", remote},
		{"http://host:9000/api/2.0/mlflow-artifacts/artifacts/../../../", "", remote},
		{"s3:/my_bucket/models/path/../../other/path", "", remote},
		{"mlflow-artifacts://host:port/..%2f..%2f..%2f..%2f", "", remote},
		{"mlflow-artifacts://host:port/%252e%252e%252f%252e%252e%252f", "", remote},
		{"http://host:port/api/2.0/mlflow-artifacts/artifacts%00", "", remote},
		{"https://host/a/./b", "", remote},
		{"s3://bucket", "", remote},
		{"runs:relative/path", "", remote},
		{"/data/artifacts/1/local/artifacts/../../other", "local", localMsg},
		{"/etc/passwd", "local", "Invalid model version source: '/etc/passwd'. " + localMsg},
		{"/data/artifacts/1/local/artifactsX/m", "local", localMsg},
		{"path/to/model", "", "Invalid model version source: 'path/to/model'. " + localMsg},
		{"/data/m", "proxied", localMsg},
		{"file:///data/artifacts/1/local/artifacts/m", "", localMsg},
	}
	for _, b := range bad {
		wantErr(t, ValidateSource(b.source, b.id, OwnedByRun, runs), posml.KindInvalid, b.msg)
	}
	wantErr(t, ValidateSource("/x", "missing", OwnedByRun, runs), posml.KindNotFound, "Run with id=missing not found")
	wantErr(t, ValidateSource("file://10.0.0.1/x", "local", OwnedByRun, runs), posml.KindInvalid,
		"file://10.0.0.1/x is not a valid remote uri.")
	wantErr(t, ValidateSource("/x", "", OwnedByModel, runs), posml.KindInvalid,
		"the model_id request parameter has to be specified")
}

func TestParseModelsURI(t *testing.T) {
	cases := map[string]ModelsURI{
		"models:/m-abc":         {ModelID: "m-abc"},
		"models:/name/1":        {Name: "name", Version: "1"},
		"models:/name/latest":   {Name: "name"},
		"models:/name/LATEST":   {Name: "name"},
		"models:/name/Prod":     {Name: "name", Stage: "Prod"},
		"models:/name@champion": {Name: "name", Alias: "champion"},
		"models:/a@b@c":         {Name: "a@b", Alias: "c"},
	}
	for in, want := range cases {
		got, err := ParseModelsURI(in)
		if err != nil || got != want {
			t.Errorf("ParseModelsURI(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"runs:/x/y", "models:", "models:/", "models:/a/b/c", "models:/ /1", "models:/a/ ", "models:/a@"} {
		_, err := ParseModelsURI(in)
		wantErr(t, err, posml.KindInvalid, "Not a proper models:/ URI: "+in+".")
	}
}

func TestParseRunsURI(t *testing.T) {
	cases := []struct{ in, run, path string }{
		{"runs:/abc/models", "abc", "models"},
		{"runs:/abc/a/b/", "abc", "a/b/"},
		{"runs:/abc", "abc", ""},
		{"runs:/abc/", "abc", ""},
	}
	for _, c := range cases {
		run, p, ok := ParseRunsURI(c.in)
		if !ok || run != c.run || p != c.path {
			t.Errorf("ParseRunsURI(%q) = %q %q %v", c.in, run, p, ok)
		}
	}
	for _, in := range []string{"runs:", "runs:/", "runs://", "models:/a/1", "runs:abc"} {
		if _, _, ok := ParseRunsURI(in); ok {
			t.Errorf("ParseRunsURI(%q) ok", in)
		}
	}
	if got := JoinURI("mlflow-artifacts:/1/r/artifacts", "models/"); got != "mlflow-artifacts:/1/r/artifacts/models" {
		t.Errorf("JoinURI = %q", got)
	}
	if got := JoinURI("mlflow-artifacts:/1/r/artifacts/", ""); got != "mlflow-artifacts:/1/r/artifacts/" {
		t.Errorf("JoinURI root = %q", got)
	}
}

func TestActor(t *testing.T) {
	ctx := context.Background()
	if _, ok := ActorFrom(ctx); ok {
		t.Fatal("actor in empty context")
	}
	a := Actor{PipelineRunID: "pr-1", UserID: "u"}
	got, ok := ActorFrom(WithActor(ctx, a))
	if !ok || got != a || got.String() != "pipeline-run:pr-1" || (Actor{UserID: "u"}).String() != "user:u" || (Actor{}).String() != "anonymous" {
		t.Fatalf("actor = %+v %v", got, ok)
	}
	if !errors.Is(ErrModelNotFound("m"), posml.ErrNotFound) || posml.KindOf(ErrAliasNotFound("a")) != posml.KindInvalid {
		t.Fatal("error kinds")
	}
}
