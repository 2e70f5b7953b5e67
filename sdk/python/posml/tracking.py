"""A zero-dependency MLflow tracking client: the subset of the ``mlflow``
API a training script needs, speaking MLflow's REST API to posml (or any
MLflow tracking server), for machines where the mlflow package cannot be
installed. Standard library only; scikit-learn only to describe a model
given to log_model.

    import posml.tracking as mlflow

    mlflow.set_experiment("iris")
    with mlflow.start_run(run_name="knn") as run:
        mlflow.log_params({"k": 3})
        mlflow.log_metric("accuracy_score", 0.96)
        info = mlflow.log_model(model, "models")

The same environment variables as mlflow's are honoured:
MLFLOW_TRACKING_URI (http or https), MLFLOW_TRACKING_TOKEN (or POSML_TOKEN),
MLFLOW_TRACKING_USERNAME/PASSWORD, MLFLOW_EXPERIMENT_NAME,
MLFLOW_EXPERIMENT_ID, MLFLOW_HTTP_REQUEST_MAX_RETRIES/_TIMEOUT. Without a
tracking URI, $POSML_URL, else http://127.0.0.1:5000.

Models are logged in the MLflow model format (MLmodel, model.pkl,
requirements.txt, conda.yaml, python_env.yaml), so mlflow.pyfunc.load_model
and mlflow.sklearn.load_model can load them wherever mlflow is installed.
"""
import atexit
import contextlib
import getpass
import json
import math
import os
import pickle
import platform
import posixpath
import shutil
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import datetime

from posml import _http

__all__ = [
    "MlflowException", "MlflowClient", "ActiveRun", "Run", "RunInfo", "RunData", "Experiment",
    "ModelVersion", "RegisteredModel", "ModelInfo", "FileInfo",
    "set_tracking_uri", "get_tracking_uri", "set_experiment", "get_experiment_by_name",
    "start_run", "end_run", "active_run", "last_active_run", "get_run",
    "log_param", "log_params", "log_metric", "log_metrics", "set_tag", "set_tags",
    "log_artifact", "log_artifacts", "log_model", "get_artifact_uri",
]

API = "/api/2.0/mlflow/"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"

# Batch limits of MLflow's log-batch.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100


class MlflowException(Exception):
    """An error from the tracking server or this client, with MLflow's
    error_code (e.g. RESOURCE_DOES_NOT_EXIST, RESOURCE_ALREADY_EXISTS)."""

    def __init__(self, message, error_code="INTERNAL_ERROR", status=None):
        super(MlflowException, self).__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status


# ---- entities: the attributes of mlflow's, as plain objects ----

class _Entity(object):
    def __repr__(self):
        fields = ", ".join("%s=%r" % kv for kv in sorted(vars(self).items()))
        return "<%s: %s>" % (type(self).__name__, fields)


class Experiment(_Entity):
    def __init__(self, d):
        self.experiment_id = str(d.get("experiment_id", ""))
        self.name = d.get("name", "")
        self.artifact_location = d.get("artifact_location", "")
        self.lifecycle_stage = d.get("lifecycle_stage", "active")
        self.creation_time = _int(d.get("creation_time"))
        self.last_update_time = _int(d.get("last_update_time"))
        self.tags = _kv(d.get("tags"))


class RunInfo(_Entity):
    def __init__(self, d):
        self.run_id = d.get("run_id") or d.get("run_uuid", "")
        self.run_uuid = self.run_id
        self.run_name = d.get("run_name", "")
        self.experiment_id = str(d.get("experiment_id", ""))
        self.user_id = d.get("user_id", "")
        self.status = d.get("status", "RUNNING")
        self.start_time = _int(d.get("start_time"))
        self.end_time = _int(d.get("end_time")) or None
        self.artifact_uri = d.get("artifact_uri", "")
        self.lifecycle_stage = d.get("lifecycle_stage", "active")


class RunData(_Entity):
    def __init__(self, d):
        self.metrics = dict((m["key"], _float(m.get("value"))) for m in d.get("metrics") or [])
        self.params = _kv(d.get("params"))
        self.tags = _kv(d.get("tags"))


class Run(_Entity):
    def __init__(self, d):
        self.info = RunInfo(d.get("info") or {})
        self.data = RunData(d.get("data") or {})


class ActiveRun(Run):
    """The run start_run() returned: a context manager that ends the run,
    FINISHED, or FAILED when the block raises."""

    def __init__(self, run):
        self.info = run.info
        self.data = run.data

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        status = "FINISHED" if exc_type is None else "FAILED"
        end_run(status)
        return False


class ModelVersion(_Entity):
    def __init__(self, d):
        self.name = d.get("name", "")
        self.version = str(d.get("version", ""))
        self.creation_timestamp = _int(d.get("creation_timestamp"))
        self.last_updated_timestamp = _int(d.get("last_updated_timestamp"))
        self.user_id = d.get("user_id", "")
        self.current_stage = d.get("current_stage", "None")
        self.description = d.get("description", "")
        self.source = d.get("source", "")
        self.run_id = d.get("run_id", "")
        self.run_link = d.get("run_link", "")
        self.status = d.get("status", "PENDING_REGISTRATION")
        self.status_message = d.get("status_message", "")
        self.tags = _kv(d.get("tags"))
        self.aliases = list(d.get("aliases") or [])


class RegisteredModel(_Entity):
    def __init__(self, d):
        self.name = d.get("name", "")
        self.creation_timestamp = _int(d.get("creation_timestamp"))
        self.last_updated_timestamp = _int(d.get("last_updated_timestamp"))
        self.description = d.get("description", "")
        self.latest_versions = [ModelVersion(v) for v in d.get("latest_versions") or []]
        self.tags = _kv(d.get("tags"))
        self.aliases = dict((a["alias"], str(a["version"])) for a in d.get("aliases") or [])


class FileInfo(_Entity):
    def __init__(self, path, is_dir, file_size):
        self.path = path
        self.is_dir = is_dir
        self.file_size = file_size


class ModelInfo(_Entity):
    def __init__(self, artifact_path, run_id, flavors, model_uuid, utc_time_created, artifact_uri):
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.flavors = flavors
        self.model_uuid = model_uuid
        self.utc_time_created = utc_time_created
        self.model_uri = "runs:/%s/%s" % (run_id, artifact_path)
        self.artifact_uri = artifact_uri


def _int(v):
    try:
        return int(v) if v not in (None, "") else 0
    except (TypeError, ValueError):
        return 0


def _float(v):
    if isinstance(v, str):
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.get(v, float(v) if v else 0.0)
    return float(v) if v is not None else 0.0


def _kv(items):
    return dict((i["key"], i.get("value", "")) for i in items or [])


def _wire_float(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def _now_ms():
    return int(time.time() * 1000)


# ---- the client ----

class MlflowClient(object):
    """Calls to one tracking server, as in mlflow.MlflowClient (the subset
    posml's templates use). tracking_uri defaults to get_tracking_uri()."""

    def __init__(self, tracking_uri=None, token=None):
        self.tracking_uri = (tracking_uri or get_tracking_uri()).rstrip("/")
        if not self.tracking_uri.startswith(("http://", "https://")):
            raise MlflowException(
                "tracking URI %r is not supported by posml.tracking: use an http:// or https:// "
                "tracking server (e.g. posml server), or install mlflow for local stores" % self.tracking_uri,
                "INVALID_PARAMETER_VALUE")
        self._http = _http.Client(self.tracking_uri, token=token)

    # -- plumbing --

    def _call(self, method, endpoint, body=None):
        try:
            if method == "GET":
                return self._http.request("GET", API + endpoint, params=body).json()
            return self._http.request(method, API + endpoint, json_body=body or {}).json()
        except _http.HTTPError as e:
            raise MlflowException("%s: %s" % (e.error_code, e.message), e.error_code, e.status)
        except _http.ConnectionFailed as e:
            raise MlflowException(str(e), "TEMPORARILY_UNAVAILABLE")

    def _artifact_url(self, artifact_uri, path=""):
        """The HTTP URL of path under artifact_uri, or None for a local URI."""
        uri = artifact_uri.rstrip("/")
        if path:
            uri += "/" + path.strip("/")
        parsed = urllib.parse.urlparse(uri)
        if parsed.scheme in ("http", "https"):
            return uri
        if parsed.scheme == "mlflow-artifacts":
            base = self.tracking_uri
            if parsed.netloc:  # a host in the URI wins, as in mlflow
                base = "%s://%s" % (urllib.parse.urlparse(self.tracking_uri).scheme, parsed.netloc)
            return base + ARTIFACTS_API + "/" + urllib.parse.quote(parsed.path.lstrip("/"), safe="/")
        if parsed.scheme in ("", "file"):
            return None
        raise MlflowException("artifact URI %s: scheme %s is not supported by posml.tracking"
                              % (artifact_uri, parsed.scheme), "INVALID_PARAMETER_VALUE")

    # -- experiments --

    def get_experiment(self, experiment_id):
        return Experiment(self._call("GET", "experiments/get", {"experiment_id": experiment_id})["experiment"])

    def get_experiment_by_name(self, name):
        """The experiment called name, or None."""
        try:
            return Experiment(self._call("GET", "experiments/get-by-name", {"experiment_name": name})["experiment"])
        except MlflowException as e:
            if e.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def create_experiment(self, name, artifact_location=None, tags=None):
        body = {"name": name}
        if artifact_location:
            body["artifact_location"] = artifact_location
        if tags:
            body["tags"] = [{"key": k, "value": str(v)} for k, v in tags.items()]
        return str(self._call("POST", "experiments/create", body)["experiment_id"])

    # -- runs --

    def create_run(self, experiment_id, start_time=None, tags=None, run_name=None):
        tags = dict(tags or {})
        if run_name:
            tags["mlflow.runName"] = run_name
        body = {"experiment_id": str(experiment_id), "start_time": start_time or _now_ms(),
                "user_id": tags.get("mlflow.user") or _user(),
                "tags": [{"key": k, "value": str(v)} for k, v in tags.items()]}
        if run_name:
            body["run_name"] = run_name
        return Run(self._call("POST", "runs/create", body)["run"])

    def get_run(self, run_id):
        return Run(self._call("GET", "runs/get", {"run_id": run_id, "run_uuid": run_id})["run"])

    def set_terminated(self, run_id, status="FINISHED", end_time=None):
        self._call("POST", "runs/update", {"run_id": run_id, "run_uuid": run_id, "status": status,
                                           "end_time": end_time or _now_ms()})

    def log_param(self, run_id, key, value):
        self._call("POST", "runs/log-parameter", {"run_id": run_id, "run_uuid": run_id, "key": key, "value": str(value)})
        return value

    def log_metric(self, run_id, key, value, timestamp=None, step=None):
        self._call("POST", "runs/log-metric", {"run_id": run_id, "run_uuid": run_id, "key": key,
                                               "value": _wire_float(value), "timestamp": timestamp or _now_ms(),
                                               "step": int(step or 0)})

    def set_tag(self, run_id, key, value):
        self._call("POST", "runs/set-tag", {"run_id": run_id, "run_uuid": run_id, "key": key, "value": str(value)})

    def log_batch(self, run_id, metrics=(), params=(), tags=()):
        """Log (key, value[, timestamp, step]) metrics and (key, value)
        params and tags in as many log-batch requests as MLflow's limits need."""
        now = _now_ms()
        m = [{"key": x[0], "value": _wire_float(x[1]), "timestamp": int(x[2]) if len(x) > 2 and x[2] else now,
              "step": int(x[3]) if len(x) > 3 and x[3] else 0} for x in metrics]
        p = [{"key": k, "value": str(v)} for k, v in params]
        t = [{"key": k, "value": str(v)} for k, v in tags]
        while m or p or t:
            body = {"run_id": run_id, "metrics": m[:MAX_METRICS_PER_BATCH], "params": p[:MAX_PARAMS_PER_BATCH],
                    "tags": t[:MAX_TAGS_PER_BATCH]}
            m, p, t = m[MAX_METRICS_PER_BATCH:], p[MAX_PARAMS_PER_BATCH:], t[MAX_TAGS_PER_BATCH:]
            # MLflow also caps a batch at 1000 entities in all.
            extra = len(body["metrics"]) + len(body["params"]) + len(body["tags"]) - MAX_METRICS_PER_BATCH
            if extra > 0:
                m = body["metrics"][-extra:] + m
                body["metrics"] = body["metrics"][:-extra]
            self._call("POST", "runs/log-batch", body)

    def log_model_json(self, run_id, model_dict):
        self._call("POST", "runs/log-model", {"run_id": run_id, "model_json": json.dumps(model_dict)})

    # -- artifacts --

    def log_artifact(self, run_id, local_path, artifact_path=None, artifact_uri=None):
        """Upload the file local_path to artifact_path/basename in the run's artifacts."""
        artifact_uri = artifact_uri or self.get_run(run_id).info.artifact_uri
        name = os.path.basename(os.path.normpath(local_path))
        dest = posixpath.join(artifact_path, name) if artifact_path else name
        url = self._artifact_url(artifact_uri, dest)
        if url is None:
            target = os.path.join(_local_path(artifact_uri), *dest.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(local_path, target)
            return
        try:
            self._http.request("PUT", url, file_path=local_path,
                               headers={"Content-Type": "application/octet-stream"})
        except _http.HTTPError as e:
            raise MlflowException("upload %s: %s: %s" % (dest, e.error_code, e.message), e.error_code, e.status)
        except _http.ConnectionFailed as e:
            raise MlflowException(str(e), "TEMPORARILY_UNAVAILABLE")

    def log_artifacts(self, run_id, local_dir, artifact_path=None, artifact_uri=None):
        """Upload every file under local_dir, keeping its relative path, under artifact_path."""
        artifact_uri = artifact_uri or self.get_run(run_id).info.artifact_uri
        local_dir = os.path.abspath(local_dir)
        for root, dirs, files in os.walk(local_dir):
            dirs.sort()
            rel = os.path.relpath(root, local_dir)
            sub = "" if rel == "." else rel.replace(os.sep, "/")
            dest = "/".join(p for p in (artifact_path or "", sub) if p) or None
            for f in sorted(files):
                self.log_artifact(run_id, os.path.join(root, f), dest, artifact_uri=artifact_uri)

    def list_artifacts(self, run_id, path=None):
        """The files and directories directly under path in the run's artifacts."""
        artifact_uri = self.get_run(run_id).info.artifact_uri
        parsed = urllib.parse.urlparse(artifact_uri)
        if parsed.scheme != "mlflow-artifacts":
            raise MlflowException("list_artifacts needs an mlflow-artifacts: URI, not %s" % artifact_uri,
                                  "INVALID_PARAMETER_VALUE")
        root = parsed.path.strip("/")
        full = posixpath.join(root, path.strip("/")) if path else root
        try:
            doc = self._http.request("GET", ARTIFACTS_API, params={"path": full}).json()
        except _http.HTTPError as e:
            raise MlflowException("%s: %s" % (e.error_code, e.message), e.error_code, e.status)
        out = []
        for f in doc.get("files") or []:
            rel = posixpath.join(path.strip("/"), f["path"]) if path else f["path"]
            out.append(FileInfo(rel, bool(f.get("is_dir")), _int(f.get("file_size")) or None))
        return sorted(out, key=lambda f: f.path)

    def download_artifact_bytes(self, run_id, path):
        """The contents of the artifact file path of the run."""
        url = self._artifact_url(self.get_run(run_id).info.artifact_uri, path)
        if url is None:
            raise MlflowException("download_artifact_bytes needs a remote artifact URI", "INVALID_PARAMETER_VALUE")
        try:
            return self._http.request("GET", url).body
        except _http.HTTPError as e:
            raise MlflowException("%s: %s" % (e.error_code, e.message), e.error_code, e.status)

    # -- model registry --

    def create_registered_model(self, name, tags=None, description=None):
        body = {"name": name}
        if tags:
            body["tags"] = [{"key": k, "value": str(v)} for k, v in tags.items()]
        if description:
            body["description"] = description
        return RegisteredModel(self._call("POST", "registered-models/create", body)["registered_model"])

    def get_registered_model(self, name):
        return RegisteredModel(self._call("GET", "registered-models/get", {"name": name})["registered_model"])

    def create_model_version(self, name, source, run_id=None, tags=None, run_link=None, description=None,
                             await_registration_for=300):
        """Register source (a runs:/ URI is resolved to the run's artifact
        URI, as mlflow.register_model does) as a new version of name and
        return it once READY."""
        if source.startswith("runs:/"):
            src_run, _, sub = source[len("runs:/"):].partition("/")
            base = self.get_run(src_run).info.artifact_uri.rstrip("/")
            source = base + ("/" + sub.strip("/") if sub.strip("/") else "")
            run_id = run_id or src_run
        body = {"name": name, "source": source}
        for key, value in (("run_id", run_id), ("run_link", run_link), ("description", description)):
            if value:
                body[key] = value
        if tags:
            body["tags"] = [{"key": k, "value": str(v)} for k, v in tags.items()]
        mv = ModelVersion(self._call("POST", "model-versions/create", body)["model_version"])
        deadline = time.time() + (await_registration_for or 0)
        while mv.status == "PENDING_REGISTRATION" and time.time() < deadline:
            time.sleep(1)
            mv = self.get_model_version(name, mv.version)
        if mv.status == "FAILED_REGISTRATION":
            raise MlflowException("model version %s of %s failed to register: %s"
                                  % (mv.version, name, mv.status_message), "INVALID_STATE")
        return mv

    def get_model_version(self, name, version):
        return ModelVersion(self._call("GET", "model-versions/get", {"name": name, "version": str(version)})["model_version"])

    def get_model_version_by_alias(self, name, alias):
        return ModelVersion(self._call("GET", "registered-models/alias", {"name": name, "alias": alias})["model_version"])

    def set_registered_model_alias(self, name, alias, version):
        self._call("POST", "registered-models/alias", {"name": name, "alias": alias, "version": str(version)})

    def delete_registered_model_alias(self, name, alias):
        self._call("DELETE", "registered-models/alias", {"name": name, "alias": alias})

    def search_model_versions(self, filter_string=None, max_results=None, order_by=None):
        """All model versions matching filter_string (e.g. "name='iris'"), every page."""
        out, token = [], None
        while True:
            params = {"filter": filter_string, "order_by": order_by, "page_token": token,
                      "max_results": max_results}
            doc = self._call("GET", "model-versions/search", params)
            out.extend(ModelVersion(v) for v in doc.get("model_versions") or [])
            token = doc.get("next_page_token")
            if not token or (max_results and len(out) >= max_results):
                return out[:max_results] if max_results else out

    def get_latest_versions(self, name, stages=None):
        doc = self._call("POST", "registered-models/get-latest-versions", {"name": name, "stages": list(stages or [])})
        return [ModelVersion(v) for v in doc.get("model_versions") or []]


def _local_path(uri):
    parsed = urllib.parse.urlparse(uri)
    return urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else uri


def _user():
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment or passwd: as mlflow
        return "unknown"


# ---- the fluent API: module state, as in mlflow ----

class _State(object):
    def __init__(self):
        self.tracking_uri = None
        self.experiment_id = None
        self.runs = []  # stack of ActiveRun
        self.last_run_id = None
        self.client = None


_state = _State()


def set_tracking_uri(uri):
    """Use the tracking server at uri (http or https) from now on."""
    _state.tracking_uri = str(uri).rstrip("/") if uri else None
    _state.client = None


def get_tracking_uri():
    """set_tracking_uri's value, else $MLFLOW_TRACKING_URI, else $POSML_URL, else http://127.0.0.1:5000."""
    if _state.tracking_uri:
        return _state.tracking_uri
    return os.environ.get("MLFLOW_TRACKING_URI") or os.environ.get("POSML_URL") or _http.DEFAULT_URL


def _client():
    if _state.client is None or _state.client.tracking_uri != get_tracking_uri().rstrip("/"):
        _state.client = MlflowClient(get_tracking_uri())
    return _state.client


def get_experiment_by_name(name):
    return _client().get_experiment_by_name(name)


def set_experiment(experiment_name=None, experiment_id=None):
    """Make experiment_name (created when missing) or experiment_id the
    experiment of the runs started from now on, and return it."""
    client = _client()
    if experiment_id is not None:
        exp = client.get_experiment(str(experiment_id))
    elif experiment_name:
        exp = client.get_experiment_by_name(experiment_name)
        if exp is None:
            try:
                exp_id = client.create_experiment(experiment_name)
            except MlflowException as e:
                if e.error_code != "RESOURCE_ALREADY_EXISTS":  # created meanwhile by someone else
                    raise
                exp = client.get_experiment_by_name(experiment_name)
            else:
                exp = client.get_experiment(exp_id)
    else:
        raise MlflowException("set_experiment needs experiment_name or experiment_id", "INVALID_PARAMETER_VALUE")
    if exp.lifecycle_stage != "active":
        raise MlflowException("cannot set a deleted experiment %r as the active experiment: restore it first"
                              % exp.name, "INVALID_PARAMETER_VALUE")
    _state.experiment_id = exp.experiment_id
    return exp


def _experiment_id():
    if _state.experiment_id:
        return _state.experiment_id
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME")
    if name:
        return set_experiment(name).experiment_id
    return os.environ.get("MLFLOW_EXPERIMENT_ID") or "0"


def start_run(run_id=None, experiment_id=None, run_name=None, nested=False, tags=None, description=None):
    """Start a new run (or resume run_id) and make it the active run. Use it
    as a context manager: the run ends FINISHED, or FAILED if the block raises."""
    if _state.runs and not nested:
        raise MlflowException("Run with UUID %s is already active. To start a new run, first end the current "
                              "run with posml.tracking.end_run(). To start a nested run, call start_run with "
                              "nested=True" % _state.runs[-1].info.run_id, "INVALID_STATE")
    client = _client()
    if run_id:
        run = client.get_run(run_id)
        if run.info.status != "RUNNING":
            client._call("POST", "runs/update", {"run_id": run_id, "run_uuid": run_id, "status": "RUNNING"})
            run = client.get_run(run_id)
    else:
        all_tags = {
            "mlflow.source.name": sys.argv[0] if sys.argv and sys.argv[0] else "<console>",
            "mlflow.source.type": "LOCAL",
            "mlflow.user": _user(),
        }
        if _state.runs:
            all_tags["mlflow.parentRunId"] = _state.runs[-1].info.run_id
        if description:
            all_tags["mlflow.note.content"] = description
        all_tags.update(tags or {})
        run = client.create_run(experiment_id or _experiment_id(), tags=all_tags, run_name=run_name)
        _log_mart_reads(client, run.info.run_id)
    active = ActiveRun(run)
    _state.runs.append(active)
    _state.last_run_id = run.info.run_id
    return active


def _log_mart_reads(client, run_id):
    """Log the data-mart snapshots this process read (GetMartData) as the
    new run's dataset inputs: the lineage from a model to its data, with no
    user code. A failure only warns: it must not stop the training."""
    marts = sys.modules.get("posml.marts")
    if marts is None or not marts.READS:
        return
    datasets = [{"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": d} for d in marts.READS]
    try:
        client._call("POST", "runs/log-inputs", {"run_id": run_id, "datasets": datasets})
    except MlflowException as e:
        sys.stderr.write("posml.tracking: logging the data marts read as inputs of run %s failed: %s\n" % (run_id, e))


def end_run(status="FINISHED"):
    """End the active run, if any, with status."""
    if not _state.runs:
        return
    run = _state.runs.pop()
    _client().set_terminated(run.info.run_id, status)


def _end_run_at_exit():
    while _state.runs:
        try:
            end_run()
        except Exception as e:  # the process is ending: report, don't raise
            sys.stderr.write("posml.tracking: ending the active run at exit failed: %s\n" % e)


atexit.register(_end_run_at_exit)


def active_run():
    """The active run, or None."""
    return _state.runs[-1] if _state.runs else None


def last_active_run():
    """The active run, else the last one this process started, fetched anew, or None."""
    run_id = _state.runs[-1].info.run_id if _state.runs else _state.last_run_id
    return get_run(run_id) if run_id else None


def get_run(run_id):
    return _client().get_run(run_id)


def _run_id():
    if not _state.runs:
        start_run()
    return _state.runs[-1].info.run_id


def log_param(key, value):
    return _client().log_param(_run_id(), key, value)


def log_params(params):
    _client().log_batch(_run_id(), params=list(params.items()))


def log_metric(key, value, step=None, timestamp=None):
    _client().log_metric(_run_id(), key, value, timestamp=timestamp, step=step)


def log_metrics(metrics, step=None, timestamp=None):
    ts = timestamp or _now_ms()
    _client().log_batch(_run_id(), metrics=[(k, v, ts, step or 0) for k, v in metrics.items()])


def set_tag(key, value):
    _client().set_tag(_run_id(), key, value)


def set_tags(tags):
    _client().log_batch(_run_id(), tags=list(tags.items()))


def _artifact_uri():
    run = _state.runs[-1] if _state.runs else None
    if run is None:
        _run_id()
        run = _state.runs[-1]
    return run.info.artifact_uri


def log_artifact(local_path, artifact_path=None):
    """Upload the file local_path into the active run's artifacts, under artifact_path."""
    _client().log_artifact(_run_id(), local_path, artifact_path, artifact_uri=_artifact_uri())


def log_artifacts(local_dir, artifact_path=None):
    """Upload the files under local_dir into the active run's artifacts, under artifact_path."""
    _client().log_artifacts(_run_id(), local_dir, artifact_path, artifact_uri=_artifact_uri())


def get_artifact_uri(artifact_path=None):
    """The active run's artifact URI, or that of artifact_path in it."""
    uri = _client().get_run(_run_id()).info.artifact_uri
    return posixpath.join(uri, artifact_path) if artifact_path else uri


# ---- models ----

def _yaml_scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def _yaml(obj, indent=0):
    """A small YAML writer for nested dicts, lists and scalars."""
    pad = " " * indent
    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                lines.append(_yaml(v, indent + 2))
            else:
                lines.append("%s%s: %s" % (pad, k, "{}" if v == {} else "[]" if v == [] else _yaml_scalar(v)))
    else:
        for v in obj:
            if isinstance(v, (dict, list)) and v:
                inner = _yaml(v, indent + 2).lstrip()
                lines.append("%s- %s" % (pad, inner))
            else:
                lines.append("%s- %s" % (pad, _yaml_scalar(v)))
    return "\n".join(lines)


def _version_of(module):
    try:
        return __import__(module).__version__
    except Exception:  # not installed, or no version: leave it out
        return None


def save_model(sk_model, path, run_id=None, artifact_path=None):
    """Write sk_model to the new directory path in the MLflow model format
    (sklearn and python_function flavors, pickle serialisation) and return
    the MLmodel contents as a dict."""
    os.makedirs(path)
    with open(os.path.join(path, "model.pkl"), "wb") as f:
        pickle.dump(sk_model, f, protocol=pickle.DEFAULT_PROTOCOL)
    py = platform.python_version()
    sklearn_version = _version_of("sklearn")
    reqs = ["mlflow"]
    for dist, module in (("cloudpickle", "cloudpickle"), ("numpy", "numpy"), ("scikit-learn", "sklearn"),
                         ("scipy", "scipy")):
        version = _version_of(module)
        if version:
            reqs.append("%s==%s" % (dist, version))
    with open(os.path.join(path, "requirements.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(reqs) + "\n")
    with open(os.path.join(path, "conda.yaml"), "w", encoding="utf-8") as f:
        f.write(_yaml({"channels": ["conda-forge"],
                       "dependencies": ["python=%s" % py, "pip", {"pip": reqs}],
                       "name": "mlflow-env"}) + "\n")
    with open(os.path.join(path, "python_env.yaml"), "w", encoding="utf-8") as f:
        f.write(_yaml({"python": py, "build_dependencies": ["pip", "setuptools", "wheel"],
                       "dependencies": ["-r requirements.txt"]}) + "\n")
    flavors = {
        "python_function": {
            "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
            "loader_module": "mlflow.sklearn",
            "model_path": "model.pkl",
            "predict_fn": "predict",
            "python_version": py,
        },
        "sklearn": {
            "code": None,
            "pickled_model": "model.pkl",
            "serialization_format": "pickle",
            "sklearn_version": sklearn_version,
        },
    }
    mlmodel = {}
    if artifact_path:
        mlmodel["artifact_path"] = artifact_path
    mlmodel["flavors"] = flavors
    mlmodel["model_size_bytes"] = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    mlmodel["model_uuid"] = uuid.uuid4().hex
    if run_id:
        mlmodel["run_id"] = run_id
    mlmodel["utc_time_created"] = datetime.utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
    with open(os.path.join(path, "MLmodel"), "w", encoding="utf-8") as f:
        f.write(_yaml(mlmodel) + "\n")
    return mlmodel


def log_model(sk_model, artifact_path):
    """Log the scikit-learn model sk_model as an MLflow model under
    artifact_path of the active run and return its ModelInfo (model_uri is
    runs:/<run_id>/<artifact_path>)."""
    run_id = _run_id()
    artifact_uri = _artifact_uri()
    tmp = tempfile.mkdtemp(prefix="posml-model-")
    try:
        local = os.path.join(tmp, "model")
        mlmodel = save_model(sk_model, local, run_id=run_id, artifact_path=artifact_path)
        _client().log_artifacts(run_id, local, artifact_path, artifact_uri=artifact_uri)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        _client().log_model_json(run_id, mlmodel)
    except MlflowException as e:  # as in mlflow: the model is logged, only its run tag is missing
        sys.stderr.write("posml.tracking: logging the model's metadata in run %s failed: %s\n" % (run_id, e))
    return ModelInfo(artifact_path, run_id, mlmodel["flavors"], mlmodel["model_uuid"], mlmodel["utc_time_created"],
                     posixpath.join(artifact_uri, artifact_path))
