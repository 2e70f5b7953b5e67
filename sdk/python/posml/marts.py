"""Data marts: GetMartData(mart_id) reads a posml data mart's snapshot into
a pandas DataFrame.

The server streams the snapshot as CSV (or as Parquet, read with pyarrow
when it is installed) with the column types in the X-Posml-Schema header;
the DataFrame gets those types back (int64, or pandas' nullable Int64 when
the column has nulls; float64; strings as object; bool, or nullable boolean;
timestamps as datetime64[ns, UTC]), its rows in the snapshot's stored order
and a default RangeIndex 0..n-1. Which snapshot was read is in
``df.attrs["posml"]`` (mart, snapshot, digest, rows).

The server is $POSML_URL, else $MLFLOW_TRACKING_URI (http or https), else
http://127.0.0.1:5000; the token $MLFLOW_TRACKING_TOKEN (the run token
posml gives every pipeline run), else $POSML_TOKEN. Inside a pipeline run,
the server records the snapshot read as an input of the run: no code needed.

Standard library only, plus pandas to build the DataFrame.
"""
import http.client
import io
import json
import os
import socket
import urllib.parse

from posml import _http

__all__ = ["GetMartData", "get_mart_data", "MartError", "MartNotFoundError"]


class MartError(Exception):
    """A mart could not be read."""


class MartNotFoundError(MartError, LookupError):
    """The mart, or the snapshot version asked for, does not exist."""


def _has_pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def get_mart_data(mart_id, version=None, format=None, client=None):
    """Return the mart's snapshot (the latest, or version) as a pandas
    DataFrame. format is "csv", "parquet" or None (Parquet when pyarrow is
    installed, else CSV)."""
    if not mart_id or not isinstance(mart_id, str):
        raise MartError("GetMartData: want a mart id (a non-empty string), got %r; set mart_id in src/config.yaml"
                        % (mart_id,))
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise MartError("GetMartData needs pandas: pip install pandas (or apt-get install python3-pandas)")
    if format is None:
        format = os.environ.get("POSML_MART_FORMAT") or ("parquet" if _has_pyarrow() else "csv")
    if format not in ("csv", "parquet"):
        raise MartError("GetMartData: format %r: want csv or parquet" % format)
    client = client or _http.Client()
    path = "/api/posml/marts/%s/data" % urllib.parse.quote(mart_id, safe="")
    params = {"format": format}
    if version is not None:
        params["version"] = str(version)
    attempt = 0
    while True:
        try:
            resp = client.open("GET", path, params=params)
        except _http.HTTPError as e:
            raise _mart_error(e, mart_id, version, client.base_url)
        except _http.ConnectionFailed as e:
            raise MartError("GetMartData(%r): %s (is posml server running? set POSML_URL)" % (mart_id, e))
        try:
            with resp:
                schema = _schema(resp.headers.get("X-Posml-Schema"), mart_id)
                if format == "parquet" and not (resp.headers.get("Content-Type") or "").startswith("text/csv"):
                    df = _from_parquet(resp.read(), schema)
                else:
                    # Parse while the body streams in: the server's encoding
                    # and the parsing overlap.
                    df = _from_csv(io.BufferedReader(_CheckedBody(resp), 1 << 16), schema)
            break
        except (http.client.HTTPException, ConnectionError, socket.timeout) as e:
            # The connection broke mid-body: read the snapshot again (the
            # same version: snapshots are immutable).
            if attempt >= client.retries:
                raise MartError("GetMartData(%r): the download broke %d times: %s" % (mart_id, attempt + 1, e))
            attempt += 1
            if version is None and resp.headers.get("X-Posml-Snapshot"):
                params["version"] = version = resp.headers.get("X-Posml-Snapshot")
    expected = resp.headers.get("X-Posml-Rows")
    if expected not in (None, "") and int(expected) != len(df):
        raise MartError("GetMartData(%r): the server announced %s rows but sent %d" % (mart_id, expected, len(df)))
    info = {
        "mart": resp.headers.get("X-Posml-Mart") or mart_id,
        "snapshot": int(resp.headers.get("X-Posml-Snapshot") or 0) or None,
        "digest": resp.headers.get("X-Posml-Digest"),
        "rows": len(df),
        "url": client.base_url,
    }
    df.attrs["posml"] = info
    _record_read(info, schema, client.base_url + path)
    return df


# The snapshots this process has read, as MLflow dataset inputs:
# posml.tracking logs them on each run it starts afterwards (reads made
# while an MLflow run is RUNNING the server records on that run itself).
READS = []

_COLSPEC_TYPES = {"int64": "long", "float64": "double", "string": "string", "bool": "boolean", "timestamp": "datetime"}


def _record_read(info, schema, url):
    """Remember the read as the MLflow dataset the server would log for it
    (package datamart's datasetInput)."""
    if not info["digest"]:
        return
    if info["snapshot"]:
        url += "?version=%d" % info["snapshot"]
    dataset = {
        "name": info["mart"],
        "digest": info["digest"][:36],
        "source_type": "posml-mart",
        "source": json.dumps({"url": url, "mart_id": info["mart"], "version": info["snapshot"], "digest": info["digest"]}),
        "schema": json.dumps({"mlflow_colspec": [{"type": _COLSPEC_TYPES.get(t, "string"), "name": n, "required": not nullable}
                                                 for n, t, nullable in schema]}),
        "profile": json.dumps({"num_rows": info["rows"], "num_elements": info["rows"] * len(schema)}),
    }
    key = (dataset["name"], dataset["digest"])
    if all((d["name"], d["digest"]) != key for d in READS):
        READS.append(dataset)


def GetMartData(mart_id, version=None):
    """Return the data mart mart_id (its latest snapshot, or version) as a
    pandas DataFrame with a default RangeIndex, rows in stored order."""
    return get_mart_data(mart_id, version=version)


class _CheckedBody(io.RawIOBase):
    """The body of resp as a raw stream that raises IncompleteRead when the
    connection ends before Content-Length bytes (http.client's read(n) just
    returns less, and a cut CSV still parses)."""

    def __init__(self, resp):
        self.resp = resp
        length = resp.headers.get("Content-Length")
        self.want = int(length) if length and length.isdigit() else None
        self.got = 0

    def readable(self):
        return True

    def readinto(self, b):
        n = self.resp.readinto(b)
        self.got += n
        if n == 0 and len(b) and self.want is not None and self.got < self.want:
            raise http.client.IncompleteRead(b"", self.want - self.got)
        return n


def _mart_error(e, mart_id, version, url):
    if e.status == 404:
        if e.message.startswith("no endpoint"):
            return MartError("GetMartData(%r): the server at %s has no data-mart API (%s): upgrade posml"
                             % (mart_id, url, e.message))
        if version is not None:
            return MartNotFoundError("mart %r version %s not found on %s: %s (posml mart snapshots %s lists them)"
                                     % (mart_id, version, url, e.message, mart_id))
        if "snapshot" in e.message.lower():
            return MartNotFoundError("mart %r has no snapshot on %s: materialise one with posml mart refresh %s"
                                     % (mart_id, url, mart_id))
        return MartNotFoundError("mart %r not found on %s: create it with posml mart create %s --from FILE"
                                 % (mart_id, url, mart_id))
    if e.status in (401, 403):
        return MartError("GetMartData(%r): %s %s from %s: %s (set MLFLOW_TRACKING_TOKEN or POSML_TOKEN)"
                         % (mart_id, e.status, e.error_code, url, e.message))
    return MartError("GetMartData(%r): %s %s from %s: %s" % (mart_id, e.status, e.error_code, url, e.message))


def _schema(header, mart_id):
    if not header:
        raise MartError("GetMartData(%r): the response has no X-Posml-Schema header" % mart_id)
    try:
        cols = json.loads(header)
        return [(str(c["name"]), str(c["type"]), bool(c.get("nullable", True))) for c in cols]
    except (ValueError, KeyError, TypeError) as e:
        raise MartError("GetMartData(%r): bad X-Posml-Schema header %r: %s" % (mart_id, header[:200], e))


TRUE_VALUES = ["true", "True", "TRUE"]
FALSE_VALUES = ["false", "False", "FALSE"]


def _from_csv(body, schema):
    """Parse the CSV body (bytes or a binary file) with the schema's types;
    see the module doc."""
    import pandas as pd

    names = [name for name, _, _ in schema]
    dtype, na_values = {}, {}
    for name, typ, nullable in schema:
        if typ == "int64":
            dtype[name] = "Int64" if nullable else "int64"
        elif typ == "float64":
            dtype[name] = "float64"
            na_values[name] = ["", "NaN", "nan"]
            continue
        elif typ == "bool":
            dtype[name] = "boolean" if nullable else "bool"
        elif typ == "timestamp":
            dtype[name] = "object"
        else:  # string, and any type this SDK does not know yet
            dtype[name] = "object"
        if nullable:
            na_values[name] = [""]
    if isinstance(body, bytes):
        body = io.BytesIO(body)
    try:
        df = pd.read_csv(body, dtype=dtype, keep_default_na=False, na_values=na_values,
                         true_values=TRUE_VALUES, false_values=FALSE_VALUES, encoding="utf-8")
    except pd.errors.EmptyDataError:  # no header row at all: no columns were sent
        df = pd.DataFrame({name: [] for name in names})
    if len(df) == 0:
        return pd.DataFrame({name: pd.Series([], dtype=_empty_dtype(typ)) for name, typ, _ in schema})
    if list(df.columns) != names:
        raise MartError("the CSV header %s does not match the schema %s" % (list(df.columns), names))
    for name, typ, nullable in schema:
        col = df[name]
        if typ == "timestamp":
            df[name] = pd.to_datetime(col, utc=True)
        elif typ in ("int64", "bool") and nullable and not col.isna().any():
            df[name] = col.astype("int64" if typ == "int64" else "bool")
    return df.reset_index(drop=True)


def _empty_dtype(typ):
    return {"int64": "int64", "float64": "float64", "bool": "bool", "timestamp": "datetime64[ns, UTC]"}.get(typ, "object")


def _from_parquet(body, schema):
    """Read the Parquet body with pyarrow; give ints and bools with nulls
    pandas' nullable dtypes, as for CSV."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(body))
    df = table.to_pandas()
    for name, typ, _ in schema:
        if name not in df.columns:
            raise MartError("the Parquet file lacks the column %r of the schema" % name)
        column = table.column(name)
        if typ == "int64" and column.null_count:
            df[name] = pd.array(column.to_pylist(), dtype="Int64")
        elif typ == "bool" and column.null_count:
            df[name] = pd.array(column.to_pylist(), dtype="boolean")
        elif typ == "timestamp":
            df[name] = pd.to_datetime(df[name], utc=True)
    return df[[name for name, _, _ in schema]].reset_index(drop=True)
