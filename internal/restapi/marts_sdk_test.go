package restapi

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMartSDK reads a mart through the Python SDK (sdk/python), the way
// the seed's load_data.py does: the iris columns, float dtypes, a default
// RangeIndex, and nulls and types through the CSV path.
func TestMartSDK(t *testing.T) {
	sdk, _ := filepath.Abs("../../sdk/python")
	if _, err := os.Stat(filepath.Join(sdk, "workbenchPy.py")); err != nil {
		t.Skip("no sdk/python")
	}
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import pandas").Run(); err != nil {
		t.Skip("no python3 with pandas")
	}
	e := newMartEnv(t, false)
	ctx := context.Background()
	f, err := os.Open("../datamart/testdata/iris.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, _, err := e.svc.Upload(ctx, "dm_f_20085_2212_142", "iris.csv", "", f); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.svc.Upload(ctx, "typed", "t.csv", "", strings.NewReader("i,f,s,b,at\n1,0.5,x,true,2026-01-02T03:04:05Z\n,,,,\n3,2,z,false,2026-01-03\n")); err != nil {
		t.Fatal(err)
	}
	script := `
import pandas as pd
from workbenchPy import GetMartData
df = GetMartData("dm_f_20085_2212_142")
assert list(df.columns) == ["sepal_length", "sepal_width", "petal_length", "petal_width", "variety"], df.columns
assert df.shape == (150, 5), df.shape
assert isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1, df.index
assert all(str(df[c].dtype) == "float64" for c in df.columns[:4]), df.dtypes
assert df.iloc[0].tolist() == [5.1, 3.5, 1.4, 0.2, "setosa"], df.iloc[0].tolist()
assert df.iloc[149]["variety"] == "virginica"
t = GetMartData("typed")
assert pd.isna(t["i"][1]) and t["i"][2] == 3, t
assert pd.isna(t["f"][1]) and pd.isna(t["s"][1]) and pd.isna(t["b"][1]) and pd.isna(t["at"][1]), t
assert t["s"][0] == "x" and bool(t["b"][0]) is True and t["at"][0] == pd.Timestamp("2026-01-02T03:04:05Z"), t
try:
    GetMartData("nope")
    raise SystemExit("no error for an unknown mart")
except Exception as e:
    assert "nope" in str(e), e
print("ok")
`
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+sdk, "POSML_URL="+e.srv.URL, "MLFLOW_TRACKING_URI="+e.srv.URL, "POSML_MART_FORMAT=csv")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("python: %v\n%s", err, out)
	}
}
