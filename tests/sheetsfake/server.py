"""Loopback transport: a threaded HTTP/1.1 server in a background thread.

``FakeServer(fake).start()`` listens on 127.0.0.1 (ephemeral port by default); ``url`` is
the base URL to put in front of ``/v4/spreadsheets/...``. A dropped-connection fault closes
the socket without a response; a delay fault sleeps in the handler thread. Besides the API,
``GET /_fake/requests`` and ``GET /_fake/spreadsheets/{id}`` expose the request log and a
spreadsheet's values, for tests that run the client in another process.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .errors import ApiError

if TYPE_CHECKING:
    from .fake import FakeSheets


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    fake: FakeSheets

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def setup(self) -> None:
        super().setup()
        self.server.open_connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.open_connections.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def _send(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _internal(self, path: str) -> None:
        from .fake import iter_records

        try:
            if path == "/_fake/requests":
                payload: Any = list(iter_records(self.fake.requests))
            elif path.startswith("/_fake/spreadsheets/"):
                payload = self.fake.export(unquote(path.rsplit("/", 1)[1]))
            else:
                raise ApiError(404)
            status = 200
        except ApiError as error:
            payload, status = error.body(), error.code
        content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(status, {"Content-Type": "application/json; charset=UTF-8"}, content)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if url.path.startswith("/_fake/"):
            self._internal(url.path)
            return
        outcome = self.fake.handle(
            self.command, url.path, url.query, body, dict(self.headers.items())
        )
        if outcome.dropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self._send(outcome.status, outcome.headers, outcome.content)
        except OSError:  # the client gave up (e.g. its timeout fired during a delay)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class FakeServer:
    """The fake over real HTTP on loopback; use as a context manager or call ``close()``."""

    def __init__(self, fake: FakeSheets, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"fake": fake})
        self.fake = fake
        self.httpd = ThreadingHTTPServer((host, port), handler)
        # Kept so close() can drop them: going away means live connections too.
        self.httpd.open_connections = set()  # type: ignore[attr-defined]
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening and drop every open connection, as a server that goes away does."""
        self.httpd.shutdown()
        self.httpd.server_close()
        for connection in list(self.httpd.open_connections):  # type: ignore[attr-defined]
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
