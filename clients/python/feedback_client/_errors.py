"""`FeedbackError`: every failed call, with the service's machine-readable details (AIP-193)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

from ._types import TRACE_ID_METADATA_KEY

#: Trailing metadata key of the serialized `google.rpc.Status` (the gRPC rich error model).
STATUS_DETAILS_KEY = "grpc-status-details-bin"


class FieldViolation(NamedTuple):
    """One invalid request field (from `google.rpc.BadRequest`): its path and why."""

    field: str
    description: str


class FeedbackError(Exception):
    """A call to the feedback service failed.

    Attributes:
        code: The gRPC status code.
        message: The service's message (for people; match on `code`, `reason` and
            `field_violations`, never on the text).
        field_violations: The invalid fields of an `INVALID_ARGUMENT`, e.g.
            ``[FieldViolation("target.trace_id", "must match ^tr-[0-9a-f]{32}$")]``.
        retry_after: Seconds to wait before retrying (`google.rpc.RetryInfo`), if given.
        request_id: The service's ID of the failed request, to quote when reporting it
            (`google.rpc.RequestInfo`).
        reason: The machine-readable reason (`google.rpc.ErrorInfo`), e.g. ``"NOT_FOUND"``.
        trace_id: The MLflow trace ID of a failed chat turn, when the service sent one.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        field_violations: Iterable[FieldViolation] = (),
        retry_after: float | None = None,
        request_id: str | None = None,
        reason: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field_violations: list[FieldViolation] = list(field_violations)
        self.retry_after = retry_after
        self.request_id = request_id
        self.reason = reason
        self.trace_id = trace_id

    @property
    def retryable(self) -> bool:
        """True when retrying later may succeed (the service is unavailable or overloaded)."""
        return self.retry_after is not None or self.code in _RETRYABLE_CODES

    def __str__(self) -> str:
        name = getattr(self.code, "name", str(self.code))
        text = f"{name}: {self.message}"
        if self.field_violations:
            text += " (" + "; ".join(f"{f}: {d}" for f, d in self.field_violations) + ")"
        if self.request_id:
            text += f" [request_id={self.request_id}]"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self!s})"


class InvalidArgumentError(FeedbackError):
    """`INVALID_ARGUMENT`: the request is invalid; see `field_violations`."""


class NotFoundError(FeedbackError):
    """`NOT_FOUND`: the trace or client request ID is unknown."""


class UnavailableError(FeedbackError):
    """`UNAVAILABLE`: the service or MLflow cannot be reached right now; retry later."""


class ResourceExhaustedError(FeedbackError):
    """`RESOURCE_EXHAUSTED`: the service is at capacity; retry after `retry_after`."""


class DeadlineExceededError(FeedbackError):
    """`DEADLINE_EXCEEDED`: the call did not finish within its timeout."""


class UnauthenticatedError(FeedbackError):
    """`UNAUTHENTICATED`: the call carries no valid credentials."""


class AlreadyExistsError(FeedbackError):
    """`ALREADY_EXISTS`; `reason` ``REQUEST_ID_REUSED``: a request_id used by another request."""


class PermissionDeniedError(FeedbackError):
    """`PERMISSION_DENIED`: the caller may not do this."""


_SUBCLASSES: dict[Any, type[FeedbackError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
}

_RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


def error_for(code: grpc.StatusCode, message: str, **kwargs: Any) -> FeedbackError:
    """Builds the `FeedbackError` subclass matching `code`."""
    return _SUBCLASSES.get(code, FeedbackError)(code, message, **kwargs)


def missing_completion(trace_id: str | None) -> FeedbackError:
    """The error raised when a stream ends OK but without its terminal `completion`."""
    return FeedbackError(
        grpc.StatusCode.INTERNAL,
        "the stream ended without its completion message",
        trace_id=trace_id,
    )


def metadata_value(metadata: Any, key: str) -> str | bytes | None:
    """The first value of `key` in sync or `grpc.aio` metadata, or None."""
    if metadata is None:
        return None
    for k, v in metadata:
        if k == key and isinstance(v, str | bytes):
            return v
    return None


def metadata_str(metadata: Any, key: str) -> str | None:
    """Like `metadata_value`, decoded as UTF-8 text."""
    value = metadata_value(metadata, key)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _call_attr(error: Any, name: str) -> Any:
    method = getattr(error, name, None)
    if method is None:
        return None
    try:
        return method()
    except Exception:  # a partially formed error must not hide the real one
        return None


def from_rpc_error(error: grpc.RpcError, *, trace_id: str | None = None) -> FeedbackError:
    """Converts a sync or `grpc.aio` RPC error into a `FeedbackError`.

    The rich status (`grpc-status-details-bin`) is parsed leniently: malformed details
    never replace the original code and message. The trace ID comes from the trailing
    metadata (`x-mlflow-trace-id`), else from `trace_id` (e.g. a stream's initial metadata).
    """
    code = _call_attr(error, "code") or grpc.StatusCode.UNKNOWN
    message = _call_attr(error, "details") or ""
    trailing = _call_attr(error, "trailing_metadata")
    status = status_pb2.Status()
    raw = metadata_value(trailing, STATUS_DETAILS_KEY)
    if isinstance(raw, bytes):
        try:
            status.ParseFromString(raw)
        except DecodeError:
            status = status_pb2.Status()
    trace_id = metadata_str(trailing, TRACE_ID_METADATA_KEY) or trace_id
    return _from_details(code, message or status.message, status, trace_id)


def from_status(status: status_pb2.Status) -> FeedbackError:
    """The `FeedbackError` of a `google.rpc.Status` carried in a response (a batch item's)."""
    codes = {c.value[0]: c for c in grpc.StatusCode}
    return _from_details(codes.get(status.code, grpc.StatusCode.UNKNOWN), status.message, status)


def _from_details(
    code: grpc.StatusCode, message: str, status: status_pb2.Status, trace_id: str | None = None
) -> FeedbackError:
    violations: list[FieldViolation] = []
    retry_after: float | None = None
    request_id: str | None = None
    reason: str | None = None
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.extend(
                FieldViolation(v.field, v.description) for v in bad_request.field_violations
            )
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry_info = error_details_pb2.RetryInfo()
            detail.Unpack(retry_info)
            delay = retry_info.retry_delay
            retry_after = delay.seconds + delay.nanos / 1e9
        elif detail.Is(error_details_pb2.RequestInfo.DESCRIPTOR):
            request_info = error_details_pb2.RequestInfo()
            detail.Unpack(request_info)
            request_id = request_info.request_id or request_id
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            error_info = error_details_pb2.ErrorInfo()
            detail.Unpack(error_info)
            reason = error_info.reason or None
            if request_id is None and error_info.metadata.get("request_id"):
                request_id = error_info.metadata["request_id"]
    return error_for(
        code,
        message,
        field_violations=violations,
        retry_after=retry_after,
        request_id=request_id,
        reason=reason,
        trace_id=trace_id,
    )
