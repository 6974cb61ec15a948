"""A small OpenAI-compatible HTTP server for tests (standard library only).

    with FakeOpenAI() as fake:
        backend = OpenAICompatibleBackend(fake.base_url, "fake-model")
        ...
        fake.requests[0].body["model"]  # what the client sent

It serves ``POST /v1/chat/completions`` on 127.0.0.1 (a free port), streamed as
server-sent events when the request says ``"stream": true`` (chunked transfer
encoding, like uvicorn) and as one JSON completion otherwise. The answer is
``chunks`` (one SSE event per chunk); token usage (`USAGE`) comes with a JSON answer, and
as a last chunk of the stream when the request asks for it (``stream_options``
``include_usage``), as OpenAI does. Set ``mode`` to one of `MODES` to fail.
Every request is recorded in ``requests`` (path, lower-case headers, JSON body).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

#: The behaviours of the server, selected with `FakeOpenAI.mode`.
MODES = (
    "ok",  # the answer, streamed (or as JSON when "stream" is false)
    "http_500",  # HTTP 500 with a JSON error body
    "http_429",  # HTTP 429, with a Retry-After header when `retry_after` is set
    "http_401",  # HTTP 401 (a wrong or missing API key)
    "error_event",  # the first chunk, then an `error` object and [DONE] (as vLLM does)
    "malformed",  # the first chunk, then a data line that is not JSON
    "bad_shape",  # the first chunk, then JSON whose "choices" is not a list
    "truncated",  # the first chunk, then the connection closes mid-body
    "no_done",  # the chunks, then a clean end of body without finish_reason or [DONE]
    "finish_without_done",  # the chunks and a finish_reason chunk, but no [DONE]
    "hang_before_headers",  # reads the request and answers nothing until stopped
    "hang_mid_stream",  # the first chunk, then silence until stopped
    "slow",  # the chunks, `chunk_delay_s` apart (for cancellation tests)
    "json_anyway",  # a JSON completion even though "stream": true was asked for
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request received by the fake server."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int  # tells connections apart (keep-alive reuses one)


@dataclass
class FakeOpenAI:
    """The server; a context manager that starts and stops it."""

    mode: str = "ok"
    chunks: list[str] = field(default_factory=lambda: ["Hello", ", ", "world", "!"])
    model_reply: str = ""  # the "model" field of answers; the requested model when empty
    retry_after: str | None = "7"  # Retry-After of "http_429"; None: no header
    chunk_delay_s: float = 0.0  # pause before every chunk (all modes)
    slow_chunks: int = 400  # how many chunks "slow" sends at most
    requests: list[RecordedRequest] = field(default_factory=list)
    #: Set when a write to a client failed because it had gone away.
    client_disconnected: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; one of {MODES}")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root to configure clients with, e.g. ``http://127.0.0.1:PORT/v1``."""
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeOpenAI:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # releases hanging handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- used by the handler ---------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def pause(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; False when the server is stopping."""
        if seconds <= 0:
            return not self._stop.is_set()
        return not self._stop.wait(seconds)

    def hang(self) -> None:
        self._stop.wait(60)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that cancels mid-answer resets the connection: expected, not news.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


#: The token usage every answer reports.
USAGE = {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}


def _usage_event(model: str) -> bytes:
    event = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": USAGE,
    }
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def _chunk_event(model: str, content: str | None, finish_reason: str | None = None) -> bytes:
    delta: dict[str, Any] = {} if content is None else {"content": content}
    if content == "" and finish_reason is None:
        delta = {"role": "assistant", "content": ""}
    event = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return b"data: " + json.dumps(event).encode() + b"\n\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeOpenAI  # set on the bound subclass

    def log_message(self, format: str, *args: Any) -> None:
        return None  # quiet

    # -- plumbing --------------------------------------------------------------

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)
        self.wfile.flush()

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _write(self, data: bytes) -> bool:
        """Writes one HTTP chunk; False (and notes it) when the client has gone."""
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.fake.client_disconnected.set()
            self.close_connection = True
            return False
        return True

    def _end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.fake.client_disconnected.set()
            self.close_connection = True

    # -- the API ---------------------------------------------------------------

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.fake.record(RecordedRequest("POST", self.path, headers, body, self.client_address[1]))

        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request"}})
            return
        if not isinstance(body, dict):
            self._send_json(400, {"error": {"message": "bad JSON", "type": "invalid_request"}})
            return
        self._answer(body)

    def _answer(self, body: dict[str, Any]) -> None:
        fake = self.fake
        mode = fake.mode
        assert mode in MODES, f"unknown fake mode {mode!r}"
        model = fake.model_reply or str(body.get("model", ""))
        chunks = list(fake.chunks)

        if mode == "http_500":
            self._send_json(500, {"error": {"message": "secret upstream detail", "type": "e"}})
            return
        if mode == "http_429":
            extra = {"Retry-After": fake.retry_after} if fake.retry_after is not None else {}
            self._send_json(429, {"error": {"message": "slow down", "type": "rate"}}, extra)
            return
        if mode == "http_401":
            self._send_json(401, {"error": {"message": "bad key", "type": "auth"}})
            return
        if mode == "hang_before_headers":
            fake.hang()
            self.close_connection = True
            return
        if mode == "json_anyway" or not body.get("stream"):
            self._send_json(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(chunks)},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": USAGE,
                },
            )
            return

        self._start_stream()
        if not self._write(_chunk_event(model, "")):  # the role-only first chunk
            return
        if mode == "slow":
            chunks = [chunks[i % len(chunks)] for i in range(fake.slow_chunks)]
        failing = mode in ("error_event", "malformed", "bad_shape", "truncated", "hang_mid_stream")
        for index, chunk in enumerate(chunks):
            if not fake.pause(fake.chunk_delay_s):
                return
            if not self._write(_chunk_event(model, chunk)):
                return
            if failing and index == 0:
                break
        if mode == "error_event":
            error = {"error": {"message": "model overloaded", "type": "server_error", "code": 503}}
            # Like vLLM: the error object, then [DONE].
            self._write(b"data: " + json.dumps(error).encode() + b"\n\n")
            self._write(b"data: [DONE]\n\n")
        elif mode == "malformed":
            self._write(b'data: {"choices": [{"delta": \n\n')
        elif mode == "bad_shape":
            self._write(b'data: {"choices": "oops"}\n\n')
        elif mode == "truncated":
            self.close_connection = True
            return  # no terminating chunk: the body is incomplete
        elif mode == "hang_mid_stream":
            fake.hang()
            self.close_connection = True
            return
        elif mode == "no_done":
            pass
        else:
            if not self._write(_chunk_event(model, None, finish_reason="stop")):
                return
            options = body.get("stream_options")
            wants_usage = isinstance(options, dict) and options.get("include_usage")
            if wants_usage and not self._write(_usage_event(model)):
                return
            if mode != "finish_without_done" and not self._write(b"data: [DONE]\n\n"):
                return
        self._end_stream()
