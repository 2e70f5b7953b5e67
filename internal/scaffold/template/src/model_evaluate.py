"""Step 4 of the pipeline: champion/challenger.

The best model of this run (the challenger) is compared with the registered
model's current champion: the version with the alias "champion", else the
latest version. When the challenger is better by mlflow.target_metric, in
that metric's direction, or when there is no champion yet, it is registered
as a new version and becomes the champion.
"""
import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)

{{if .Lite}}from posml.tracking import MlflowClient, MlflowException
{{else}}from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
{{end}}
from config import config as conf
from modeling import better, metric_direction, mlflow_settings, setup_mlflow

CHAMPION = "champion"


def registered_model_name():
    """mlflow.register_model from the config, else model_name, else proj_name."""
    name = mlflow_settings().get("register_model") or conf.get("model_name")
    if not isinstance(name, str) or not name:
        name = conf["proj_name"]
    return name


def ensure_registered_model(client, name):
    """Create the registered model unless it exists."""
    try:
        client.create_registered_model(name)
    except MlflowException as e:
        if e.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def current_champion(client, name):
    """The version with the champion alias, else the latest version, else None."""
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as e:
        if e.error_code not in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
            raise
    versions = client.search_model_versions(f"name='{name}'")
    if not versions:
        return None
    return max(versions, key=lambda v: int(v.version))


def show(value):
    return "n/a" if value is None else f"{value:.6g}"


def run_metric(client, run_id, metric):
    """The metric's value in the run, or None."""
    if not run_id:
        return None
    try:
        return client.get_run(run_id).data.metrics.get(metric)
    except MlflowException:  # the run is gone
        return None


def model_evaluate(best_model_run_id: str, best_model_uri: str):
    """Register the challenger and make it the champion if it beats the current one."""
    setup_mlflow()
    settings = mlflow_settings()
    target_metric = settings["target_metric"]
    direction = metric_direction(target_metric, settings.get("target_metric_direction"))
    name = registered_model_name()

    client = MlflowClient()
    ensure_registered_model(client, name)

    challenger = run_metric(client, best_model_run_id, target_metric)
    champion = current_champion(client, name)
    champion_score = run_metric(client, champion.run_id, target_metric) if champion else None

    if champion is None:
        print(f"{name}: no champion yet; challenger run {best_model_run_id}: {target_metric} = {show(challenger)}")
    else:
        delta = challenger - champion_score if challenger is not None and champion_score is not None else None
        print(f"{name}: champion version {champion.version}: {target_metric} = {show(champion_score)}; "
              f"challenger run {best_model_run_id}: {target_metric} = {show(challenger)}; "
              f"delta = {show(delta)} ({direction})")

    if champion is not None and not better(challenger, champion_score, direction):
        print(f"{name}: the champion stays (version {champion.version})")
        return None

    previous = f"version {champion.version}, {target_metric} = {show(champion_score)}" if champion else "none"
    desc = f"{target_metric} = {show(challenger)} (previous champion: {previous})"
    version = client.create_model_version(name, best_model_uri, best_model_run_id, description=desc)
    client.set_registered_model_alias(name, CHAMPION, version.version)
    print(f"{name}: version {version.version} is the new champion")
    return version
