"""A small HTTP client on urllib: JSON in and out, a Bearer token, timeouts,
and retries with exponential backoff on connection errors and on the
statuses a server answers when it is briefly unable to (408, 429, 5xx).

Standard library only.
"""
import json
import os
import random
import socket
import time
import http.client
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = "http://127.0.0.1:5000"

# Statuses worth asking again: the same set the mlflow client retries.
RETRY_STATUSES = frozenset([408, 429, 500, 502, 503, 504])


class HTTPError(Exception):
    """A request that the server answered with a status other than 2xx.

    error_code is the MLflow-style code from a JSON error body
    ({"error_code": ..., "message": ...}), else derived from the status.
    """

    def __init__(self, method, url, status, body, headers=None):
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.error_code, self.message = _parse_error(status, body)
        super(HTTPError, self).__init__("%s %s: %d %s: %s" % (method, url, status, self.error_code, self.message))


class ConnectionFailed(Exception):
    """The server could not be reached, even after the retries."""


_STATUS_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "ENDPOINT_NOT_FOUND", 409: "RESOURCE_CONFLICT", 429: "REQUEST_LIMIT_EXCEEDED",
                 501: "NOT_IMPLEMENTED", 503: "TEMPORARILY_UNAVAILABLE"}


def _parse_error(status, body):
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("error_code"):  # MLflow's API
        return str(doc["error_code"]), str(doc.get("message", ""))
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):  # posml's API
        return str(doc["error"].get("code") or status), str(doc["error"].get("message", ""))
    return _STATUS_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"), text.strip()[:1000]


def _env_number(getenv, name, default, kind=float):
    value = getenv(name)
    if value in (None, ""):
        return default
    try:
        return kind(value)
    except ValueError:
        raise ValueError("%s=%r is not a number" % (name, value))


def server_url(getenv=os.environ.get):
    """The posml server's base URL: $POSML_URL, else $MLFLOW_TRACKING_URI when
    it is http(s), else http://127.0.0.1:5000. No trailing slash."""
    url = getenv("POSML_URL")
    if not url:
        tracking = getenv("MLFLOW_TRACKING_URI") or ""
        if tracking.startswith(("http://", "https://")):
            url = tracking
    return (url or DEFAULT_URL).rstrip("/")


def server_token(getenv=os.environ.get):
    """The token sent as Authorization: Bearer: $MLFLOW_TRACKING_TOKEN, else $POSML_TOKEN."""
    return getenv("MLFLOW_TRACKING_TOKEN") or getenv("POSML_TOKEN") or None


class Response(object):
    """A finished response: status, headers (a case-insensitive Message) and body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        if not self.body or not self.body.strip():
            return {}
        return json.loads(self.body.decode("utf-8"))


class Client(object):
    """HTTP calls to one server.

    retries is how many times a request is repeated after a connection error
    or a retryable status; the waits grow as backoff * 2**attempt seconds
    (with jitter), at most max_backoff. The defaults come from the mlflow
    client's environment variables MLFLOW_HTTP_REQUEST_MAX_RETRIES,
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR and MLFLOW_HTTP_REQUEST_TIMEOUT.
    """

    def __init__(self, base_url=None, token=None, timeout=None, retries=None, backoff=None,
                 max_backoff=30.0, getenv=os.environ.get, sleep=time.sleep):
        self.base_url = (base_url or server_url(getenv)).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("server URL %r: want http:// or https://" % self.base_url)
        self.token = token if token is not None else server_token(getenv)
        self.username = getenv("MLFLOW_TRACKING_USERNAME")
        self.password = getenv("MLFLOW_TRACKING_PASSWORD")
        self.timeout = timeout if timeout is not None else _env_number(getenv, "MLFLOW_HTTP_REQUEST_TIMEOUT", 120.0)
        self.retries = retries if retries is not None else _env_number(getenv, "MLFLOW_HTTP_REQUEST_MAX_RETRIES", 5, int)
        self.backoff = backoff if backoff is not None else _env_number(getenv, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", 0.5)
        self.max_backoff = max_backoff
        self._sleep = sleep

    def url(self, path, params=None):
        """The absolute URL of path (absolute URLs are kept) with query params."""
        url = path if path.startswith(("http://", "https://")) else self.base_url + "/" + path.lstrip("/")
        if params:
            pairs = []
            for key, value in params.items():
                if value is None:
                    continue
                for v in value if isinstance(value, (list, tuple)) else [value]:
                    pairs.append((key, _query_value(v)))
            if pairs:
                url += ("&" if "?" in url else "?") + urllib.parse.urlencode(pairs)
        return url

    def _headers(self, extra):
        headers = {"User-Agent": "posml-python-sdk", "Accept": "*/*"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        elif self.username and self.password:
            import base64
            cred = base64.b64encode(("%s:%s" % (self.username, self.password)).encode("utf-8")).decode("ascii")
            headers["Authorization"] = "Basic " + cred
        headers.update(extra or {})
        return headers

    def request(self, method, path, params=None, json_body=None, data=None, file_path=None, headers=None):
        """Send one request, retrying as described on the class, and return
        the Response. A non-2xx answer raises HTTPError; an unreachable
        server raises ConnectionFailed.

        The body is json_body (JSON-encoded), data (bytes) or the contents of
        file_path (reopened for each attempt).
        """
        return self._send(method, path, params, json_body, data, file_path, headers, stream=False)

    def open(self, method, path, params=None, headers=None):
        """Like request, without a body, but return the open response (an
        http.client.HTTPResponse: .status, .headers, .read()) as soon as
        its headers have arrived, to read the body while it streams. The
        caller closes it. Only getting the headers is retried."""
        return self._send(method, path, params, None, None, None, headers, stream=True)

    def _send(self, method, path, params, json_body, data, file_path, headers, stream):
        url = self.url(path, params)
        extra = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body, allow_nan=False).encode("utf-8")
            extra.setdefault("Content-Type", "application/json")
        attempt = 0
        while True:
            body_file = None
            try:
                body = data
                if file_path is not None:
                    body_file = open(file_path, "rb")
                    body = body_file
                    extra["Content-Length"] = str(os.fstat(body_file.fileno()).st_size)
                req = urllib.request.Request(url, data=body, method=method, headers=self._headers(extra))
                resp = urllib.request.urlopen(req, timeout=self.timeout)
                if stream:
                    return resp
                with resp:
                    return Response(resp.status, resp.headers, resp.read())
            except urllib.error.HTTPError as e:
                try:
                    err_body = e.read()
                except (OSError, http.client.HTTPException):
                    err_body = b""
                if e.code in RETRY_STATUSES and attempt < self.retries:
                    self._wait(attempt, e.headers.get("Retry-After") if e.headers else None)
                    attempt += 1
                    continue
                raise HTTPError(method, url, e.code, err_body, e.headers)
            except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError) as e:
                if attempt < self.retries:
                    self._wait(attempt)
                    attempt += 1
                    continue
                reason = getattr(e, "reason", e)
                raise ConnectionFailed("%s %s: cannot reach the server after %d attempts: %s"
                                       % (method, url, attempt + 1, reason))
            finally:
                if body_file is not None:
                    body_file.close()

    def _wait(self, attempt, retry_after=None):
        delay = min(self.max_backoff, self.backoff * (2 ** attempt))
        if retry_after:
            try:
                delay = min(self.max_backoff, max(delay, float(retry_after)))
            except ValueError:
                pass
        self._sleep(delay * (0.5 + random.random() / 2))

    def get_json(self, path, params=None):
        return self.request("GET", path, params=params).json()

    def post_json(self, path, body):
        return self.request("POST", path, json_body=body).json()


def _query_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
