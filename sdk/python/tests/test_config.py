import os
import shutil
import tempfile
import unittest

import helpers  # noqa: F401
from posml import config


class ConfigTest(unittest.TestCase):
    def test_merge(self):
        user = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": "x", "g": 1}
        got = config.merge(user, {"a": {"c": [3], "d": {"h": 2}}, "f": None, "g": {"k": 1}})
        self.assertEqual(got, {"a": {"b": 1, "c": [3], "d": {"e": 1, "h": 2}}, "f": "x", "g": {"k": 1}})
        self.assertEqual(user, {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": "x", "g": 1})

    def test_load(self):
        try:
            import yaml  # noqa: F401
        except ImportError:
            self.skipTest("needs PyYAML")
        root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, root)
        src = os.path.join(root, "src")
        os.makedirs(src)
        with open(os.path.join(src, "config.yaml"), "w") as f:
            f.write("proj_name: iris\nmart_id: m1\nmodel_name: [a]\nmlflow:\n  target_metric: accuracy_score\n")
        self.assertEqual(config.load(src)["mlflow"], {"target_metric": "accuracy_score"})
        with open(os.path.join(root, "config.yaml"), "w") as f:
            f.write("mlflow:\n  tracking_uri: http://x:5000\n  experiment_name: e\nmodel_name: [b, c]\nmart_id:\n")
        conf = config.load(src)
        self.assertEqual(conf["mlflow"], {"target_metric": "accuracy_score", "tracking_uri": "http://x:5000",
                                          "experiment_name": "e"})
        self.assertEqual(conf["model_name"], ["b", "c"])
        self.assertEqual(conf["mart_id"], "m1")
        self.assertEqual(conf["proj_name"], "iris")
        with open(os.path.join(root, "config.yaml"), "w") as f:
            f.write("- a list\n")
        with self.assertRaises(ValueError):
            config.load(src)


if __name__ == "__main__":
    unittest.main()
