"""The HTTP port (`FEEDBACK_HTTP_PORT`): the services over Connect and gRPC-Web
(connect.py), the web page of `clients/web` at `/`, CORS for the configured origins.

It runs in the server's own process and event loop: uvicorn (HTTP/1.1, TLS and client
certificates from the same files as the gRPC port) serves the ASGI application below
on a socket bound here. docs/web.md says what the page sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import socket
import ssl
from collections.abc import Awaitable, Callable, Collection, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn
from connectrpc.code import Code
from connectrpc.errors import ConnectError

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
ENVELOPE_PREFIX_BYTES = 5
# What the page needs and nothing more: no inline script or style, no other origin.
SECURITY_HEADERS = (
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
CORS_ALLOW_HEADERS = (
    "authorization, content-type, connect-protocol-version, connect-timeout-ms,"
    " connect-accept-encoding, connect-content-encoding, grpc-timeout, x-grpc-web,"
    " x-user-agent, x-request-id"
)
CORS_EXPOSE_HEADERS = (
    "grpc-status, grpc-message, grpc-status-details-bin, x-request-id, x-mlflow-trace-id,"
    " x-client-request-id"
)
CORS_MAX_AGE_S = 7200
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


class HttpApp:
    """Routes a request: the API (POST `/<package.Service>/<Method>`) to the Connect
    application, `GET /` and the page's files to `static/`, CORS preflights answered here.
    Request bodies are cut off past `max_body_bytes` (plus a stream envelope's prefix)
    as they arrive, before anything is buffered."""

    def __init__(
        self,
        api: ASGIApp,
        *,
        max_body_bytes: int,
        cors_origins: Collection[str] = (),
        static_dir: Path = STATIC_DIR,
    ) -> None:
        self._api = api
        self._limit = max_body_bytes + ENVELOPE_PREFIX_BYTES
        self._origins = frozenset(cors_origins)
        self._files = dict(_load_static(static_dir))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not served
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin", "")
        cors = self._cors_headers(origin)
        method = scope["method"]
        if method == "OPTIONS":
            await self._preflight(send, headers, cors)
        elif method in ("GET", "HEAD") and scope["path"] in self._files:
            await self._static(send, scope["path"], method == "HEAD")
        elif method == "POST" and scope["path"].count("/") == 2:
            content_type = headers.get("content-type", "")
            if content_type.startswith("application/grpc") and not content_type.startswith(
                "application/grpc-web"
            ):
                await _plain(send, 415, b"gRPC is served on the gRPC port; here: Connect, gRPC-Web")
                return
            await self._api(scope, self._limited(receive, headers), _with_headers(send, cors))
        else:
            await _plain(send, 404 if method in ("GET", "HEAD", "POST") else 405, b"not found")

    # --- the API -------------------------------------------------------------------------

    def _limited(self, receive: Receive, headers: dict[str, str]) -> Receive:
        """`receive`, failing with RESOURCE_EXHAUSTED once the body passes the limit."""
        limit = self._limit
        declared = headers.get("content-length", "")
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(limit)
            return message

        return limited

    # --- CORS ----------------------------------------------------------------------------

    def _cors_headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        if not origin or origin not in self._origins:
            return []
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-expose-headers", CORS_EXPOSE_HEADERS.encode()),
            (b"vary", b"Origin"),
        ]

    async def _preflight(
        self, send: Send, headers: dict[str, str], cors: list[tuple[bytes, bytes]]
    ) -> None:
        if not cors or headers.get("access-control-request-method", "") != "POST":
            await _plain(send, 403, b"origin not allowed")
            return
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    *cors,
                    (b"access-control-allow-methods", b"POST"),
                    (b"access-control-allow-headers", CORS_ALLOW_HEADERS.encode()),
                    (b"access-control-max-age", str(CORS_MAX_AGE_S).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    # --- the page ------------------------------------------------------------------------

    async def _static(self, send: Send, path: str, head: bool) -> None:
        body, content_type, cache = self._files[path]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", cache),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if head else body})


def _load_static(root: Path) -> Iterator[tuple[str, tuple[bytes, bytes, bytes]]]:
    """The page's files, read once: URL path -> (body, content type, cache control). Only
    these paths are served (nothing is looked up on disk per request)."""
    if not (root / "index.html").is_file():
        log.warning("no web page in %s: GET / answers 404", root)
        return
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        kind = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
        kind = kind or "application/octet-stream"
        if kind.startswith("text/"):
            kind += "; charset=utf-8"
        # Vite's assets carry a content hash in their names: cache them for good.
        cache = b"public, max-age=31536000, immutable" if rel.startswith("assets/") else b"no-cache"
        entry = (file.read_bytes(), kind.encode(), cache)
        yield f"/{rel}", entry
        if rel == "index.html":
            yield "/", entry


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    if not extra:
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return sending


def _too_large(limit: int) -> ConnectError:
    return ConnectError(
        Code.RESOURCE_EXHAUSTED,
        f"the request is larger than the limit of {limit - ENVELOPE_PREFIX_BYTES} bytes",
    )


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside the feedback server's event loop: the process's own signal handlers
    stay in charge (uvicorn would replace them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """The HTTP port's listener: `start` binds and serves in the background, `stop` drains."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str,
        port: int,
        max_connections: int,
        tls: tuple[Path, Path, Path | None] | None = None,
    ) -> None:
        self._sock = _bind(host, port)
        self.port = int(self._sock.getsockname()[1])
        options: dict[str, Any] = {}
        if tls is not None:
            cert, key, client_ca = tls
            options = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
            if client_ca is not None:
                options |= {"ssl_ca_certs": str(client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            limit_concurrency=max_connections,
            timeout_keep_alive=30,
            **options,
        )
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the HTTP port stopped at start")
            await asyncio.sleep(0.01)

    async def stop(self, grace_s: float) -> None:
        """Stops accepting, lets calls in flight finish for up to `grace_s`, then ends them."""
        if self._task is None:
            return
        self._server.config.timeout_graceful_shutdown = max(1, int(grace_s))
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s + 5)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
        self._sock.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with contextlib.suppress(AttributeError, OSError):  # several replicas on one port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
