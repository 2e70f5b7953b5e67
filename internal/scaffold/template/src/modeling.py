"""Step 3 of the pipeline: train candidate models and pick the best one.

Each candidate (a k-nearest-neighbours classifier, k = 2, 3, 4) is one MLflow
run with its parameters, metrics and model. The best run by
mlflow.target_metric, in that metric's direction, is handed to
model_evaluate, which compares it with the registered champion.{{if .Lite}}

This is the lite variant (`posml init --lite`): it logs through
posml.tracking, posml's zero-dependency MLflow client, instead of the mlflow
package. The platform puts posml's SDK on the PYTHONPATH of every run; to
run it elsewhere, pip install posml's sdk/python.{{end}}
"""
import math
import os
import sys
from datetime import datetime

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)

{{if not .Lite}}import mlflow
import mlflow.sklearn
{{end}}import pandas as pd
{{if .Lite}}import posml.tracking as mlflow
{{end}}from sklearn import metrics
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from config import config as conf

K_RANGE = range(2, 5)

# Metrics where a smaller value is better; for every other metric a larger
# value is. mlflow.target_metric_direction in config.yaml overrides this.
LOWER_IS_BETTER = {"log_loss", "training_log_loss", "mean_squared_error"}


def metric_direction(metric, override=None):
    """Return "minimize" or "maximize": how metric improves."""
    if override:
        override = str(override).strip().lower()
        if override not in ("minimize", "maximize"):
            raise ValueError(f"mlflow.target_metric_direction is {override!r}; want minimize or maximize")
        return override
    return "minimize" if metric in LOWER_IS_BETTER else "maximize"


def better(candidate, incumbent, direction):
    """Report whether the score candidate beats incumbent in direction.

    A missing (None) or NaN incumbent is beaten by any real score; a tie
    keeps the incumbent.
    """
    if candidate is None or math.isnan(candidate):
        return False
    if incumbent is None or math.isnan(incumbent):
        return True
    if direction == "minimize":
        return candidate < incumbent
    return candidate > incumbent


def mlflow_settings():
    """The mlflow: section of the config, with defaults for a local run."""
    settings = dict(conf.get("mlflow") or {})
    settings.setdefault("target_metric", "accuracy_score")
    return settings


def setup_mlflow():
    """Point {{if .Lite}}posml.tracking{{else}}MLflow{{end}} at the tracking server and experiment of this project.

    The platform's system config sets mlflow.tracking_uri and
    mlflow.experiment_name. Without them (a local run) {{if .Lite}}the server is
    $MLFLOW_TRACKING_URI, else $POSML_URL, else http://127.0.0.1:5000, and
    the experiment is $MLFLOW_EXPERIMENT_NAME or proj_name.{{else}}MLflow uses
    $MLFLOW_TRACKING_URI or its local store, and the experiment is
    $MLFLOW_EXPERIMENT_NAME or proj_name.{{end}}
    """
    settings = mlflow_settings()
    if settings.get("tracking_uri"):
        mlflow.set_tracking_uri(settings["tracking_uri"])
    experiment = settings.get("experiment_name")
    if not experiment and not os.environ.get("MLFLOW_EXPERIMENT_NAME"):
        experiment = conf.get("proj_name")
    if experiment:
        mlflow.set_experiment(experiment)


def evaluate(model, x_test, y_test):
    """Score a fitted classifier on the test set, under MLflow's metric names."""
    pred = model.predict(x_test)
    proba = model.predict_proba(x_test)
    labels = model.classes_
    scores = {
        "accuracy_score": metrics.accuracy_score(y_test, pred),
        "f1_score": metrics.f1_score(y_test, pred, average="weighted", zero_division=0),
        "precision_score": metrics.precision_score(y_test, pred, average="weighted", zero_division=0),
        "recall_score": metrics.recall_score(y_test, pred, average="weighted", zero_division=0),
        "log_loss": metrics.log_loss(y_test, proba, labels=labels),
    }
    try:
        if len(labels) == 2:
            scores["roc_auc"] = metrics.roc_auc_score(y_test, proba[:, 1])
        else:
            scores["roc_auc"] = metrics.roc_auc_score(y_test, proba, multi_class="ovr", average="weighted", labels=labels)
    except ValueError:  # a class is missing from y_test: ROC AUC is undefined
        pass
    return {name: float(value) for name, value in scores.items()}


{{if .Lite}}def log_training(model, x_train, y_train):
    """Log what mlflow.sklearn.autolog would: the estimator's parameters and
    tags, and its training_* metrics."""
    mlflow.log_params({key: value for key, value in model.get_params().items()})
    mlflow.set_tags({"estimator_name": type(model).__name__,
                     "estimator_class": f"{type(model).__module__}.{type(model).__name__}"})
    training = {f"training_{name}": value for name, value in evaluate(model, x_train, y_train).items()}
    training["training_score"] = float(model.score(x_train, y_train))
    mlflow.log_metrics(training)


{{end}}def modeling(x: pd.DataFrame, y: pd.Series):
    """Train one model per k, log each as an MLflow run, return the best run's (run_id, model_uri)."""
    setup_mlflow()
    settings = mlflow_settings()
    target_metric = settings["target_metric"]
    direction = metric_direction(target_metric, settings.get("target_metric_direction"))

    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=2022)

{{if not .Lite}}    # Parameters and training_* metrics are logged by autolog; the model is
    # logged once, below, under "models".
    mlflow.sklearn.autolog(log_models=False, log_post_training_metrics=False, silent=True)

{{end}}    best_run_id, best_model_uri, best_score = None, None, None
    for k in K_RANGE:
        run_name = f"sklearn_knn_k_{k}_{datetime.now():%Y-%m-%d-%H:%M:%S}"
        with mlflow.start_run(run_name=run_name) as run:
            knn = KNeighborsClassifier(n_neighbors=k)
            knn.fit(x_train, y_train)
{{if .Lite}}            log_training(knn, x_train, y_train)
{{end}}            mlflow.log_metrics(evaluate(knn, x_test, y_test))
            model_info = mlflow.{{if not .Lite}}sklearn.{{end}}log_model(knn, "models")

        run_id = run.info.run_id
        logged = mlflow.get_run(run_id).data.metrics
        if target_metric not in logged:
            raise KeyError(f"mlflow.target_metric {target_metric!r} was not logged; the runs log: {', '.join(sorted(logged))}")
        score = logged[target_metric]
        print(f"run {run_id} ({run_name}): {target_metric} = {score:.6g}")
        if better(score, best_score, direction):
            best_run_id, best_model_uri, best_score = run_id, model_info.model_uri, score

    print(f"best run: {best_run_id}, {target_metric} = {best_score:.6g} ({direction})")
    return best_run_id, best_model_uri
