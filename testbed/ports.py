"""Loopback TCP ports for the servers the tests and benchmarks start.

A server started once binds port 0 and reports the port it got (the in-process gRPC servers,
the fake OpenAI server, the benchmark baselines' port files). A server that is killed and
started again at the same address (MLflow in the outage tests, the feedback server in the
crash test) cannot do that: between the kill and the restart its port is free, and any
``bind(port 0)`` or outgoing connection on the machine may take it (``Address already in
use`` at the restart). Such a server gets a `PortReservation` instead, held by the process
that runs it for as long as it runs it:

- the reservation is a socket bound to ``127.0.0.1:<port>`` with ``SO_REUSEADDR`` that never
  listens; the port is the kernel's choice (``bind(port 0)``), so nothing else holds it;
- while it is bound, Linux gives that port to no other ``bind(port 0)`` and uses it as the
  local port of no outgoing connection, so nothing can take it in between;
- the server binds the same port with ``SO_REUSEADDR`` (uvicorn / asyncio, grpc and
  ``http.server`` all set it), which Linux allows next to a bound socket that does not
  listen, and ``listen()`` works as long as nothing else listens there;
- while the server is down, a connection to the port is refused (nothing listens), exactly
  as for a server that is gone; a listening socket held by the test process instead (a
  socket handed to each server incarnation) would accept connections into a backlog that
  nobody reads, so a dead server would look hung.

A server that does not set ``SO_REUSEADDR`` fails to bind at its first start, every time:
the mistake shows at once, never as a flaky test.
"""

from __future__ import annotations

import socket
from types import TracebackType

__all__ = ["LOOPBACK", "PortReservation", "port_is_free"]

LOOPBACK = "127.0.0.1"


class PortReservation:
    """A port on 127.0.0.1 that stays ours until `close` (see the module doc)."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((LOOPBACK, 0))
        self.port = int(self._sock.getsockname()[1])

    @property
    def held(self) -> bool:
        return self._sock is not None

    def close(self) -> None:
        """Gives the port back to the system. Idempotent."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> PortReservation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PortReservation {LOOPBACK}:{self.port}{'' if self.held else ' released'}>"


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when nothing listens on `host:port` (a server could bind it with SO_REUSEADDR
    now; a `PortReservation` does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
