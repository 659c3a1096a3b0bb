"""Loopback servers for the mirror tests: one that hangs, one that records HTTP requests."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HangingServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte."""

    def __init__(self):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port = self._socket.getsockname()[1]
        self._connections: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> HangingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopped.set()
        self._socket.close()
        for connection in self._connections:
            connection.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self._connections.append(connection)


class RecordedHTTPServer:
    """Serves canned responses by path on 127.0.0.1 and records every request it gets.

    ``routes`` maps "METHOD /path?query" (or "METHOD /path") to (status, headers, body).
    A body that is not bytes or str is sent as JSON.
    """

    def __init__(self, routes: dict):
        self.routes = routes
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                key = f"{self.command} {self.path}"
                route = server.routes.get(key) or server.routes.get(key.split("?")[0])
                if route is None:
                    status, headers, payload = 404, {}, {"message": "Not Found"}
                else:
                    status, headers, payload = route(self) if callable(route) else route
                if not isinstance(payload, bytes | str):
                    payload = json.dumps(payload)
                    headers = {"Content-Type": "application/json; charset=utf-8", **headers}
                data = payload.encode() if isinstance(payload, str) else payload
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_PATCH = _serve

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def calls(self, method: str, path: str = "") -> list[dict]:
        """Return the recorded requests with this method whose path starts with ``path``."""
        return [call for call in self.requests if call["method"] == method and call["path"].startswith(path)]

    def __enter__(self) -> RecordedHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
