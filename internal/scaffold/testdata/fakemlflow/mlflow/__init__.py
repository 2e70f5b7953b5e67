"""A fake of the mlflow client API that the project template uses, kept in
memory, so that scaffold's tests can run src/train.py without mlflow.

STATE holds everything logged; tests read it.
"""
import contextlib
import itertools
import types

from mlflow.exceptions import MlflowException

STATE = {
    "tracking_uri": None,
    "experiment": None,
    "runs": {},  # run_id -> {"name", "metrics", "models"}
    "registered": {},  # name -> {"versions": [version objects], "aliases": {alias: version}}
}
_ids = itertools.count(1)
_active = []


def set_tracking_uri(uri):
    STATE["tracking_uri"] = uri


def set_experiment(name):
    STATE["experiment"] = name


@contextlib.contextmanager
def start_run(run_name=None):
    run_id = "run%d" % next(_ids)
    STATE["runs"][run_id] = {"name": run_name, "metrics": {}, "models": []}
    run = types.SimpleNamespace(info=types.SimpleNamespace(run_id=run_id))
    _active.append(run_id)
    try:
        yield run
    finally:
        _active.pop()


def active_run_id():
    if not _active:
        raise MlflowException("no active run", "INVALID_STATE")
    return _active[-1]


def log_metrics(metrics):
    for key, value in metrics.items():
        if not isinstance(value, float):
            raise TypeError("metric %s: %r is not a float" % (key, value))
    STATE["runs"][active_run_id()]["metrics"].update(metrics)


def get_run(run_id):
    if run_id not in STATE["runs"]:
        raise MlflowException("run %s not found" % run_id, "RESOURCE_DOES_NOT_EXIST")
    return types.SimpleNamespace(data=types.SimpleNamespace(metrics=dict(STATE["runs"][run_id]["metrics"])))


class MlflowClient(object):
    def get_run(self, run_id):
        return get_run(run_id)

    def create_registered_model(self, name):
        if name in STATE["registered"]:
            raise MlflowException("Registered Model (name=%s) already exists." % name, "RESOURCE_ALREADY_EXISTS")
        STATE["registered"][name] = {"versions": [], "aliases": {}}

    def _model(self, name):
        if name not in STATE["registered"]:
            raise MlflowException("Registered Model with name=%s not found" % name, "RESOURCE_DOES_NOT_EXIST")
        return STATE["registered"][name]

    def get_model_version_by_alias(self, name, alias):
        model = self._model(name)
        if alias not in model["aliases"]:
            raise MlflowException("Registered model alias %s not found." % alias, "INVALID_PARAMETER_VALUE")
        return model["versions"][int(model["aliases"][alias]) - 1]

    def search_model_versions(self, filter_string):
        name = filter_string.split("'")[1]
        return list(STATE["registered"].get(name, {"versions": []})["versions"])

    def create_model_version(self, name, source, run_id=None, description=None):
        model = self._model(name)
        version = types.SimpleNamespace(name=name, version=str(len(model["versions"]) + 1),
                                        source=source, run_id=run_id, description=description)
        model["versions"].append(version)
        return version

    def set_registered_model_alias(self, name, alias, version):
        self._model(name)["aliases"][alias] = str(version)

    def get_latest_versions(self, *args, **kwargs):
        raise AssertionError("the template must not use the deprecated stages API")
