import json
import math
import os
import pickle
import shutil
import tempfile
import unittest
import uuid

import helpers  # noqa: F401
import posml.tracking as mlflow
from posml.tracking import MlflowClient, MlflowException


class OfflineTest(unittest.TestCase):
    def test_rejects_non_http_uri(self):
        with self.assertRaises(MlflowException) as cm:
            MlflowClient("file:///tmp/mlruns")
        self.assertIn("http:// or https://", str(cm.exception))

    def test_yaml(self):
        text = mlflow._yaml({"a": {"b": [1, {"pip": ["x==1"]}], "c": None, "d": "3.11"}, "e": []})
        try:
            import yaml
        except ImportError:
            self.skipTest("needs PyYAML")
        self.assertEqual(yaml.safe_load(text), {"a": {"b": [1, {"pip": ["x==1"]}], "c": None, "d": "3.11"}, "e": []})


class LiveTest(unittest.TestCase):
    """posml.tracking against a real server: POSML_TEST_URL."""

    def setUp(self):
        url = os.environ.get("POSML_TEST_URL")
        if not url:
            self.skipTest("POSML_TEST_URL is not set (go test ./sdk/python starts a server)")
        mlflow.set_tracking_uri(url)
        self.client = MlflowClient(url)
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.addCleanup(self._end_runs)

    def _end_runs(self):
        while mlflow.active_run():
            mlflow.end_run()

    def test_run_end_to_end(self):
        name = "sdk-" + uuid.uuid4().hex[:8]
        exp = mlflow.set_experiment(name)
        self.assertEqual(exp.name, name)
        self.assertEqual(mlflow.set_experiment(name).experiment_id, exp.experiment_id)  # get-by-name finds it now

        path = os.path.join(self.tmp, "notes.txt")
        with open(path, "w") as f:
            f.write("hello")
        d = os.path.join(self.tmp, "plots")
        os.makedirs(os.path.join(d, "sub"))
        for p in ("a.csv", os.path.join("sub", "b.csv")):
            with open(os.path.join(d, p), "w") as f:
                f.write(p)

        from sklearn.datasets import load_iris
        from sklearn.neighbors import KNeighborsClassifier

        x, y = load_iris(return_X_y=True)
        knn = KNeighborsClassifier(n_neighbors=3).fit(x, y)
        many = dict(("m%04d" % i, float(i)) for i in range(1500))  # two log-batch requests

        with mlflow.start_run(run_name="knn-3", tags={"team": "a"}) as run:
            self.assertIs(mlflow.active_run(), run)
            run_id = run.info.run_id
            mlflow.log_param("k", 3)
            mlflow.log_params({"weights": "uniform", "p": 2})
            mlflow.log_metric("loss", 0.5, step=1)
            mlflow.log_metric("loss", 0.25, step=2)
            mlflow.log_metric("nan", float("nan"))
            mlflow.log_metrics({"accuracy_score": 0.96, "f1_score": 0.95})
            mlflow.log_metrics(many)
            mlflow.set_tag("stage", "test")
            mlflow.set_tags({"a": 1, "b": "two"})
            mlflow.log_artifact(path)
            mlflow.log_artifact(path, "docs")
            mlflow.log_artifacts(d, "plots")
            info = mlflow.log_model(knn, "models")
            uri = mlflow.get_artifact_uri("models")
        self.assertIsNone(mlflow.active_run())

        self.assertTrue(uri.startswith("mlflow-artifacts:/") and uri.endswith("/%s/artifacts/models" % run_id), uri)
        self.assertEqual(info.model_uri, "runs:/%s/models" % run_id)
        got = self.client.get_run(run_id)
        self.assertEqual(got.info.status, "FINISHED")
        self.assertEqual(got.info.run_name, "knn-3")
        self.assertEqual(got.info.experiment_id, exp.experiment_id)
        self.assertEqual(got.data.params, {"k": "3", "weights": "uniform", "p": "2"})
        self.assertEqual(got.data.metrics["loss"], 0.25)
        self.assertTrue(math.isnan(got.data.metrics["nan"]))
        self.assertEqual(got.data.metrics["accuracy_score"], 0.96)
        self.assertEqual(got.data.metrics["m1499"], 1499.0)
        self.assertEqual(len([k for k in got.data.metrics if k.startswith("m")]), 1500)
        tags = got.data.tags
        for k, v in {"team": "a", "stage": "test", "a": "1", "b": "two", "mlflow.runName": "knn-3",
                     "mlflow.source.type": "LOCAL"}.items():
            self.assertEqual(tags.get(k), v, k)
        self.assertIn("mlflow.source.name", tags)
        self.assertIn("mlflow.user", tags)
        history = json.loads(tags["mlflow.log-model.history"])
        self.assertEqual([(h["artifact_path"], h["run_id"]) for h in history], [("models", run_id)])
        self.assertIn("sklearn", history[0]["flavors"])

        ls = lambda p=None: [(f.path, f.is_dir) for f in self.client.list_artifacts(run_id, p)]  # noqa: E731
        self.assertEqual(ls(), [("docs", True), ("models", True), ("notes.txt", False), ("plots", True)])
        self.assertEqual(ls("plots"), [("plots/a.csv", False), ("plots/sub", True)])
        self.assertEqual(ls("plots/sub"), [("plots/sub/b.csv", False)])
        self.assertEqual(ls("models"), [("models/%s" % f, False) for f in
                                        ["MLmodel", "conda.yaml", "model.pkl", "python_env.yaml", "requirements.txt"]])
        self.assertEqual(self.client.download_artifact_bytes(run_id, "docs/notes.txt"), b"hello")
        model = pickle.loads(self.client.download_artifact_bytes(run_id, "models/model.pkl"))
        self.assertEqual(list(model.predict(x[:3])), list(knn.predict(x[:3])))
        try:
            import yaml
        except ImportError:
            return
        mlmodel = yaml.safe_load(self.client.download_artifact_bytes(run_id, "models/MLmodel"))
        self.assertEqual(mlmodel["artifact_path"], "models")
        self.assertEqual(mlmodel["run_id"], run_id)
        self.assertEqual(mlmodel["flavors"]["python_function"]["loader_module"], "mlflow.sklearn")
        self.assertEqual(mlmodel["flavors"]["python_function"]["model_path"], "model.pkl")
        self.assertEqual(mlmodel["flavors"]["sklearn"]["pickled_model"], "model.pkl")
        self.assertEqual(mlmodel["flavors"]["sklearn"]["serialization_format"], "pickle")
        import sklearn

        self.assertEqual(mlmodel["flavors"]["sklearn"]["sklearn_version"], sklearn.__version__)
        conda = yaml.safe_load(self.client.download_artifact_bytes(run_id, "models/conda.yaml"))
        self.assertIn("scikit-learn==" + sklearn.__version__, conda["dependencies"][-1]["pip"])
        env = yaml.safe_load(self.client.download_artifact_bytes(run_id, "models/python_env.yaml"))
        self.assertEqual(env["dependencies"], ["-r requirements.txt"])

    def test_failed_run(self):
        mlflow.set_experiment("sdk-fail-" + uuid.uuid4().hex[:8])
        with self.assertRaises(ZeroDivisionError):
            with mlflow.start_run() as run:
                1 / 0
        self.assertEqual(self.client.get_run(run.info.run_id).info.status, "FAILED")
        self.assertIsNone(mlflow.active_run())
        run = mlflow.start_run()
        with self.assertRaises(MlflowException) as cm:
            mlflow.start_run()
        self.assertEqual(cm.exception.error_code, "INVALID_STATE")
        mlflow.end_run()
        self.assertEqual(self.client.get_run(run.info.run_id).info.status, "FINISHED")

    def test_registry(self):
        mlflow.set_experiment("sdk-reg-" + uuid.uuid4().hex[:8])
        from sklearn.dummy import DummyClassifier

        with mlflow.start_run() as run:
            info = mlflow.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), "models")
        c = self.client
        name = "sdk-model-" + uuid.uuid4().hex[:8]
        self.assertEqual(c.create_registered_model(name).name, name)
        with self.assertRaises(MlflowException) as cm:
            c.create_registered_model(name)
        self.assertEqual(cm.exception.error_code, "RESOURCE_ALREADY_EXISTS")
        with self.assertRaises(MlflowException) as cm:
            c.get_model_version_by_alias(name, "champion")
        self.assertIn(cm.exception.error_code, ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"))
        self.assertEqual(c.search_model_versions("name='%s'" % name), [])

        v = c.create_model_version(name, info.model_uri, run.info.run_id, description="first")
        self.assertEqual((v.version, v.status, v.run_id), ("1", "READY", run.info.run_id))
        self.assertEqual(v.source, c.get_run(run.info.run_id).info.artifact_uri + "/models")
        c.set_registered_model_alias(name, "champion", v.version)
        champ = c.get_model_version_by_alias(name, "champion")
        self.assertEqual((champ.version, champ.description), ("1", "first"))
        self.assertIn("champion", champ.aliases)
        v2 = c.create_model_version(name, info.model_uri, run.info.run_id)
        self.assertEqual(v2.version, "2")
        self.assertEqual(sorted(m.version for m in c.search_model_versions("name='%s'" % name)), ["1", "2"])
        self.assertEqual(c.get_registered_model(name).aliases, {"champion": "1"})
        self.assertEqual([m.version for m in c.get_latest_versions(name, ["None"])], ["2"])

    def test_mart_reads_become_run_inputs(self):
        from posml import marts

        mlflow.set_experiment("sdk-inputs-" + uuid.uuid4().hex[:8])
        marts._record_read({"mart": "m-in", "snapshot": 3, "digest": "cd" * 32, "rows": 5, "url": "http://x"},
                           [("a", "int64", False)], "http://x/api/posml/marts/m-in/data")
        self.addCleanup(lambda: marts.READS.clear())
        with mlflow.start_run() as run:
            pass
        doc = self.client._call("GET", "runs/get", {"run_id": run.info.run_id})
        inputs = doc["run"].get("inputs", {}).get("dataset_inputs", [])
        self.assertEqual([(i["dataset"]["name"], i["dataset"]["digest"], i["dataset"]["source_type"]) for i in inputs],
                         [("m-in", ("cd" * 32)[:36], "posml-mart")])

    def test_experiment_from_env(self):
        name = "sdk-env-" + uuid.uuid4().hex[:8]
        old = mlflow._state.experiment_id
        mlflow._state.experiment_id = None
        os.environ["MLFLOW_EXPERIMENT_NAME"] = name
        try:
            with mlflow.start_run() as run:
                pass
        finally:
            del os.environ["MLFLOW_EXPERIMENT_NAME"]
            mlflow._state.experiment_id = old
        self.assertEqual(run.info.experiment_id, self.client.get_experiment_by_name(name).experiment_id)


if __name__ == "__main__":
    unittest.main()
