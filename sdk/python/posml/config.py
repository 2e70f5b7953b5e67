"""The project config loader of posml's templates, as a library.

src/config.yaml is the user config. Before each run the platform writes its
system config (MLflow server, experiment, registered model, ...) to
config.yaml at the project root, the parent of src/; it is merged over the
user config: mappings key by key, recursively; scalars and lists replace
the user's value; an empty (null) value in the system config leaves the
user's value alone. These are the semantics of src/config.py in projects
made by `posml init`.

    from posml.config import load

    conf = load()            # src/ = the directory of the running script
    conf = load("path/src")  # or a given src/ directory

Reading YAML needs PyYAML; merge() needs nothing.
"""
import os
import sys

__all__ = ["merge", "read", "load", "src_home"]


def merge(base, override):
    """Return base with override merged over it; neither is modified."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read(path):
    """Read a YAML mapping; an empty file is an empty mapping."""
    try:
        import yaml
    except ImportError:
        raise ImportError("posml.config needs PyYAML to read %s: pip install PyYAML (or apt-get install python3-yaml)"
                          % path)
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ValueError("%s: want a mapping of keys to values, got a %s" % (path, type(doc).__name__))
    return doc


def src_home():
    """The directory of the running script (sys.argv[0]) when it holds a
    config.yaml, else ./src."""
    script = sys.argv[0] if sys.argv else ""
    if script:
        d = os.path.dirname(os.path.realpath(script))
        if os.path.exists(os.path.join(d, "config.yaml")):
            return d
    return os.path.abspath("src")


def load(src_dir=None, user_path=None, system_path=None):
    """Read the user config (src_dir/config.yaml) and merge the system
    config (src_dir/../config.yaml), if present, over it."""
    src_dir = os.path.realpath(src_dir) if src_dir else src_home()
    user_path = user_path or os.path.join(src_dir, "config.yaml")
    system_path = system_path or os.path.join(os.path.dirname(src_dir), "config.yaml")
    conf = read(user_path)
    if os.path.exists(system_path):
        conf = merge(conf, read(system_path))
    return conf
