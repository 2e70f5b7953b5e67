package rules

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/posml/posml"
)

// Rule ids, as they appear in Diagnostic.Rule.
const (
	RuleTrainPy       = "train-py"         // src/train.py exists under exactly that name
	RuleSrcHomeHeader = "src-home-header"  // the SRC_HOME header precedes the first local import
	RuleMainGuard     = "train-main-guard" // train.py ends with if __name__ == "__main__": calling a function
	RuleTrainTrigger  = "train-trigger"    // src/train_trigger.py defines train_trigger(**kwargs)
	RuleSyntax        = "python-syntax"    // every checked file parses
	RuleRelative      = "relative-import"  // relative imports only inside packages
)

// srcHomeHeader is the header every script that train.py uses starts with,
// as the platform's guide writes it (without its blank line).
const srcHomeHeader = `import os
import sys
SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)`

const (
	trainFile   = "src/train.py"
	triggerFile = "src/train_trigger.py"
)

// Options tune Check.
type Options struct {
	Python          string // interpreter used to parse Python with ast; "" = "python3"
	TriggerRequired bool   // a trigger schedule is set: src/train_trigger.py must define train_trigger(**kwargs)
}

// Check applies the template rules to the project in dir. err is for failures
// to run the check at all (python3 missing: a clear message saying so).
func Check(ctx context.Context, dir string, opt Options) ([]posml.Diagnostic, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("rules: %s is not a directory", dir)
	}
	python := opt.Python
	if python == "" {
		python = "python3"
	}
	c := &checker{dir: dir, python: python, opt: opt, fs: newLayout(dir)}
	defer c.close()
	if err := c.run(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the helper was killed: say why
		}
		return nil, err
	}
	sort.SliceStable(c.diags, func(i, j int) bool {
		a, b := c.diags[i], c.diags[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return c.diags, nil
}

// role is why a file is checked; it decides whether it needs the header.
type role uint8

const (
	roleImported role = iota // a local module reached from an entry point
	roleTrain                // src/train.py: always needs the header
	roleTrigger              // src/train_trigger.py: needs it before its first local import
)

type visit struct {
	mod  module
	role role
	from string // "src/train.py:3": where it was first imported
}

type checker struct {
	dir    string
	python string
	opt    Options
	fs     *layout
	p      *parser // started by run when there is a file to parse
	diags  []posml.Diagnostic
}

func (c *checker) close() {
	if c.p != nil {
		c.p.close()
	}
}

func (c *checker) report(file string, line, col int, rule, msg, fix string) {
	c.diags = append(c.diags, posml.Diagnostic{File: file, Line: line, Col: col, Rule: rule, Msg: msg, Fix: fix})
}

func (c *checker) parse(file string) (*fileFacts, error) { return c.p.parse(file) }

func (c *checker) run(ctx context.Context) error {
	// Find python before looking at the project, so that a missing
	// interpreter is reported the same way for every project.
	if _, err := lookPython(c.python); err != nil {
		return err
	}
	train := module{Name: "train", File: trainFile}
	trigger := module{Name: "train_trigger", File: triggerFile}
	var entries []visit
	if c.fs.isFile(trainFile) {
		entries = append(entries, visit{mod: train, role: roleTrain})
	} else {
		c.missingTrain()
	}
	checkTrigger := c.opt.TriggerRequired
	if checkTrigger {
		if c.fs.isFile(triggerFile) {
			entries = append(entries, visit{mod: trigger, role: roleTrigger})
		} else {
			c.missingTrigger()
			checkTrigger = false
		}
	}
	if len(entries) == 0 {
		return nil
	}
	p, err := startParser(ctx, c.python, c.dir)
	if err != nil {
		return err
	}
	c.p = p
	if err := c.walk(entries); err != nil {
		return err
	}
	if c.fs.isFile(trainFile) {
		if err := c.checkMainGuard(train); err != nil {
			return err
		}
	}
	if checkTrigger {
		return c.checkTriggerFunc(trigger)
	}
	return nil
}

func (c *checker) missingTrain() {
	fix := "create src/train.py (`posml init NAME` writes a complete example)"
	var alts []string
	for _, f := range c.fs.lookalikes("src", "train.py") {
		alts = append(alts, "rename "+f+" to src/train.py")
	}
	if c.fs.isFile("train.py") {
		alts = append(alts, "move train.py into src/")
	}
	if len(alts) > 0 {
		sort.Strings(alts)
		fix = strings.Join(alts, "; ") + ": the name must be exactly src/train.py"
	}
	c.report(trainFile, 0, 0, RuleTrainPy,
		"src/train.py is missing: the platform runs `python src/train.py`, so the file must exist under exactly this name", fix)
}

func (c *checker) missingTrigger() {
	fix := "create src/train_trigger.py with the SRC_HOME header and `def train_trigger(**kwargs) -> bool:`, or remove train_trigger_schedule_interval from src/config.yaml"
	if alts := c.fs.lookalikes("src", "train_trigger.py"); len(alts) > 0 {
		sort.Strings(alts)
		fix = "rename " + strings.Join(alts, ", ") + " to src/train_trigger.py: the name must be exactly that"
	}
	c.report(triggerFile, 0, 0, RuleTrainTrigger,
		"src/train_trigger.py is missing: a trigger schedule is set, so the platform calls train_trigger(**kwargs) from this file", fix)
}

// walk checks the entry points and every local module they import,
// transitively: syntax, relative imports and the SRC_HOME header.
func (c *checker) walk(queue []visit) error {
	seen := map[string]bool{}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		if seen[v.mod.File] {
			continue
		}
		seen[v.mod.File] = true
		f, err := c.parse(v.mod.File)
		if err != nil {
			return err
		}
		if f.Syntax != nil {
			c.syntaxError(v.mod.File, f.Syntax)
			continue
		}
		var first *pyImport // the first import that loads a local module
		var firstMod module
		for i, im := range f.Imports {
			mods, rel := c.fs.resolve(v.mod, im)
			if rel != "" {
				c.relativeImport(v.mod, im, rel)
			}
			if len(mods) > 0 && first == nil {
				first, firstMod = &f.Imports[i], mods[0]
			}
			for _, m := range mods {
				queue = append(queue, visit{mod: m, role: roleImported, from: fmt.Sprintf("%s:%d", v.mod.File, im.Line)})
			}
		}
		c.checkHeader(v, f, first, firstMod)
	}
	return nil
}

func (c *checker) syntaxError(file string, s *pySyntax) {
	c.report(file, s.Line, s.Col, RuleSyntax, "syntax error: "+s.Msg,
		fmt.Sprintf("fix the syntax; posml parsed the file with Python %s, --python selects another interpreter", c.p.version))
}

func (c *checker) relativeImport(m module, im pyImport, rel string) {
	dots := strings.Repeat(".", im.Level)
	if rel == relNoPackage {
		fix := "import the module by its name: `import NAME` or `from NAME import ...`"
		if im.Module != "" {
			fix = fmt.Sprintf("import it by name: `from %s import ...`", im.Module)
		}
		c.report(m.File, im.Line, im.Col, RuleRelative,
			fmt.Sprintf("relative import (from %s%s) in a module that is not in a package: Python raises ImportError", dots, im.Module), fix)
		return
	}
	c.report(m.File, im.Line, im.Col, RuleRelative,
		fmt.Sprintf("relative import (from %s%s) goes above the top-level package under src/", dots, im.Module),
		"use fewer dots, or an absolute import")
}

// needsHeader decides whether the file of v must carry the SRC_HOME header.
// Files inside packages are exempt: a package is importable only when src/
// is on sys.path already, and the header there would add the package's
// directory, not src/, to sys.path.
func needsHeader(v visit, hasLocalImport bool) bool {
	switch v.role {
	case roleTrain:
		return true
	case roleTrigger:
		return hasLocalImport
	default:
		return !v.mod.inPackage()
	}
}

func (c *checker) checkHeader(v visit, f *fileFacts, first *pyImport, firstMod module) {
	if !needsHeader(v, first != nil) {
		return
	}
	file, h := v.mod.File, f.Header
	switch {
	case h.Assign != 0 && h.Path == 0:
		c.report(file, h.Assign, 1, RuleSrcHomeHeader, "SRC_HOME is set but never added to sys.path",
			fmt.Sprintf("add below line %d:\nif SRC_HOME not in sys.path:\n    sys.path.append(SRC_HOME)", h.Assign))
		return
	case h.Assign == 0 && first != nil:
		c.report(file, first.Line, first.Col, RuleSrcHomeHeader,
			fmt.Sprintf("no SRC_HOME header before this import of local module %s", firstMod.Name),
			"put the SRC_HOME header above this line:\n"+srcHomeHeader)
		return
	case h.Assign == 0:
		msg := "no SRC_HOME header: train.py must start with it"
		if v.role == roleImported {
			msg = fmt.Sprintf("no SRC_HOME header: every script that train.py uses must start with it, and %s imports this one", v.from)
		}
		c.report(file, 1, 1, RuleSrcHomeHeader, msg, "put the SRC_HOME header at the top of the file:\n"+srcHomeHeader)
		return
	case first != nil && first.Line <= h.Path:
		c.report(file, first.Line, first.Col, RuleSrcHomeHeader,
			fmt.Sprintf("local module %s is imported before the SRC_HOME header (line %d) adds src/ to sys.path", firstMod.Name, h.Assign),
			fmt.Sprintf("move the SRC_HOME header above line %d", first.Line))
	}
	if !importedBefore(f, "os", h.Assign) {
		c.report(file, h.Assign, 1, RuleSrcHomeHeader, "the SRC_HOME header uses os, which is not imported before it",
			fmt.Sprintf("add `import os` above line %d", h.Assign))
	}
	if !importedBefore(f, "sys", h.Path) {
		c.report(file, h.Path, 1, RuleSrcHomeHeader, "the SRC_HOME header uses sys, which is not imported before it",
			fmt.Sprintf("add `import sys` above line %d", h.Path))
	}
}

// importedBefore reports whether an `import name` (or `import name.sub`)
// binds name before line.
func importedBefore(f *fileFacts, name string, line int) bool {
	for _, im := range f.Imports {
		if im.From || im.Line >= line {
			continue
		}
		for _, n := range im.Names {
			if n[1] == name || n[1] == "" && (n[0] == name || strings.HasPrefix(n[0], name+".")) {
				return true
			}
		}
	}
	return false
}

const guardFix = "end train.py with:\nif __name__ == \"__main__\":\n    train()"

// checkMainGuard: train.py's last top-level statement is the main guard, and
// the guard calls a function: one defined at top level in train.py, or one
// imported from a local module that defines it with def.
func (c *checker) checkMainGuard(train module) error {
	f, err := c.parse(train.File)
	if err != nil || f.Syntax != nil {
		return err // a syntax error is already reported
	}
	g := f.Guard
	if g == nil {
		c.report(train.File, max(f.Lines, 1), 1, RuleMainGuard,
			`train.py does not end with an if __name__ == "__main__": block calling the pipeline's main function`, guardFix)
		return nil
	}
	if g.Next != 0 {
		c.report(train.File, g.Next, 1, RuleMainGuard,
			fmt.Sprintf(`the if __name__ == "__main__": block (line %d) must be the last statement of train.py`, g.Line),
			"move this and the following statements above it")
	}
	var names []string
	for _, call := range g.Calls {
		ok, err := c.isFunction(train, call.Name)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		names = append(names, call.Name+"()")
	}
	msg := `the if __name__ == "__main__": block calls no function`
	if len(names) > 0 {
		msg = fmt.Sprintf(`the if __name__ == "__main__": block calls %s, which is neither a function defined in train.py nor one imported from a local module`,
			strings.Join(names, ", "))
	}
	c.report(train.File, g.Line, g.Col, RuleMainGuard, msg,
		"call the pipeline's main function in it, e.g. train() defined with `def train():` in train.py")
	return nil
}

// isFunction reports whether the dotted name, called in module m, is a
// function: a top-level def of m, or reached through m's imports of local
// modules (re-exports followed).
func (c *checker) isFunction(m module, name string) (bool, error) {
	return c.resolveFunc(m, name, 0)
}

func (c *checker) resolveFunc(m module, name string, depth int) (bool, error) {
	if depth > 16 { // an import cycle
		return false, nil
	}
	f, err := c.parse(m.File)
	if err != nil || f.Syntax != nil {
		return false, err
	}
	parts := strings.Split(name, ".")
	if len(parts) == 1 {
		if d := lastDef(f, name); d != nil {
			return d.Kind != "class", nil
		}
	}
	b, ok := c.fs.bindings(m, f.Imports)[parts[0]]
	if !ok {
		return false, nil
	}
	for _, p := range parts[1:] {
		if b.attr != "" {
			return false, nil // an attribute of an attribute: not followed
		}
		if sub, ok := c.fs.find(b.mod.Name + "." + p); ok {
			b = binding{mod: sub}
		} else {
			b = binding{mod: b.mod, attr: p}
		}
	}
	if b.attr == "" {
		return false, nil // calling a module
	}
	return c.resolveFunc(b.mod, b.attr, depth+1)
}

func lastDef(f *fileFacts, name string) *pyDef {
	var d *pyDef
	for i := range f.Defs {
		if f.Defs[i].Name == name {
			d = &f.Defs[i]
		}
	}
	return d
}

// checkTriggerFunc: train_trigger.py defines, at top level, a plain function
// train_trigger with a ** parameter; the platform calls train_trigger(**conf).
func (c *checker) checkTriggerFunc(trigger module) error {
	f, err := c.parse(trigger.File)
	if err != nil || f.Syntax != nil {
		return err
	}
	d := lastDef(f, "train_trigger")
	switch {
	case d == nil:
		c.report(trigger.File, 0, 0, RuleTrainTrigger, "src/train_trigger.py defines no top-level function train_trigger",
			"add:\ndef train_trigger(**kwargs) -> bool:\n    return True")
	case d.Kind == "class":
		c.report(trigger.File, d.Line, d.Col, RuleTrainTrigger, "train_trigger is a class; the platform calls a function",
			"define it with `def train_trigger(**kwargs) -> bool:`")
	case d.Kind == "async":
		c.report(trigger.File, d.Line, d.Col, RuleTrainTrigger,
			"train_trigger is async: the platform calls it without awaiting, and a coroutine always counts as true",
			"make it a plain def: `def train_trigger(**kwargs) -> bool:`")
	case d.Kwarg == "":
		c.report(trigger.File, d.Line, d.Col, RuleTrainTrigger,
			"train_trigger takes no ** parameter: the platform calls it as train_trigger(**conf), which fails with TypeError",
			"add a ** parameter: def train_trigger(..., **kwargs)")
	}
	return nil
}
