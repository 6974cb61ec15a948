"""The drain worker's wire format: one JSON object per line, each way.

Requests (serving process -> worker), each with an `id` that its answer repeats:

- `{"id", "op": "write", "judgment": <Judgment JSON>, "trace_id", "known"}`: store one
  judgment (`MlflowWriter.write`); `known`: the serving process knows the trace is in the
  experiment (it produced it, or MLflow confirmed it).
- `{"id", "op": "export", "trace_id", "client_request_id", "payload"}`: export one
  recorded chat trace (`TraceExports.export_trace`).

Answers (worker -> serving process): `{"id", "result", "trace_id", "detail"}`, `result`
being a `WriteResult` or `ExportResult` value.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ..domain.model import Judgment, WriteOutcome, WriteResult
from ..domain.traces import ExportOutcome, ExportResult, TraceRecord

#: The environment variable holding the worker's configuration (JSON).
CONFIG_VARIABLE: Final = "FEEDBACK_DRAIN_WORKER_CONFIG"
#: Longest line either side reads: a trace record holds a whole turn (answer included).
LINE_LIMIT: Final = 256 * 1024 * 1024


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def write_request(rid: int, judgment: Judgment, trace_id: str | None, known: bool) -> bytes:
    return encode(
        {
            "id": rid,
            "op": "write",
            "judgment": judgment.to_json(),
            "trace_id": trace_id,
            "known": known,
        }
    )


def export_request(rid: int, record: TraceRecord) -> bytes:
    return encode(
        {
            "id": rid,
            "op": "export",
            "trace_id": record.trace_id,
            "client_request_id": record.client_request_id,
            "payload": record.payload,
        }
    )


def answer(rid: int, outcome: WriteOutcome | ExportOutcome) -> bytes:
    trace_id = outcome.trace_id if isinstance(outcome, WriteOutcome) else None
    return encode(
        {"id": rid, "result": outcome.result.value, "trace_id": trace_id, "detail": outcome.detail}
    )


def write_outcome(message: dict[str, Any]) -> WriteOutcome:
    return WriteOutcome(
        WriteResult(message["result"]), message.get("trace_id"), message.get("detail") or ""
    )


def export_outcome(message: dict[str, Any]) -> ExportOutcome:
    return ExportOutcome(ExportResult(message["result"]), message.get("detail") or "")


def record_of(message: dict[str, Any]) -> TraceRecord:
    return TraceRecord(message["trace_id"], message["client_request_id"], message["payload"])
