"""Chat backend for any OpenAI-compatible server (OpenAI, vLLM, Ollama, ...).

It streams ``POST {base_url}/chat/completions`` with ``"stream": true`` and yields
the ``choices[0].delta.content`` pieces of the server-sent events, up to
``data: [DONE]``. ``base_url`` is the API root including its version, e.g.
``https://api.openai.com/v1``, ``http://127.0.0.1:8000/v1`` (vLLM) or
``http://127.0.0.1:11434/v1`` (Ollama).

Every failure (connection refused, timeout, non-2xx status, malformed or truncated
stream, an ``error`` object in the stream) becomes `Unavailable`; messages carry the
HTTP status code, never the upstream body, and the API key is never logged.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx

from feedback_server.backends.base import ChatTurn
from feedback_server.errors import Unavailable

logger = logging.getLogger(__name__)

#: Retry hint given to callers when the upstream gives none.
DEFAULT_RETRY_AFTER_S = 1.0
#: Bounds applied to an upstream ``Retry-After`` header.
MIN_RETRY_AFTER_S = 0.1
MAX_RETRY_AFTER_S = 300.0

#: How long to wait for the end of the body after ``[DONE]`` (keeps connections pooled).
DRAIN_TIMEOUT_S = 1.0

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


class OpenAICompatibleBackend:
    """Streams answers from an OpenAI-compatible ``/chat/completions`` endpoint.

    One `httpx.AsyncClient` is shared by all turns (connection pooling); call
    `aclose` once at shutdown. `timeout_s` bounds connecting, sending, waiting for
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
        self._url = f"{self._base_url}/chat/completions"
        self._model = model
        self._system_prompt = system_prompt
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
            ),
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        # Deliberately without the API key.
        return f"OpenAICompatibleBackend(base_url={self._base_url!r}, model={self._model!r})"

    def request_body(self, turn: ChatTurn) -> dict[str, Any]:
        """The JSON body sent for `turn`."""
        messages: list[dict[str, str]] = []
        if self._system_prompt:
            messages.append({"role": "system", "content": self._system_prompt})
        messages.append({"role": "user", "content": turn.message})
        return {"model": self._model, "messages": messages, "stream": True}

    async def stream(self, turn: ChatTurn) -> AsyncGenerator[str, None]:
        request = self._client.build_request("POST", self._url, json=self.request_body(turn))
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise self._unavailable("timed out before answering") from exc
        except httpx.HTTPError as exc:
            raise self._unavailable(f"cannot be reached ({type(exc).__name__})") from exc
        # The response is closed on every exit: end, error, cancellation, or the
        # consumer closing this generator early (the connection is then dropped).
        try:
            if not response.is_success:
                raise self._status_error(response)
            content_type = response.headers.get("content-type", "")
            if content_type.startswith("application/json"):
                # A server that ignored "stream": true answered in one piece.
                text = _message_content(_decode_json(await response.aread()))
                if text:
                    yield text
                return
            events = _SSEReader()
            finished = False  # a chunk with a finish_reason was seen
            lines = response.aiter_lines()
            async for line in lines:
                payload = events.feed(line)
                if payload is None:
                    continue
                if payload == "[DONE]":
                    await _drain(lines)
                    return
                event = _decode_json(payload)
                self._raise_if_error(event)
                piece, done = _delta_content(event)
                finished = finished or done
                if piece:
                    yield piece
            # Lenient about a final "data: [DONE]" without its blank line.
            if not finished and events.pending() != "[DONE]":
                raise _MalformedStream("ended before [DONE]")
        except httpx.TimeoutException as exc:
            raise self._unavailable("timed out while streaming") from exc
        except httpx.HTTPError as exc:
            raise self._unavailable(f"broke off the stream ({type(exc).__name__})") from exc
        except _MalformedStream as exc:
            raise self._unavailable(f"sent a malformed stream ({exc})") from exc
        finally:
            await response.aclose()

    def _raise_if_error(self, event: dict[str, Any]) -> None:
        error = event.get("error")
        if error is None and event.get("object") == "error":
            error = event
        if error is None:
            return
        kind = code = None
        if isinstance(error, dict):
            kind, code = error.get("type"), error.get("code")
        # Type and code only: the upstream message may quote the user's input.
        logger.warning(
            "chat backend %s reported an error in the stream (type=%.64r, code=%.64r)",
            self.name,
            kind,
            code,
        )
        raise self._unavailable("reported an error in the stream")

    def _status_error(self, response: httpx.Response) -> Unavailable:
        status = response.status_code
        retry_after = DEFAULT_RETRY_AFTER_S
        if status in _RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
        return self._unavailable(f"answered HTTP {status}", retry_after)

    def _unavailable(self, what: str, retry_after_s: float = DEFAULT_RETRY_AFTER_S) -> Unavailable:
        return Unavailable(f"chat backend {self.name} {what}", retry_after_s=retry_after_s)

    async def aclose(self) -> None:
        await self._client.aclose()


async def _drain(lines: AsyncIterator[str]) -> None:
    """Reads what follows ``[DONE]`` (normally only the end of the body), so that the
    connection goes back to the pool; after `DRAIN_TIMEOUT_S` it is dropped instead."""
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            async for _ in lines:
                pass
    except (TimeoutError, httpx.HTTPError):
        pass  # the answer is complete; the response is closed by the caller


class _SSEReader:
    """Collects the ``data`` lines of server-sent events (one line at a time)."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        """Returns the data of the event that `line` completes, if any."""
        if line:
            # Comments (":...") and other fields ("event:", "id:", "retry:") are ignored.
            if line == "data" or line.startswith("data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(" ") else value)
            return None
        if not self._data:
            return None
        payload = "\n".join(self._data).strip()
        self._data = []
        return payload

    def pending(self) -> str:
        """The data of an event not yet ended by a blank line."""
        return "\n".join(self._data).strip()


def _decode_json(raw: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _MalformedStream("invalid JSON") from exc
    if not isinstance(value, dict):
        raise _MalformedStream("JSON value is not an object")
    return value


def _first_choice(event: dict[str, Any]) -> dict[str, Any] | None:
    choices = event.get("choices")
    if choices is None:
        return None
    if not isinstance(choices, list):
        raise _MalformedStream("choices is not a list")
    if not choices:
        return None  # e.g. the usage chunk at the end of a stream
    choice = choices[0]
    if not isinstance(choice, dict):
        raise _MalformedStream("choice is not an object")
    return choice


def _text(container: object, what: str) -> str:
    if container is None:
        return ""
    if not isinstance(container, dict):
        raise _MalformedStream(f"{what} is not an object")
    content = container.get("content")
    if content is None:
        return ""
    if not isinstance(content, str):
        raise _MalformedStream(f"{what}.content is not a string")
    return content


def _delta_content(event: dict[str, Any]) -> tuple[str, bool]:
    """The text of a stream chunk, and whether the chunk ends the answer."""
    choice = _first_choice(event)
    if choice is None:
        return "", False
    return _text(choice.get("delta"), "delta"), choice.get("finish_reason") is not None


def _message_content(body: dict[str, Any]) -> str:
    """The text of a non-streamed chat completion."""
    if "error" in body or body.get("object") == "error":
        raise _MalformedStream("error object instead of a completion")
    choice = _first_choice(body)
    if choice is None:
        raise _MalformedStream("completion without choices")
    return _text(choice.get("message"), "message")
