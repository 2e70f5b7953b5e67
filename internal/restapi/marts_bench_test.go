package restapi

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkMartSDK measures the issue's target "GetMartData of a
// 1 000 000-row × 10-column mart into pandas ≤ 1.5× pandas.read_csv of
// the same data from a local file" (read_csv parsing the timestamp column,
// so both give the same DataFrame; also reported without), over real HTTP (CSV path; the SDK
// uses Parquet when pyarrow is installed). POSML_BENCH_ROWS changes the
// row count.
//
//	go test -run '^$' -bench MartSDK -benchtime 1x ./internal/restapi
func BenchmarkMartSDK(b *testing.B) {
	sdk, _ := filepath.Abs("../../sdk/python")
	py := "/usr/bin/python3"
	if _, err := os.Stat(filepath.Join(sdk, "workbenchPy.py")); err != nil {
		b.Skip("no sdk/python")
	}
	if err := exec.Command(py, "-c", "import pandas").Run(); err != nil {
		b.Skip("no python3 with pandas")
	}
	rows := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("POSML_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	path := filepath.Join(b.TempDir(), "big.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,i,f1,f2,s1,s2,b,ts,n,f3")
	for g := 1; g <= rows; g++ {
		n := strconv.Itoa(g)
		if g%10 == 0 {
			n = ""
		}
		fmt.Fprintf(w, "%d,%d,%g,%g,name-%d,s%x,%t,2026-01-01T%02d:%02d:%02dZ,%s,%d\n",
			g, g%1000, float64(g)*0.5, float64(g%977)/977, g, g*2654435761%1000000007, g%2 == 0, g/3600%24, g/60%60, g%60, n, g%7)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	e := newMartEnv(b, false)
	in, _ := os.Open(path)
	defer in.Close()
	if _, _, _, err := e.svc.Upload(context.Background(), "big", "big.csv", "", in); err != nil {
		b.Fatal(err)
	}
	script := `
import time, sys, pandas as pd
from workbenchPy import GetMartData
t = time.perf_counter(); pd.read_csv(sys.argv[1]); plain = time.perf_counter() - t
t = time.perf_counter(); a = pd.read_csv(sys.argv[1], parse_dates=["ts"]); local = time.perf_counter() - t
t = time.perf_counter(); d = GetMartData("big"); sdk = time.perf_counter() - t
assert len(d) == len(a), (len(d), len(a))
print("%.3f %.3f %.3f" % (plain, local, sdk))
`
	b.ResetTimer()
	for range b.N {
		cmd := exec.Command(py, "-c", script, path)
		cmd.Env = append(os.Environ(), "PYTHONPATH="+sdk, "POSML_URL="+e.srv.URL, "POSML_MART_FORMAT=csv")
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("python: %v\n%s", err, out)
		}
		fs := strings.Fields(string(out))
		plain, _ := strconv.ParseFloat(fs[len(fs)-3], 64)
		local, _ := strconv.ParseFloat(fs[len(fs)-2], 64)
		sdkTime, _ := strconv.ParseFloat(fs[len(fs)-1], 64)
		b.ReportMetric(plain, "read_csv-no-dates-s")
		b.ReportMetric(local, "read_csv-s")
		b.ReportMetric(sdkTime, "GetMartData-s")
		b.ReportMetric(sdkTime/local, "ratio")
	}
}
