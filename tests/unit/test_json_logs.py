"""The JSON log lines (logs.py): fields, UTC RFC 3339 times, the request and trace IDs of
the running task, and where the domain says which trace it works on."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from feedback_server.backends.base import ChatTurn
from feedback_server.domain.chat import ChatService
from feedback_server.domain.current_trace import CURRENT_TRACE_ID, working_on
from feedback_server.domain.traces import TraceRegistry
from feedback_server.edge.request_id import REQUEST_ID, begin_request
from feedback_server.logs import JsonFormatter, configure_logging, rfc3339_utc

from tests.unit.test_chat_admission import _Backend, _Gateway, _Recorder

# 2026-12-01T10:15:16.1239Z
CREATED = 1796120116.1239


def record(msg: str, *args: Any, exc_info: Any = None) -> logging.LogRecord:
    rec = logging.LogRecord(
        "feedback_server.test", logging.WARNING, __file__, 1, msg, args, exc_info
    )
    rec.created = CREATED
    return rec


def formatted(rec: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    entry: dict[str, Any] = json.loads(line)
    return entry


def test_rfc3339_utc_with_milliseconds() -> None:
    assert rfc3339_utc(CREATED) == "2026-12-01T10:15:16.123Z"
    assert rfc3339_utc(0.9999) == "1970-01-01T00:00:00.999Z"
    assert rfc3339_utc(86400.0) == "1970-01-02T00:00:00.000Z"


def test_a_line_outside_any_request_has_the_base_fields_only() -> None:
    entry = contextvars.Context().run(formatted, record("spool %s opened, %d pending", "x", 3))
    assert entry == {
        "time": "2026-12-01T10:15:16.123Z",
        "level": "WARNING",
        "logger": "feedback_server.test",
        "message": "spool x opened, 3 pending",
    }


def test_a_line_carries_the_request_and_trace_ids_of_its_task() -> None:
    def in_a_request() -> dict[str, Any]:
        begin_request({"x-request-id": "req-42"})
        working_on("tr-" + "a" * 32)
        return formatted(record("café ☕"))

    entry = contextvars.Context().run(in_a_request)
    assert entry["request_id"] == "req-42"
    assert entry["trace_id"] == "tr-" + "a" * 32
    assert entry["message"] == "café ☕"
    # Set in that context only.
    assert "request_id" not in formatted(record("elsewhere"))


def test_an_exception_is_logged_with_its_traceback() -> None:
    try:
        raise ValueError("secret detail")
    except ValueError:
        entry = formatted(record("failed", exc_info=sys.exc_info()))
    assert entry["exception"].startswith("Traceback (most recent call last)")
    assert "ValueError: secret detail" in entry["exception"]


def test_working_on_nothing_keeps_the_trace_known() -> None:
    def run() -> str:
        working_on("tr-" + "b" * 32)
        working_on(None)
        working_on("")
        return CURRENT_TRACE_ID.get()

    assert contextvars.Context().run(run) == "tr-" + "b" * 32


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_configure_logging_json_writes_one_object_per_line(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("info", "json")
    log = logging.getLogger("feedback_server.probe")
    log.debug("not shown")
    log.info("first")
    log.error("second")
    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [(e["level"], e["message"]) for e in entries] == [("INFO", "first"), ("ERROR", "second")]
    assert all(e["logger"] == "feedback_server.probe" for e in entries)


def test_configure_logging_text_is_readable(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "text")
    logging.getLogger("feedback_server.probe").warning("hello %s", "world")
    line = capsys.readouterr().err.strip()
    assert line.endswith(" WARNING feedback_server.probe: hello world")


async def test_a_chat_turn_is_its_tasks_trace() -> None:
    chat = ChatService(_Backend(), _Gateway(), TraceRegistry(), _Recorder())

    async def begin() -> tuple[str, str]:
        active = await chat.begin(ChatTurn("hi", "crid"), rpc="Chat", admission_timeout_s=1)
        return active.trace_id, CURRENT_TRACE_ID.get()

    trace_id, seen = await asyncio.create_task(begin())
    assert seen == trace_id and trace_id.startswith("tr-")
    assert REQUEST_ID.get() == CURRENT_TRACE_ID.get() == ""  # the test's own context
