"""Test helpers: a stdlib HTTP server in a thread, and import setup."""
import http.server
import os
import socket
import sys
import threading

# POSML_TEST_SDK: the SDK as pythonsdk.Install wrote it (go test sets it); else this checkout.
SDK = os.environ.get("POSML_TEST_SDK") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if SDK not in sys.path:
    sys.path.insert(0, SDK)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server(object):
    """An http.server on 127.0.0.1 in a daemon thread; handle(req) gives
    (status, headers dict, body bytes) for each request, and every request
    is kept in .requests as (method, path, headers, body)."""

    def __init__(self, handle, port=None):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _do(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                outer.requests.append((self.command, self.path, dict(self.headers), body))
                status, headers, out = handle(self)
                truncate = headers.pop("X-Test-Truncate", None)  # announce all of out, send only so many bytes
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if truncate is not None:
                    self.wfile.write(out[:int(truncate)])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = _do

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
