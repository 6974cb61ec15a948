"""The request ID of a call: the caller's `x-request-id` when it is usable, else a new one.
It is logged with every error and returned in the error details and trailing metadata."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Mapping

REQUEST_ID = contextvars.ContextVar("request_id", default="")
REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID_CHARS = 128


def begin_request(metadata: Mapping[str, str]) -> str:
    """Sets (and returns) the request ID of the call being handled in this context."""
    incoming = metadata.get(REQUEST_ID_HEADER, "")
    usable = 0 < len(incoming) <= MAX_REQUEST_ID_CHARS and incoming.isprintable()
    request_id = incoming if usable else uuid.uuid4().hex
    REQUEST_ID.set(request_id)
    return request_id
