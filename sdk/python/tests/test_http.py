import json
import threading
import time
import unittest

import helpers  # noqa: F401  (puts the SDK on sys.path)
from posml import _http


class EnvTest(unittest.TestCase):
    def test_server_url(self):
        cases = [
            ({}, "http://127.0.0.1:5000"),
            ({"MLFLOW_TRACKING_URI": "http://mlflow:5000/"}, "http://mlflow:5000"),
            ({"MLFLOW_TRACKING_URI": "file:///tmp/mlruns"}, "http://127.0.0.1:5000"),
            ({"MLFLOW_TRACKING_URI": "https://a:1", "POSML_URL": "http://posml:8080"}, "http://posml:8080"),
        ]
        for env, want in cases:
            self.assertEqual(_http.server_url(env.get), want, env)

    def test_server_token(self):
        self.assertIsNone(_http.server_token({}.get))
        self.assertEqual(_http.server_token({"POSML_TOKEN": "p"}.get), "p")
        self.assertEqual(_http.server_token({"POSML_TOKEN": "p", "MLFLOW_TRACKING_TOKEN": "m"}.get), "m")


class RetryTest(unittest.TestCase):
    def test_connection_refused_then_success(self):
        port = helpers.free_port()
        started = []

        def start_later():
            time.sleep(0.4)
            started.append(helpers.Server(lambda req: (200, {"Content-Type": "application/json"}, b'{"ok": true}'), port=port))

        t = threading.Thread(target=start_later)
        t.start()
        try:
            c = _http.Client("http://127.0.0.1:%d" % port, token="tok", retries=10, backoff=0.1, max_backoff=0.3)
            self.assertEqual(c.get_json("/x"), {"ok": True})
        finally:
            t.join()
            for s in started:
                s.close()
        self.assertEqual(started[0].requests[0][2].get("Authorization"), "Bearer tok")

    def test_gives_up(self):
        port = helpers.free_port()
        sleeps = []
        c = _http.Client("http://127.0.0.1:%d" % port, retries=3, backoff=1, sleep=sleeps.append)
        with self.assertRaises(_http.ConnectionFailed) as cm:
            c.get_json("/x")
        self.assertEqual(len(sleeps), 3)
        self.assertTrue(sleeps[0] < sleeps[2], sleeps)  # backoff grows
        self.assertIn("after 4 attempts", str(cm.exception))

    def test_retries_5xx_not_4xx(self):
        answers = [(503, b"busy"), (500, b'{"error_code": "INTERNAL_ERROR", "message": "x"}'), (200, b"{}")]

        def handle(req):
            status, body = answers.pop(0) if req.path.startswith("/flaky") else (404, b'{"error": {"code": "not_found", "message": "no mart"}}')
            return status, {}, body

        s = helpers.Server(handle)
        try:
            c = _http.Client(s.url, retries=5, sleep=lambda d: None)
            self.assertEqual(c.request("POST", "/flaky", json_body={"a": 1}).status, 200)
            self.assertEqual(len(s.requests), 3)
            self.assertEqual([json.loads(r[3]) for r in s.requests], [{"a": 1}] * 3)
            with self.assertRaises(_http.HTTPError) as cm:
                c.get_json("/missing")
            self.assertEqual(len(s.requests), 4)  # no retry
            e = cm.exception
            self.assertEqual((e.status, e.error_code, e.message), (404, "not_found", "no mart"))
        finally:
            s.close()

    def test_query_params(self):
        c = _http.Client("http://h:1")
        self.assertEqual(c.url("/a", {"x": "1", "y": None, "z": ["p", "q"], "b": True}), "http://h:1/a?x=1&z=p&z=q&b=true")


if __name__ == "__main__":
    unittest.main()
