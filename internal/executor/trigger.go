package executor

import (
	"bufio"
	_ "embed" // trigger_shim.py
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

//go:embed trigger_shim.py
var triggerShim []byte

// TriggerShimName is the file name WriteTriggerShim uses.
const TriggerShimName = "posml_trigger_shim.py"

// The shim reads the merged config from the file named by its first
// argument, else from the file named by TriggerConfFileEnv, else from the
// JSON text in TriggerConfEnv.
const (
	TriggerConfFileEnv = "POSML_TRIGGER_CONF_FILE"
	TriggerConfEnv     = "POSML_TRIGGER_CONF"
)

// TriggerResultMarker starts the shim's result line.
const TriggerResultMarker = "POSML_TRIGGER_RESULT"

// TriggerShim returns the Python source of the trigger shim: run as
// `python <shim> [conf.json]` in the project's checkout, it calls
// train_trigger(**conf) from src/train_trigger.py and prints the result
// line ParseTriggerResult reads (see trigger_shim.py for the details).
func TriggerShim() []byte { return append([]byte(nil), triggerShim...) }

// WriteTriggerShim writes the shim into dir as TriggerShimName and returns
// its path. Write it outside the checkout, or accept that the project then
// contains it: the shim removes its own directory from sys.path.
func WriteTriggerShim(dir string) (string, error) {
	path := filepath.Join(dir, TriggerShimName)
	if err := os.WriteFile(path, triggerShim, 0o644); err != nil {
		return "", fmt.Errorf("write trigger shim: %w", err)
	}
	return path, nil
}

// TriggerResult is what train_trigger returned.
type TriggerResult struct {
	Value bool   // its truth, per Python's bool()
	Repr  string // its repr(), cut to 200 characters
}

// ErrNoTriggerResult: the output has no result line: train_trigger raised
// (the traceback is in the log), or the process exited before it returned.
var ErrNoTriggerResult = errors.New("trigger printed no result: train_trigger raised or did not return")

// ParseTriggerResult reads the output of one run of the shim (its log, or
// the part of it after a given offset) and returns the result of the last
// result line in it. The marker is found anywhere in a line, so output the
// user's code left without a newline does not hide it.
func ParseTriggerResult(r io.Reader) (TriggerResult, error) {
	br := bufio.NewReader(r)
	var (
		last  string
		found bool
	)
	for {
		line, err := br.ReadString('\n')
		if i := strings.LastIndex(line, TriggerResultMarker+" "); i >= 0 {
			last, found = line[i+len(TriggerResultMarker)+1:], true
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return TriggerResult{}, fmt.Errorf("read trigger output: %w", err)
		}
	}
	if !found {
		return TriggerResult{}, ErrNoTriggerResult
	}
	var v struct {
		Value *bool  `json:"value"`
		Repr  string `json:"repr"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(last)), &v); err != nil || v.Value == nil {
		return TriggerResult{}, fmt.Errorf("malformed trigger result line %q", strings.TrimSpace(last))
	}
	return TriggerResult{Value: *v.Value, Repr: v.Repr}, nil
}
