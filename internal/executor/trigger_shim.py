"""posml trigger shim: calls train_trigger(**conf) of the project here.

posml runs it as `python posml_trigger_shim.py [CONF.json]` with the
project's checkout as the working directory. It imports src/train_trigger.py
(with src/ first on sys.path, as when train_trigger.py runs as a script),
calls train_trigger with the merged config as keyword arguments, and prints
the truth of the result (Python's bool()) as the last line of stdout:

    POSML_TRIGGER_RESULT {"value": true, "repr": "True"}

The config is a JSON object read from the file named by the first argument,
else from the file named by POSML_TRIGGER_CONF_FILE, else from the JSON text
in POSML_TRIGGER_CONF, else it is empty. A train_trigger without **kwargs
gets only the keys it names as parameters.

An exception (also from the import, or from bool() of the result) is
printed with its traceback on stderr, no result line is printed, and the
exit status is 1.
"""
import inspect
import json
import os
import sys
import traceback

MARKER = "POSML_TRIGGER_RESULT"


def load_conf(argv):
    path = argv[1] if len(argv) > 1 else os.environ.get("POSML_TRIGGER_CONF_FILE", "")
    if path:
        with open(path, encoding="utf-8") as f:
            conf = json.load(f)
    else:
        raw = os.environ.get("POSML_TRIGGER_CONF", "")
        conf = json.loads(raw) if raw.strip() else {}
    if not isinstance(conf, dict):
        raise TypeError("posml: the trigger config must be a JSON object, not %s" % type(conf).__name__)
    return conf


def select_kwargs(fn, conf):
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return dict(conf)
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return dict(conf)
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {k: v for k, v in conf.items() if k in names}


def short_repr(value, limit=200):
    try:
        r = repr(value)
    except Exception:  # a broken __repr__ must not hide the result
        r = "<%s>" % type(value).__name__
    return r if len(r) <= limit else r[: limit - 3] + "..."


def main(argv):
    src = os.path.join(os.getcwd(), "src")
    # As for `python src/train_trigger.py`: src/ comes first, the shim's own
    # directory not at all.
    sys.path[0] = src
    try:
        conf = load_conf(argv)
        path = os.path.join(src, "train_trigger.py")
        if not os.path.isfile(path):
            raise FileNotFoundError("posml: %s does not exist" % os.path.relpath(path))
        import train_trigger as module

        fn = getattr(module, "train_trigger", None)
        if not callable(fn):
            raise AttributeError("posml: src/train_trigger.py defines no function train_trigger")
        value = fn(**select_kwargs(fn, conf))
        truth = bool(value)
    except Exception:
        traceback.print_exc()
        sys.stderr.flush()
        return 1
    sys.stdout.flush()
    print("%s %s" % (MARKER, json.dumps({"value": truth, "repr": short_repr(value)})), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
