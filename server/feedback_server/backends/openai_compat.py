"""Chat backend for any OpenAI-compatible server (OpenAI, vLLM, Ollama, ...), on the
official `openai` SDK (`AsyncOpenAI`, streaming).

It streams ``POST {base_url}/chat/completions`` and yields the ``choices[0].delta.content``
pieces. ``base_url`` is the API root including its version, e.g.
``https://api.openai.com/v1``, ``http://127.0.0.1:8000/v1`` (vLLM) or
``http://127.0.0.1:11434/v1`` (Ollama). The request asks for the token usage
(``stream_options.include_usage``). MLflow's OpenAI autologging (installed by
`mlflow_gateway.install`) traces each call as an LLM span of the turn's trace.

Every failure (connection refused, timeout, non-2xx status, malformed or truncated
stream, an ``error`` object in the stream, a stream that ends before a ``finish_reason``)
becomes `Unavailable`; messages carry the HTTP status code, never the upstream body, and
the API key is never logged. The SDK does not retry (the caller does, told by RetryInfo).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

from feedback_server.backends.base import ChatTurn
from feedback_server.errors import Unavailable

logger = logging.getLogger(__name__)

#: Retry hint given to callers when the upstream gives none.
DEFAULT_RETRY_AFTER_S = 1.0
#: Bounds applied to an upstream ``Retry-After`` header.
MIN_RETRY_AFTER_S = 0.1
MAX_RETRY_AFTER_S = 300.0

#: How long a closed answer's rest is read (the end of the body after ``[DONE]``), so
#: that its connection goes back to the pool; then the connection is dropped instead.
DRAIN_TIMEOUT_S = 0.05
DRAIN_MAX_BYTES = 64 * 1024

# Statuses whose Retry-After header is passed on to callers.
_RETRY_AFTER_STATUSES = frozenset({429, 503})


def parse_retry_after(value: str | None, default: float = DEFAULT_RETRY_AFTER_S) -> float:
    """Seconds from a ``Retry-After`` header (delay-seconds or HTTP-date), bounded."""
    if not value:
        return default
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return default
    return min(MAX_RETRY_AFTER_S, max(MIN_RETRY_AFTER_S, seconds))


class _MalformedStream(Exception):
    """The upstream answered something that is not an OpenAI chat completion stream."""


class _Draining(httpx.AsyncBaseTransport):
    """Reads what is left of an answer when it is closed, within `DRAIN_TIMEOUT_S` and
    `DRAIN_MAX_BYTES`: the SDK closes a stream at ``[DONE]``, before the end of the body
    has arrived, and httpx drops a connection whose answer was not read to its end."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        response.stream = _DrainOnClose(response.stream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _DrainOnClose(httpx.AsyncByteStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._chunks: Any = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._chunks = self._inner.__aiter__()
        async for chunk in self._chunks:
            yield chunk

    async def aclose(self) -> None:
        if self._chunks is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(DRAIN_TIMEOUT_S):
                    left = DRAIN_MAX_BYTES
                    async for chunk in self._chunks:
                        left -= len(chunk)
                        if left < 0:
                            break
        await self._inner.aclose()


class _Client(openai.AsyncOpenAI):
    """`AsyncOpenAI` that calls a server without a key (vLLM, Ollama) without an
    Authorization header, where the SDK would refuse to send the request."""

    def _validate_headers(self, headers: Any, custom_headers: Any) -> None:
        if self.api_key:
            super()._validate_headers(headers, custom_headers)


class OpenAICompatibleBackend:
    """Streams answers from an OpenAI-compatible ``/chat/completions`` endpoint.

    One `AsyncOpenAI` client (one pooled `httpx.AsyncClient`) is shared by all turns;
    call `aclose` once at shutdown. `timeout_s` bounds connecting, sending, waiting for
    a pooled connection, and each wait for the next bytes of the answer (so it is
    the longest tolerated silence, not a bound on the whole answer; the caller's
    gRPC deadline bounds that).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout_s: float = 60.0,
        system_prompt: str | None = None,
        *,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http:// or https:// URL")
        if not model:
            raise ValueError("model must not be empty")
        if not timeout_s > 0:
            raise ValueError("timeout_s must be > 0")
        self.name = f"openai:{model}"
        self._base_url = base_url.rstrip("/")
        self._model = model
        self._system_prompt = system_prompt
        timeout = httpx.Timeout(timeout_s)
        self._client = _Client(
            base_url=self._base_url,
            # No key (local servers): no Authorization header, never OPENAI_API_KEY.
            api_key=api_key or _no_key,
            timeout=timeout,
            max_retries=0,
            http_client=httpx.AsyncClient(
                timeout=timeout,
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=max_connections,
                ),
                follow_redirects=False,
                transport=_Draining(transport or httpx.AsyncHTTPTransport()),
                trust_env=False,
            ),
        )

    def __repr__(self) -> str:
        # Deliberately without the API key.
        return f"OpenAICompatibleBackend(base_url={self._base_url!r}, model={self._model!r})"

    def messages(self, turn: ChatTurn) -> list[ChatCompletionMessageParam]:
        """The conversation sent for `turn`."""
        messages: list[ChatCompletionMessageParam] = []
        if self._system_prompt:
            messages.append({"role": "system", "content": self._system_prompt})
        messages.append({"role": "user", "content": turn.message})
        return messages

    async def stream(self, turn: ChatTurn) -> AsyncGenerator[str, None]:
        try:
            stream: Any = await self._client.chat.completions.create(
                model=self._model,
                messages=self.messages(turn),
                stream=True,
                stream_options={"include_usage": True},
            )
        except openai.APIError as exc:
            raise self._failure(exc, "before answering") from exc
        # The response is closed on every exit: end, error, cancellation, or the
        # consumer closing this generator early (the connection is then dropped).
        try:
            if stream.response.headers.get("content-type", "").startswith("application/json"):
                # A server that ignored "stream": true answered in one piece.
                text = _message_content(_decode_json(await stream.response.aread()))
                if text:
                    yield text
                return
            finished = False  # a chunk with a finish_reason was seen
            async for chunk in stream:
                piece, done = _delta_content(chunk)
                finished = finished or done
                if piece:
                    yield piece
            if not finished:
                raise _MalformedStream("ended before a finish_reason")
        except openai.APIError as exc:
            raise self._failure(exc, "while streaming") from exc
        except httpx.TimeoutException as exc:
            raise self._unavailable("timed out while streaming") from exc
        except httpx.HTTPError as exc:
            raise self._unavailable(f"broke off the stream ({type(exc).__name__})") from exc
        except (_MalformedStream, ValueError) as exc:  # ValueError: JSON that does not parse
            raise self._unavailable(f"sent a malformed stream ({_what(exc)})") from exc
        finally:
            await stream.close()

    def _failure(self, exc: openai.APIError, when: str) -> Unavailable:
        """The SDK's errors: never their message, which may quote the upstream body."""
        if isinstance(exc, openai.APITimeoutError):
            return self._unavailable(f"timed out {when}")
        if isinstance(exc, openai.APIConnectionError):
            cause = type(exc.__cause__ or exc).__name__
            return self._unavailable(f"cannot be reached ({cause})")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            retry_after = DEFAULT_RETRY_AFTER_S
            if status in _RETRY_AFTER_STATUSES:
                retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
            return self._unavailable(f"answered HTTP {status}", retry_after)
        # An error object in the stream. Type and code only: the upstream message may
        # quote the user's input.
        kind = code = None
        if isinstance(exc.body, dict):
            kind, code = exc.body.get("type"), exc.body.get("code")
        logger.warning(
            "chat backend %s reported an error in the stream (type=%.64r, code=%.64r)",
            self.name,
            kind,
            code,
        )
        return self._unavailable("reported an error in the stream")

    def _unavailable(self, what: str, retry_after_s: float = DEFAULT_RETRY_AFTER_S) -> Unavailable:
        return Unavailable(f"chat backend {self.name} {what}", retry_after_s=retry_after_s)

    async def aclose(self) -> None:
        await self._client.close()


async def _no_key() -> str:
    return ""


def _what(exc: Exception) -> str:
    return str(exc) if isinstance(exc, _MalformedStream) else "invalid JSON"


def _decode_json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _MalformedStream("invalid JSON") from exc
    if not isinstance(value, dict):
        raise _MalformedStream("JSON value is not an object")
    return value


def _field(value: Any, name: str) -> Any:
    """A field of an SDK object or of a plain dict (the SDK does not validate chunks)."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _first_choice(container: Any) -> Any:
    choices = _field(container, "choices")
    if choices is None:
        return None
    if not isinstance(choices, list):
        raise _MalformedStream("choices is not a list")
    if not choices:
        return None  # e.g. the usage chunk at the end of a stream
    return choices[0]


def _text(container: Any, what: str) -> str:
    if container is None:
        return ""
    content = _field(container, "content")
    if content is None:
        return ""
    if not isinstance(content, str):
        raise _MalformedStream(f"{what}.content is not a string")
    return content


def _delta_content(chunk: Any) -> tuple[str, bool]:
    """The text of a stream chunk, and whether the chunk ends the answer."""
    choice = _first_choice(chunk)
    if choice is None:
        return "", False
    return _text(_field(choice, "delta"), "delta"), _field(choice, "finish_reason") is not None


def _message_content(body: dict[str, Any]) -> str:
    """The text of a non-streamed chat completion."""
    if "error" in body or body.get("object") == "error":
        raise _MalformedStream("error object instead of a completion")
    choice = _first_choice(body)
    if choice is None:
        raise _MalformedStream("completion without choices")
    return _text(_field(choice, "message"), "message")
