"""The server's log configuration (`FEEDBACK_LOG_FORMAT`, `FEEDBACK_LOG_LEVEL`).

`text` (the default) is one readable line per record. `json` is one JSON object per line,
for log collectors:

    {"time": "2026-12-01T10:15:16.123Z", "level": "INFO", "logger": "feedback_server",
     "message": "...", "request_id": "...", "trace_id": "tr-..."}

`time` is UTC, RFC 3339 with milliseconds. `request_id` is the request ID of the RPC being
handled (edge/request_id.py) and `trace_id` the MLflow trace it works on
(domain/current_trace.py); each is left out when not known. `exception` holds the
traceback of a logged exception: it stays in the server's log, callers never see it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Literal

from .domain.current_trace import CURRENT_TRACE_ID
from .edge.request_id import REQUEST_ID

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def rfc3339_utc(created: float) -> str:
    """A record's `created` time as `2026-12-01T10:15:16.123Z`."""
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": rfc3339_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id, trace_id = REQUEST_ID.get(), CURRENT_TRACE_ID.get()
        if request_id:
            entry["request_id"] = request_id
        if trace_id:
            entry["trace_id"] = trace_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, log_format: Literal["text", "json"]) -> None:
    """Sends every log record to stderr, in `log_format`, from `level` up."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # MLflow's own warnings about retried exports are reported by the gateway instead.
    logging.getLogger("mlflow").setLevel(logging.ERROR)
