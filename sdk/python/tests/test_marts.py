import json
import os
import subprocess
import sys
import unittest

import helpers

try:
    import pandas as pd
except ImportError:  # the whole module needs pandas
    pd = None

from posml import _http, marts

SCHEMA = [
    {"name": "id", "type": "int64", "nullable": False},
    {"name": "count", "type": "int64", "nullable": True},
    {"name": "dense", "type": "int64", "nullable": True},
    {"name": "score", "type": "float64", "nullable": True},
    {"name": "label", "type": "string", "nullable": True},
    {"name": "code", "type": "string", "nullable": False},
    {"name": "ok", "type": "bool", "nullable": False},
    {"name": "maybe", "type": "bool", "nullable": True},
    {"name": "at", "type": "timestamp", "nullable": True},
]
CSV = (b'id,count,dense,score,label,code,ok,maybe,at\n'
       b'3,,10,1.5,setosa,"",true,,2024-01-02T03:04:05.123456789Z\n'
       b'1,7,11,NaN,,x,false,true,\n'
       b'2,8,12,inf,"a,b",y,true,false,2024-01-02T03:04:05Z\n'
       b'0,9,13,-2.25,"say ""hi""",z,false,false,2024-03-01T00:00:00.5Z\n')


FLAKY = []


def fixture(req):
    if req.path.startswith("/api/posml/marts/flaky/data"):
        FLAKY.append(req.path)
        headers = {"X-Posml-Snapshot": "5", "X-Posml-Rows": "4", "X-Posml-Schema": json.dumps(SCHEMA)}
        if len(FLAKY) == 1:
            headers["X-Test-Truncate"] = "60"
        return 200, headers, CSV
    if req.path.startswith("/api/posml/marts/m1/data"):
        headers = {"Content-Type": "text/csv; charset=utf-8", "X-Posml-Mart": "m1", "X-Posml-Snapshot": "2",
                   "X-Posml-Digest": "ab" * 32, "X-Posml-Rows": "4", "X-Posml-Schema": json.dumps(SCHEMA)}
        return 200, headers, CSV
    if req.path.startswith("/api/posml/marts/empty/data"):
        return 200, {"X-Posml-Schema": json.dumps(SCHEMA[:2]), "X-Posml-Rows": "0"}, b"id,count\n"
    if req.path.startswith("/api/posml/marts/"):
        return 404, {"Content-Type": "application/json"}, b'{"error": {"code": "not_found", "message": "mart not found"}}'
    return 404, {}, b'{"error": {"code": "not_found", "message": "no endpoint GET /api/posml/other"}}'


@unittest.skipIf(pd is None, "needs pandas")
class FixtureTest(unittest.TestCase):
    """GetMartData against a stdlib server that speaks the wire contract of internal/datamart/doc.go."""

    def setUp(self):
        self.server = helpers.Server(fixture)
        self.addCleanup(self.server.close)
        self.env = dict(os.environ)
        os.environ["POSML_URL"] = self.server.url
        os.environ["MLFLOW_TRACKING_TOKEN"] = "posml_rt_test"
        self.addCleanup(self._restore)

    def _restore(self):
        os.environ.clear()
        os.environ.update(self.env)
        del marts.READS[:]

    def test_dtypes_order_index(self):
        df = marts.get_mart_data("m1", format="csv")
        self.assertEqual(list(df.columns), [c["name"] for c in SCHEMA])
        self.assertEqual({c: str(t) for c, t in df.dtypes.items()}, {
            "id": "int64", "count": "Int64", "dense": "int64", "score": "float64", "label": "object",
            "code": "object", "ok": "bool", "maybe": "boolean", "at": "datetime64[ns, UTC]"})
        self.assertIsInstance(df.index, pd.RangeIndex)
        self.assertEqual(list(df.index), [0, 1, 2, 3])
        self.assertEqual(df["id"].tolist(), [3, 1, 2, 0])  # stored order, not sorted
        self.assertTrue(pd.isna(df["count"][0]))
        self.assertEqual(df["count"][1], 7)
        self.assertEqual(df["label"].tolist()[2:], ["a,b", 'say "hi"'])
        self.assertTrue(pd.isna(df["label"][1]))
        self.assertEqual(df["code"].tolist(), ["", "x", "y", "z"])  # not nullable: "" stays ""
        self.assertTrue(pd.isna(df["score"][1]))
        self.assertEqual(df["score"][2], float("inf"))
        self.assertEqual(df["at"][0], pd.Timestamp("2024-01-02T03:04:05.123456789Z"))
        self.assertTrue(pd.isna(df["at"][1]))
        self.assertEqual(df.attrs["posml"]["snapshot"], 2)
        self.assertEqual(df.attrs["posml"]["digest"], "ab" * 32)
        self.assertEqual(len(marts.READS), 1)
        read = marts.READS[0]
        self.assertEqual((read["name"], read["digest"], read["source_type"]), ("m1", ("ab" * 32)[:36], "posml-mart"))
        self.assertEqual(json.loads(read["source"])["version"], 2)
        self.assertEqual(json.loads(read["schema"])["mlflow_colspec"][0], {"type": "long", "name": "id", "required": True})
        marts.get_mart_data("m1", format="csv")
        self.assertEqual(len(marts.READS), 1)  # the same snapshot once
        method, path, headers, _ = self.server.requests[-1]
        self.assertEqual(path, "/api/posml/marts/m1/data?format=csv")
        self.assertEqual(headers.get("Authorization"), "Bearer posml_rt_test")

    def test_version_and_workbenchpy(self):
        import workbenchPy

        df = workbenchPy.GetMartData("m1", version=2)
        self.assertEqual(len(df), 4)
        self.assertIn("version=2", self.server.requests[-1][1])

    def test_broken_download_is_read_again(self):
        del FLAKY[:]
        df = marts.get_mart_data("flaky", format="csv")
        self.assertEqual(len(df), 4)
        self.assertEqual(FLAKY, ["/api/posml/marts/flaky/data?format=csv",
                                 "/api/posml/marts/flaky/data?format=csv&version=5"])  # the same snapshot

    def test_empty(self):
        df = marts.get_mart_data("empty", format="csv")
        self.assertEqual((len(df), list(df.columns), str(df["id"].dtype)), (0, ["id", "count"], "int64"))

    def test_unknown_mart(self):
        with self.assertRaises(marts.MartNotFoundError) as cm:
            marts.GetMartData("nope")
        self.assertEqual(str(cm.exception), "mart 'nope' not found on %s: create it with posml mart create nope --from FILE"
                         % self.server.url)

    def test_unreachable(self):
        client = _http.Client("http://127.0.0.1:%d" % helpers.free_port(), retries=1, backoff=0.01)
        with self.assertRaises(marts.MartError) as cm:
            marts.get_mart_data("m1", client=client, format="csv")
        self.assertIn("cannot reach the server", str(cm.exception))

    def test_seed_load_data_verbatim_shape(self):
        # The guide's load_data.py selects columns, concats, and preprocess aligns on the index.
        df = marts.GetMartData("m1")
        x = df[["id", "score"]]
        y = df[["label"]]
        data = pd.concat([x, y], axis=1)
        self.assertEqual(list(data.index), list(range(4)))


IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width", "variety"]


@unittest.skipIf(pd is None, "needs pandas")
class LiveTest(unittest.TestCase):
    """GetMartData against a real posml server (POSML_TEST_URL) with the iris
    mart POSML_TEST_MART, created by the Go test from sklearn's iris data."""

    def setUp(self):
        self.url = os.environ.get("POSML_TEST_URL")
        self.mart = os.environ.get("POSML_TEST_MART")
        if not self.url:
            self.skipTest("POSML_TEST_URL is not set (go test ./sdk/python starts a server)")
        if not self.mart:
            self.skipTest("the server has no marts endpoint yet: POSML_TEST_MART is not set")
        self.addCleanup(lambda: marts.READS.clear())

    def test_iris(self):
        client = _http.Client(self.url)
        df = marts.get_mart_data(self.mart, client=client, format="csv")
        self.assertEqual(list(df.columns), IRIS_COLUMNS)
        self.assertEqual(len(df), 150)
        self.assertIsInstance(df.index, pd.RangeIndex)
        for c in IRIS_COLUMNS[:4]:
            self.assertEqual(str(df[c].dtype), "float64", c)
        self.assertEqual(df["variety"].dtype, object)
        from sklearn.datasets import load_iris

        bunch = load_iris(as_frame=True)
        self.assertEqual(df[IRIS_COLUMNS[:4]].values.tolist(), bunch.data.values.tolist())  # same order
        self.assertEqual(df["variety"].tolist(), [bunch.target_names[t] for t in bunch.target])
        self.assertEqual(df.attrs["posml"]["snapshot"], 1)
        self.assertEqual(len(df.attrs["posml"]["digest"] or ""), 64)
        with self.assertRaises(marts.MartNotFoundError) as cm:
            marts.get_mart_data(self.mart + "-missing", client=client)
        self.assertIn("create it with posml mart create", str(cm.exception))
        with self.assertRaises(marts.MartNotFoundError):
            marts.get_mart_data(self.mart, version=99, client=client)

    def test_seed_load_data_verbatim(self):
        # The guide's src/load_data.py, verbatim but for the conf dict and the deprecated positional axis.
        code = '''
import pandas as pd
from workbenchPy import GetMartData
conf = {"mart_id": %r}
def load_data():
    martData = GetMartData(conf['mart_id'])
    x_columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    y_columns = ["variety"]
    x = martData[x_columns]
    y = martData[y_columns]
    data = pd.concat([x, y], 1)
    return data
d = load_data()
assert d.shape == (150, 5) and list(d.index) == list(range(150)), d
print("ok")
''' % self.mart
        env = dict(os.environ, POSML_URL=self.url, PYTHONPATH=helpers.SDK)
        out = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(out.returncode, 0, out.stdout.decode())


if __name__ == "__main__":
    unittest.main()
