"""A small HTTP proxy in front of MLflow, as a real process, whose answers a test switches.

    with HttpProxy(mlflow.url, work_dir) as proxy:   # started, forwarding
        server = FeedbackServerProcess(proxy.url, ...)
        proxy.set_mode("deny")          # 403 "Permission denied" to every request
        proxy.set_mode("deny-assessments")  # 403 to assessment requests only
        proxy.set_mode("unavailable")   # 503 to every request (an outage the proxy reports)
        proxy.set_mode("pass")          # forward again

The 403 is what MLflow's basic-auth app answers (a text body, not MLflow's JSON), so the
feedback server sees a refusal as it would from a real authenticating MLflow. The mode is
read from a file at every request, so it changes at once for connections already open.
The port is a `PortReservation` (testbed/ports.py); the process binds it with SO_REUSEADDR.

    python -m testbed.http_proxy --target URL --port PORT --mode-file FILE
"""

from __future__ import annotations

import argparse
import http.client
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from testbed.health import http_get
from testbed.ports import LOOPBACK, PortReservation
from testbed.processes import Process

__all__ = ["MODES", "HttpProxy"]

MODES = ("pass", "deny", "deny-assessments", "unavailable")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
}


class HttpProxy:
    """`python -m testbed.http_proxy` in front of `target` (see the module doc)."""

    def __init__(self, target: str, work_dir: Path) -> None:
        self.target = target
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.mode_file = self.work_dir / "proxy-mode"
        self.log_path = self.work_dir / "http-proxy.log"
        self._reservation = PortReservation()
        self.port = self._reservation.port
        self._proc: Process | None = None
        self.set_mode("pass")

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        tmp = self.mode_file.with_suffix(".tmp")
        tmp.write_text(mode)
        tmp.replace(self.mode_file)

    def start(self, within_s: float = 30.0) -> HttpProxy:
        import sys

        self._proc = Process(
            "http-proxy",
            [
                sys.executable,
                "-m",
                "testbed.http_proxy",
                "--target",
                self.target,
                "--port",
                str(self.port),
                "--mode-file",
                str(self.mode_file),
            ],
            self.log_path,
            cwd=Path(__file__).resolve().parents[1],
        )
        self._proc.wait_ready(
            lambda: http_get(f"{self.url}/health") is not None, within_s, "forward /health"
        )
        return self

    def close(self) -> None:
        if self._proc is not None:
            self._proc.stop(5)
            self._proc = None
        self._reservation.close()

    def __enter__(self) -> HttpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------- the process


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    target: ClassVar[urllib.parse.SplitResult]
    mode_file: ClassVar[Path]
    local = threading.local()

    def _mode(self) -> str:
        try:
            return self.mode_file.read_text().strip() or "pass"
        except OSError:
            return "pass"

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed
            conn: http.client.HTTPConnection | None = getattr(self.local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection(self.target.netloc, timeout=120)
                self.local.conn = conn
            try:
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    self._answer(502, b"bad gateway")
                    return
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        mode = self._mode()
        if mode == "deny" or (mode == "deny-assessments" and "/assessments" in self.path):
            self._answer(403, b"Permission denied")
        elif mode == "unavailable":
            self._answer(503, b"Service Unavailable")
        else:
            self._forward(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True  # next to the test's PortReservation
    daemon_threads = True


def main() -> None:
    parser = argparse.ArgumentParser(description="testbed HTTP proxy")
    parser.add_argument("--target", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode-file", type=Path, required=True)
    args = parser.parse_args()
    _Handler.target = urllib.parse.urlsplit(args.target)
    _Handler.mode_file = args.mode_file
    _Server((LOOPBACK, args.port), _Handler).serve_forever()


if __name__ == "__main__":
    main()
