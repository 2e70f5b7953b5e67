package rules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml"
)

const testPython = "/usr/bin/python3"

// hdr is the guide's header, as users paste it.
const hdr = `import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)
`

// seedTrain is the guide's train.py.
const seedTrain = `#!/usr/bin/env python
` + hdr + `
from load_data import load_data
from model_evaluate import model_evaluate
from modeling import modeling
from preprocess import preprocess

def train():
    data = load_data()
    x, y = preprocess(data=data)
    run_id, uri = modeling(x=x, y=y)
    model_evaluate(best_model_run_id=run_id, best_model_uri=uri)

if __name__ == "__main__":
    train()
`

// seedProject is the guide's example project, reduced to what the rules read.
func seedProject() map[string]string {
	return map[string]string{
		"src/config.py":         hdr + "\nimport yaml\nconfig = {}\n",
		"src/config.yaml":       "proj_name: x\n",
		"src/load_data.py":      hdr + "\nimport pandas as pd\nfrom config import config as conf\nfrom workbenchPy import GetMartData\n\ndef load_data():\n    return GetMartData(conf['mart_id'])\n",
		"src/preprocess.py":     hdr + "\nimport pandas as pd\nfrom sklearn import preprocessing\n\ndef preprocess(data):\n    return data, data\n",
		"src/modeling.py":       "import os\nimport sys\nfrom datetime import datetime\n\nSRC_HOME = os.path.dirname(os.path.realpath(__file__))\nif SRC_HOME not in sys.path:\n    sys.path.append(SRC_HOME)\n\nimport mlflow\nfrom config import config as conf\n\ndef modeling(x, y):\n    return '', ''\n",
		"src/model_evaluate.py": "#!/usr/bin/env python\n" + hdr + "\nimport mlflow\nfrom config import config as conf\nfrom mlflow import MlflowClient\n\ndef model_evaluate(best_model_run_id, best_model_uri):\n    pass\n",
		"src/train.py":          seedTrain,
	}
}

const goodTrigger = hdr + `
def train_trigger(**kwargs) -> bool:
    return True
`

func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func with(files map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

func check(t *testing.T, files map[string]string, trigger bool) []posml.Diagnostic {
	t.Helper()
	ds, err := Check(context.Background(), writeProject(t, files), Options{Python: testPython, TriggerRequired: trigger})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return ds
}

// loc is the part of a diagnostic the table tests compare.
func loc(ds []posml.Diagnostic) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s:%d:%d %s", d.File, d.Line, d.Col, d.Rule))
	}
	return out
}

func TestMain(m *testing.M) {
	if _, err := os.Stat(testPython); err != nil {
		fmt.Fprintf(os.Stderr, "rules tests need %s: %v\n", testPython, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestCheck(t *testing.T) {
	seed := seedProject()
	tests := []struct {
		name    string
		files   map[string]string
		trigger bool
		want    []string
	}{
		{name: "seed example", files: seed, want: []string{}},
		{name: "seed example with trigger", files: with(seed, "src/train_trigger.py", goodTrigger), trigger: true, want: []string{}},
		{name: "trigger not required, file absent", files: seed, trigger: false, want: []string{}},

		// train-py
		{name: "no train.py", files: with(seed, "src/train.py", ""), want: []string{"src/train.py:0:0 train-py"}},

		// src-home-header
		{
			name:  "train.py without header",
			files: with(seed, "src/train.py", "from load_data import load_data\n\ndef train():\n    load_data()\n\nif __name__ == '__main__':\n    train()\n"),
			want:  []string{"src/train.py:1:1 src-home-header"},
		},
		{
			name:  "train.py without header, third-party import first",
			files: with(seed, "src/train.py", "import pandas\nimport os\n\n\nfrom modeling import modeling\n\ndef train():\n    modeling(1, 2)\n\nif __name__ == '__main__':\n    train()\n"),
			want:  []string{"src/train.py:5:1 src-home-header"},
		},
		{
			name:  "train.py without any local import still needs the header",
			files: map[string]string{"src/train.py": "def train():\n    pass\n\nif __name__ == '__main__':\n    train()\n"},
			want:  []string{"src/train.py:1:1 src-home-header"},
		},
		{
			name:  "local import before the header",
			files: with(seed, "src/train.py", "import os\nimport sys\nfrom load_data import load_data\nSRC_HOME = os.path.dirname(os.path.realpath(__file__))\nif SRC_HOME not in sys.path:\n    sys.path.append(SRC_HOME)\n\ndef train():\n    load_data()\n\nif __name__ == '__main__':\n    train()\n"),
			want:  []string{"src/train.py:3:1 src-home-header"},
		},
		{
			name:  "header variants: insert, abspath, single quotes, unconditional",
			files: with(seed, "src/config.py", "import os, sys\nSRC_HOME = os.path.dirname(os.path.abspath(__file__))\nif SRC_HOME not in sys.path: sys.path.insert(0, SRC_HOME)\nconfig = {}\n", "src/preprocess.py", "import sys\nimport os.path\nSRC_HOME = os.path.dirname( os.path.realpath( __file__ ) )\nsys.path.append(SRC_HOME)\ndef preprocess(d):\n    return d, d\n"),
			want:  []string{},
		},
		{
			name:  "header written as text in a string does not count",
			files: with(seed, "src/preprocess.py", "'''\n"+hdr+"'''\ndef preprocess(d):\n    return d, d\n"),
			want:  []string{"src/preprocess.py:1:1 src-home-header"},
		},
		{
			name:  "SRC_HOME never added to sys.path",
			files: with(seed, "src/preprocess.py", "import os\nSRC_HOME = os.path.dirname(os.path.realpath(__file__))\ndef preprocess(d):\n    return d, d\n"),
			want:  []string{"src/preprocess.py:2:1 src-home-header"},
		},
		{
			name:  "header without import os and sys",
			files: with(seed, "src/preprocess.py", "SRC_HOME = os.path.dirname(os.path.realpath(__file__))\nif SRC_HOME not in sys.path:\n    sys.path.append(SRC_HOME)\nimport os, sys\n"),
			want:  []string{"src/preprocess.py:1:1 src-home-header", "src/preprocess.py:2:1 src-home-header"},
		},
		{
			name: "transitive through two levels",
			files: map[string]string{
				"src/train.py": hdr + "import a\n\ndef train():\n    a.run()\n\nif __name__ == '__main__':\n    train()\n",
				"src/a.py":     "import json\nfrom b import helper\n\ndef run():\n    helper()\n",
				"src/b.py":     "import c\n\ndef helper():\n    pass\n",
				"src/c.py":     "X = 1\n",
				"src/d.py":     "unused = True\n", // not imported: not checked
			},
			want: []string{"src/a.py:2:1 src-home-header", "src/b.py:1:1 src-home-header", "src/c.py:1:1 src-home-header"},
		},
		{
			name: "modules in packages are exempt, but what they import is checked",
			files: map[string]string{
				"src/train.py":             hdr + "from pipeline.steps import run\nimport pipeline.extra as ex\n\nif __name__ == '__main__':\n    run()\n",
				"src/pipeline/__init__.py": "",
				"src/pipeline/steps.py":    "from . import util\nfrom .util import helper\nfrom ..up import x\n\ndef run():\n    helper()\n",
				"src/pipeline/util.py":     "import common\n\ndef helper():\n    pass\n",
				"src/pipeline/extra.py":    "",
				"src/common.py":            "def f():\n    pass\n",
			},
			want: []string{"src/common.py:1:1 src-home-header", "src/pipeline/steps.py:3:1 relative-import"},
		},
		{
			name:  "relative import outside a package",
			files: with(seed, "src/preprocess.py", hdr+"from . import config\nfrom .config import config\n\ndef preprocess(d):\n    return d, d\n"),
			want:  []string{"src/preprocess.py:7:1 relative-import", "src/preprocess.py:8:1 relative-import"},
		},
		{
			name: "a package wins over a module; from pkg import sub follows sub",
			files: map[string]string{
				"src/train.py":          hdr + "from tools import sub\n\nif __name__ == '__main__':\n    sub.main()\n",
				"src/tools.py":          "this file is shadowed by the package and never parsed (",
				"src/tools/__init__.py": "",
				"src/tools/sub.py":      "import leaf\n\ndef main():\n    pass\n",
				"src/leaf.py":           "",
			},
			want: []string{"src/leaf.py:1:1 src-home-header"},
		},

		// train-main-guard
		{
			name:  "no main guard",
			files: with(seed, "src/train.py", strings.Replace(seedTrain, "if __name__ == \"__main__\":\n    train()\n", "train()\n", 1)),
			want:  []string{"src/train.py:20:1 train-main-guard"},
		},
		{
			name:  "main guard not last",
			files: with(seed, "src/train.py", seedTrain+"\nprint('done')\n"),
			want:  []string{"src/train.py:23:1 train-main-guard"},
		},
		{
			name:  "reversed comparison is a main guard",
			files: with(seed, "src/train.py", strings.Replace(seedTrain, `__name__ == "__main__"`, `'__main__' == __name__`, 1)),
			want:  []string{},
		},
		{
			name:  "guard calls an unknown name",
			files: with(seed, "src/train.py", strings.Replace(seedTrain, "    train()\n", "    main()\n", 1)),
			want:  []string{"src/train.py:20:1 train-main-guard"},
		},
		{
			name:  "guard calls nothing",
			files: with(seed, "src/train.py", strings.Replace(seedTrain, "    train()\n", "    pass\n", 1)),
			want:  []string{"src/train.py:20:1 train-main-guard"},
		},
		{
			name:  "guard calls a class",
			files: with(seed, "src/train.py", strings.Replace(seedTrain, "def train():", "class train:\n    pass\n\ndef unused():", 1)),
			want:  []string{"src/train.py:23:1 train-main-guard"},
		},
		{
			name:  "guard calls a function imported from a local module",
			files: with(seed, "src/train.py", hdr+"import sys as _s\nfrom preprocess import preprocess as main\n\nif __name__ == '__main__':\n    _s.exit(main(None))\n"),
			want:  []string{},
		},
		{
			name:  "guard calls a function imported from a third-party module",
			files: with(seed, "src/train.py", hdr+"from sklearn import main\nimport config\n\nif __name__ == '__main__':\n    main()\n"),
			want:  []string{"src/train.py:10:1 train-main-guard"},
		},
		{
			name:  "guard calls a non-function of a local module",
			files: with(seed, "src/train.py", hdr+"import config\n\nif __name__ == '__main__':\n    config.config()\n"),
			want:  []string{"src/train.py:9:1 train-main-guard"},
		},
		{
			name: "guard calls a re-exported function",
			files: map[string]string{
				"src/train.py": hdr + "import api\n\nif __name__ == '__main__':\n    api.train()\n",
				"src/api.py":   hdr + "from impl import train\n",
				"src/impl.py":  hdr + "async def helper():\n    pass\n\ndef train():\n    pass\n",
			},
			want: []string{},
		},

		// train-trigger
		{name: "trigger file missing", files: seed, trigger: true, want: []string{"src/train_trigger.py:0:0 train-trigger"}},
		{
			name:    "trigger function missing",
			files:   with(seed, "src/train_trigger.py", hdr+"def trigger(**kwargs):\n    def train_trigger(**kw):\n        pass\n    return True\n"),
			trigger: true,
			want:    []string{"src/train_trigger.py:0:0 train-trigger"},
		},
		{
			name:    "trigger function without **",
			files:   with(seed, "src/train_trigger.py", "def train_trigger(conf, *args, flag=False):\n    return True\n"),
			trigger: true,
			want:    []string{"src/train_trigger.py:1:1 train-trigger"},
		},
		{
			name:    "trigger function with any ** name, no header needed without local imports",
			files:   with(seed, "src/train_trigger.py", "import datetime\n\ndef train_trigger(a=1, **conf):\n    return True\n"),
			trigger: true,
			want:    []string{},
		},
		{
			name:    "async trigger function",
			files:   with(seed, "src/train_trigger.py", "async def train_trigger(**kwargs):\n    return True\n"),
			trigger: true,
			want:    []string{"src/train_trigger.py:1:1 train-trigger"},
		},
		{
			name:    "trigger importing a local module needs the header",
			files:   with(seed, "src/train_trigger.py", "from config import config\n\ndef train_trigger(**kwargs):\n    return True\n"),
			trigger: true,
			want:    []string{"src/train_trigger.py:1:1 src-home-header"},
		},

		// python-syntax
		{
			name:  "syntax error in train.py",
			files: with(seed, "src/train.py", hdr+"\ndef train()\n    pass\n"),
			want:  []string{"src/train.py:8:12 python-syntax"},
		},
		{
			name:  "syntax error in an imported module",
			files: with(seed, "src/modeling.py", hdr+"def modeling(x, y):\nreturn 1\n"),
			want:  []string{"src/modeling.py:8:1 python-syntax"},
		},
		{
			name:    "syntax error in train_trigger.py",
			files:   with(seed, "src/train_trigger.py", "def train_trigger(**kwargs):\n  return (\n"),
			trigger: true,
			want:    []string{"src/train_trigger.py:2:10 python-syntax"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loc(check(t, tt.files, tt.trigger))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMissingTrainFix(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		fix   string
	}{
		{"Train.py", map[string]string{"src/Train.py": "x = 1\n"}, "rename src/Train.py to src/train.py"},
		{"train.PY", map[string]string{"src/train.PY": "x = 1\n"}, "rename src/train.PY to src/train.py"},
		{"root train.py", map[string]string{"train.py": "x = 1\n"}, "move train.py into src/"},
		{"nothing", map[string]string{"README.md": "x\n"}, "create src/train.py"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := check(t, tt.files, false)
			if len(ds) != 1 || ds[0].Rule != RuleTrainPy {
				t.Fatalf("got %v; want one %s diagnostic", ds, RuleTrainPy)
			}
			if !strings.Contains(ds[0].Fix, tt.fix) {
				t.Errorf("fix = %q; want it to contain %q", ds[0].Fix, tt.fix)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	seed := seedProject()
	t.Run("missing header names the module and gives the header", func(t *testing.T) {
		ds := check(t, with(seed, "src/load_data.py", "from config import config\n"), false)
		if len(ds) != 1 {
			t.Fatalf("got %v; want 1 diagnostic", ds)
		}
		d := ds[0]
		if !strings.Contains(d.Msg, "local module config") {
			t.Errorf("msg = %q; want it to name module config", d.Msg)
		}
		want := "import os\nimport sys\nSRC_HOME = os.path.dirname(os.path.realpath(__file__))\nif SRC_HOME not in sys.path:\n    sys.path.append(SRC_HOME)"
		if !strings.HasSuffix(d.Fix, "\n"+want) {
			t.Errorf("fix = %q; want it to end with the 5-line header", d.Fix)
		}
	})
	t.Run("leaf module names its importer", func(t *testing.T) {
		ds := check(t, with(seed, "src/config.py", "config = {}\n"), false)
		if len(ds) != 1 || !strings.Contains(ds[0].Msg, "src/load_data.py:9 imports this one") {
			t.Errorf("got %v; want one diagnostic naming src/load_data.py:9 as the importer", ds)
		}
	})
	t.Run("syntax error carries Python's message", func(t *testing.T) {
		ds := check(t, with(seed, "src/train.py", "def train(:\n"), false)
		if len(ds) != 1 || ds[0].Rule != RuleSyntax || !strings.HasPrefix(ds[0].Msg, "syntax error: ") || !strings.Contains(ds[0].Fix, "Python 3.") {
			t.Errorf("got %#v; want one python-syntax diagnostic with Python's message", ds)
		}
	})
	t.Run("trigger without ** explains the call", func(t *testing.T) {
		ds := check(t, with(seed, "src/train_trigger.py", "def train_trigger():\n    return True\n"), true)
		if len(ds) != 1 || !strings.Contains(ds[0].Msg, "train_trigger(**conf)") {
			t.Errorf("got %v", ds)
		}
	})
}

func TestMissingPython(t *testing.T) {
	dir := writeProject(t, seedProject())
	_, err := Check(context.Background(), dir, Options{Python: "/nonexistent/python3"})
	if !errors.Is(err, ErrPythonNotFound) {
		t.Fatalf("err = %v; want ErrPythonNotFound", err)
	}
	const want = "python3 not found: posml parses Python with python3's ast module; install python3 or pass --python PATH"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q; want it to start with %q", err, want)
	}
}

func TestNotPython3(t *testing.T) {
	// An interpreter that exits at once: Check fails with an error, not a hang.
	dir := writeProject(t, seedProject())
	_, err := Check(context.Background(), dir, Options{Python: "/bin/false"})
	if err == nil || errors.Is(err, ErrPythonNotFound) {
		t.Fatalf("err = %v; want a failure to start the helper", err)
	}
}

func TestMissingDir(t *testing.T) {
	if _, err := Check(context.Background(), filepath.Join(t.TempDir(), "nope"), Options{Python: testPython}); err == nil {
		t.Fatal("Check of a missing directory: want an error")
	}
}

func TestOnePythonPerCheck(t *testing.T) {
	// Every file is parsed once, by one process: the cache holds all of them.
	dir := writeProject(t, with(seedProject(), "src/train_trigger.py", goodTrigger))
	c := &checker{dir: dir, python: testPython, opt: Options{TriggerRequired: true}, fs: newLayout(dir)}
	defer c.close()
	if err := c.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(c.diags) != 0 {
		t.Fatalf("diags = %v", c.diags)
	}
	if got := len(c.p.cache); got != 7 {
		t.Errorf("parsed %d files; want 7: train.py, train_trigger.py and the 5 modules", got)
	}
}

func TestCanceled(t *testing.T) {
	dir := writeProject(t, seedProject())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, dir, Options{Python: testPython}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
}
