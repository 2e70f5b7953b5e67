package rules

import (
	"bufio"
	"bytes"
	"context"
	_ "embed" // astdump.py
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// astdump is the helper run by python3: it parses the files it is asked
// for and prints their facts as JSON, one line per file.
//
//go:embed astdump.py
var astdump string

// ErrPythonNotFound is returned (wrapped) by Check when the interpreter
// cannot be found.
var ErrPythonNotFound = errors.New("python3 not found: posml parses Python with python3's ast module; install python3 or pass --python PATH")

// fileFacts is what astdump.py reports about one file.
type fileFacts struct {
	Error   string     `json:"error"` // the file could not be read
	Lines   int        `json:"lines"`
	Syntax  *pySyntax  `json:"syntax"`
	Imports []pyImport `json:"imports"` // every import statement, nested ones too, in source order
	Defs    []pyDef    `json:"defs"`    // top-level def, async def and class statements
	Header  pyHeader   `json:"header"`
	Guard   *pyGuard   `json:"guard"` // the last top-level `if __name__ == "__main__":`
	Last    int        `json:"last"`  // line of the last top-level statement
}

type pySyntax struct {
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Msg  string `json:"msg"`
}

type pyImport struct {
	Line   int         `json:"line"`
	Col    int         `json:"col"`
	From   bool        `json:"from"`   // from M import ...
	Level  int         `json:"level"`  // dots of a relative import
	Module string      `json:"module"` // M of from M import; "" for import
	Names  [][2]string `json:"names"`  // (name, asname); asname "" when absent
}

type pyDef struct {
	Line  int    `json:"line"`
	Col   int    `json:"col"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`  // "def", "async" or "class"
	Kwarg string `json:"kwarg"` // name of the ** parameter, "" when there is none
}

// pyHeader locates the SRC_HOME header: the line of the SRC_HOME assignment
// and of the statement after it that adds SRC_HOME to sys.path (0 = absent).
type pyHeader struct {
	Assign int `json:"assign"`
	Path   int `json:"path"`
}

type pyGuard struct {
	Line  int      `json:"line"`
	Col   int      `json:"col"`
	Next  int      `json:"next"` // line of the first top-level statement after it; 0 when it is last
	Calls []pyCall `json:"calls"`
}

type pyCall struct {
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Name string `json:"name"` // dotted name of the callee: "train", "pipeline.train"
}

// parser is one python3 process running astdump.py. It is not safe for
// concurrent use.
type parser struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	stderr  bytes.Buffer
	version string // of the interpreter, e.g. "3.11.7"
	cache   map[string]*fileFacts
}

// startParser starts python with astdump.py in dir, the project root.
func startParser(ctx context.Context, python, dir string) (*parser, error) {
	path, err := lookPython(python)
	if err != nil {
		return nil, err
	}
	p := &parser{cache: map[string]*fileFacts{}}
	// -I: ignore PYTHON* variables and the user's site directory; -S: no site
	// import. The helper needs nothing but ast and json.
	p.cmd = exec.CommandContext(ctx, path, "-I", "-S", "-c", astdump)
	p.cmd.Dir = dir
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewReader(stdout)
	if err := p.cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("%w (looked for %s)", ErrPythonNotFound, python)
		}
		return nil, fmt.Errorf("rules: start %s: %w", python, err)
	}
	var hello struct {
		Python string `json:"python"`
	}
	if err := p.read(&hello); err != nil || hello.Python == "" {
		p.close()
		return nil, fmt.Errorf("rules: %s cannot run posml's parser helper (python 3.7 or later is needed): %s", python, p.failure(err))
	}
	p.version = hello.Python
	return p, nil
}

// lookPython resolves the interpreter's path.
func lookPython(python string) (string, error) {
	path, err := exec.LookPath(python)
	if err != nil {
		return "", fmt.Errorf("%w (looked for %s)", ErrPythonNotFound, python)
	}
	return path, nil
}

// parse returns the facts of the file at rel, a slash-separated path
// relative to the project root. Each file is parsed once.
func (p *parser) parse(rel string) (*fileFacts, error) {
	if f, ok := p.cache[rel]; ok {
		return f, nil
	}
	req, err := json.Marshal(map[string]string{"path": rel})
	if err != nil {
		return nil, err
	}
	if _, err := p.in.Write(append(req, '\n')); err != nil {
		return nil, fmt.Errorf("rules: parse %s: %s", rel, p.failure(err))
	}
	f := new(fileFacts)
	if err := p.read(f); err != nil {
		return nil, fmt.Errorf("rules: parse %s: %s", rel, p.failure(err))
	}
	if f.Error != "" {
		return nil, fmt.Errorf("rules: read %s: %s", rel, f.Error)
	}
	p.cache[rel] = f
	return f, nil
}

func (p *parser) read(v any) error {
	line, err := p.out.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

// failure describes why the helper stopped answering: its stderr if it said
// anything, else err.
func (p *parser) failure(err error) string {
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		if i := strings.LastIndexByte(s, '\n'); i >= 0 {
			s = s[i+1:] // the last line of a traceback says what happened
		}
		return s
	}
	if err == nil {
		return "no answer"
	}
	return err.Error()
}

// close ends the helper: it exits when its stdin is closed.
func (p *parser) close() {
	p.in.Close()
	p.cmd.Wait() // its exit status tells nothing parse has not already reported
}
