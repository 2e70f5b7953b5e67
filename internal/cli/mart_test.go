package cli

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posml/posml/internal/restapi"
	"github.com/posml/posml/internal/sqlstore"
)

func TestMartAndSourceCommands(t *testing.T) {
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, mc := newMartServer(st, t.TempDir(), nil)
	srv := httptest.NewServer(restapi.Handler(restapi.Config{Marts: mc}))
	defer srv.Close()

	dir := t.TempDir()
	csv := filepath.Join(dir, "iris.csv")
	if err := os.WriteFile(csv, []byte("sepal_length,variety\n5.1,setosa\n4.9,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "pa55-SECRET"
	srcDir := filepath.Join(dir, "lake-"+secret)
	os.MkdirAll(srcDir, 0o755)
	os.WriteFile(filepath.Join(srcDir, "a.csv"), []byte("x\n1\n"), 0o644)
	dsnFile := filepath.Join(dir, "dsn")
	os.WriteFile(dsnFile, []byte(srcDir+"\n"), 0o600)

	var all strings.Builder
	cmd := func(wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := run(t, append(args, "--url", srv.URL)...)
		all.WriteString(out + errOut)
		if code != wantCode {
			t.Fatalf("posml %s: exit %d; want %d\n%s%s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		return out + errOut
	}
	if out := cmd(0, "mart", "create", "dm_1", "--from", csv); !strings.Contains(out, "mart dm_1: version 1 (new), 2 rows, 2 columns") {
		t.Errorf("create: %s", out)
	}
	if out := cmd(0, "mart", "create", "dm_1", "--from", csv); !strings.Contains(out, "version 1 (unchanged)") {
		t.Errorf("create again: %s", out)
	}
	if out := cmd(0, "mart", "refresh", "dm_1"); !strings.Contains(out, "version 1 (unchanged)") {
		t.Errorf("refresh: %s", out)
	}
	if out := cmd(0, "mart", "list"); !strings.Contains(out, "dm_1") || !strings.Contains(out, "upload iris.csv") {
		t.Errorf("list: %s", out)
	}
	if out := cmd(0, "mart", "show", "dm_1"); !strings.Contains(out, "sepal_length  float64") || !strings.Contains(out, "variety       string   has nulls") {
		t.Errorf("show: %s", out)
	}
	if out := cmd(0, "mart", "snapshots", "dm_1", "--json"); !strings.Contains(out, `"version": 1`) {
		t.Errorf("snapshots: %s", out)
	}
	cmd(1, "mart", "show", "nope")
	cmd(2, "mart", "create", "x", "--sql", "SELECT 1")
	cmd(0, "source", "add", "lake", "--kind", "files", "--dsn-file", dsnFile)
	if out := cmd(0, "source", "list"); !strings.Contains(out, "lake") || !strings.Contains(out, "files") {
		t.Errorf("source list: %s", out)
	}
	cmd(0, "source", "list", "--json")
	if out := cmd(0, "mart", "create", "a", "--source", "lake", "--file", "a.csv"); !strings.Contains(out, "version 1 (new), 1 rows") {
		t.Errorf("create from source: %s", out)
	}
	cmd(0, "mart", "show", "a", "--json")
	cmd(1, "source", "rm", "lake")
	cmd(0, "mart", "rm", "a")
	cmd(0, "source", "rm", "lake")
	cmd(0, "mart", "rm", "dm_1")
	if strings.Contains(all.String(), secret) {
		t.Errorf("CLI output shows the DSN:\n%s", all.String())
	}
}
