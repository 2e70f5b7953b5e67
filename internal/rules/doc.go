// Package rules checks the template rules of a training-pipeline project,
// the rules behind `posml validate` that the platform's user guide sets for
// the Python scripts under src/:
//
//   - src/train.py exists under exactly that name (the platform runs
//     `python src/train.py`);
//   - train.py and every top-level local module it imports, transitively,
//     start with the SRC_HOME header, before their first import of a local
//     module (modules inside packages under src/ are exempt: they are found
//     through src/ on sys.path already, and the header there would add the
//     package directory instead);
//   - train.py ends with `if __name__ == "__main__":` calling a function
//     that train.py defines, or imports from a local module that defines it;
//   - when a trigger schedule is set, src/train_trigger.py defines a plain
//     top-level `def train_trigger(**kwargs)`;
//   - every file checked parses, and relative imports appear only in packages.
//
// Python is parsed by Python: Check runs one python3 process per call (the
// embedded astdump.py, with -I -S) that reads the files it is asked for and
// prints facts from the ast module as JSON. The interpreter is used as a
// parser only; no project code is imported or run. That is why this package,
// unlike the rest of posml's domain packages, imports os/exec.
//
// It depends on the standard library and package posml only.
package rules
