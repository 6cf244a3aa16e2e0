"""Serve the governance dashboard on 127.0.0.1 for a browser.

A browser cannot sign requests with SigV4, so this local server fetches `GET /dashboard` from the
governance API with the caller's credentials (the same signed client as every govctl command) on each
page load and hands the HTML to the browser. It listens on the loopback interface only.
"""
from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from govctl.client import GovctlError
from govctl.formatting import one_line


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fetch: Callable[[], str]
    csp: str


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.split("?")[0] not in ("/", "/dashboard"):
            self._send(404, "text/plain; charset=utf-8", b"not found: the dashboard is at /\n")
            return
        try:
            body = self.server.fetch().encode("utf-8")
        except GovctlError as exc:
            self._send(502, "text/plain; charset=utf-8", f"the governance API refused the dashboard: {one_line(exc)}\n".encode())
            return
        self._send(200, "text/html; charset=utf-8", body)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", self.server.csp)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def dashboard_server(fetch: Callable[[], str], port: int = 0) -> tuple[_Server, str]:
    """Start serving in a daemon thread; returns the server and its URL."""
    from governance.dashboard import CSP

    server = _Server(("127.0.0.1", port), _Handler)
    server.fetch, server.csp = fetch, CSP
    threading.Thread(target=server.serve_forever, name="govctl-dashboard", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def serve_until_interrupted(fetch: Callable[[], str], port: int, ready: Callable[[str], None]) -> None:
    """Serve the dashboard until Ctrl-C; `ready` gets its URL once it listens."""
    server, url = dashboard_server(fetch, port)
    ready(url)
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
