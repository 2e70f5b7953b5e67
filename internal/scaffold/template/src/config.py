"""The pipeline's configuration as one dict, ``config``.

src/config.yaml is the user config. Before each run the platform writes its
system config (MLflow server, experiment, registered model, ...) to
config.yaml at the project root; it is merged over the user config: mappings
key by key, recursively; scalars and lists replace the user's value; an empty
(null) value in the system config leaves the user's value alone.

Usage, from any script in src/::

    from config import config as conf

    conf["mlflow"]["target_metric"]
"""
import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)

USER_CONFIG = os.path.join(SRC_HOME, "config.yaml")
SYSTEM_CONFIG = os.path.join(os.path.dirname(SRC_HOME), "config.yaml")


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
    import yaml  # PyYAML, imported here so that merge() works without it

    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: want a mapping of keys to values, got a {type(doc).__name__}")
    return doc


def load(user_path=USER_CONFIG, system_path=SYSTEM_CONFIG):
    """Read the user config and merge the system config, if present, over it."""
    conf = read(user_path)
    if os.path.exists(system_path):
        conf = merge(conf, read(system_path))
    return conf


config = load()
