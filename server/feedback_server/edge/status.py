"""The one table that maps domain errors to status codes and AIP-193 details.

Protocol-neutral: codes are `google.rpc.Code` values and the result is a
`google.rpc.Status`, which the gRPC interceptor (interceptor.py) sends as it is and
an HTTP port (Connect, gRPC-Web) can send in its own encoding. README "Errors" lists
what each situation answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from ..errors import (
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RequestIdReused,
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
    Unavailable,
)

ERROR_DOMAIN = "feedback.v1"
INTERNAL_MESSAGE = "internal error; the incident was logged with the request id"

# The one table: domain error class -> google.rpc.Code.
STATUS_TABLE: dict[type[ServiceError], int] = {
    InvalidArgument: code_pb2.INVALID_ARGUMENT,
    NotFound: code_pb2.NOT_FOUND,
    AlreadyExists: code_pb2.ALREADY_EXISTS,
    RequestIdReused: code_pb2.ALREADY_EXISTS,  # ErrorInfo.reason REQUEST_ID_REUSED
    FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    PermissionDenied: code_pb2.PERMISSION_DENIED,
    Unauthenticated: code_pb2.UNAUTHENTICATED,
    Unavailable: code_pb2.UNAVAILABLE,
    ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
    Cancelled: code_pb2.CANCELLED,
    DeadlineExceeded: code_pb2.DEADLINE_EXCEEDED,
}

Metadata = Sequence[tuple[str, str]]
_TRAILING_ATTR = "_feedback_trailing_metadata"


def status_code_of(exc: BaseException) -> int:
    """The `google.rpc.Code` of `exc`: its class's entry in the table, else INTERNAL."""
    if isinstance(exc, ServiceError):
        for cls in type(exc).__mro__:
            if cls in STATUS_TABLE:
                return STATUS_TABLE[cls]
    return code_pb2.INTERNAL


def to_status(exc: BaseException, request_id: str = "") -> status_pb2.Status:
    """Builds the `google.rpc.Status` sent for `exc` (AIP-193: ErrorInfo always)."""
    message = exc.message if isinstance(exc, ServiceError) else INTERNAL_MESSAGE
    reason = exc.reason if isinstance(exc, ServiceError) else "INTERNAL"
    metadata = {"request_id": request_id} if request_id else {}
    details = [
        _pack(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata))
    ]
    if isinstance(exc, InvalidArgument):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in exc.violations
            ]
        )
        details.append(_pack(bad_request))
    elif isinstance(exc, NotFound | AlreadyExists):
        details.append(
            _pack(
                error_details_pb2.ResourceInfo(
                    resource_type=exc.resource_type,
                    resource_name=exc.resource_name,
                    description=exc.message,
                )
            )
        )
    elif isinstance(exc, Unavailable | ResourceExhausted):
        details.append(_pack(_retry_info(exc.retry_after_s)))
    if request_id:
        details.append(_pack(error_details_pb2.RequestInfo(request_id=request_id)))
    return status_pb2.Status(code=status_code_of(exc), message=message, details=details)


def add_trailing_metadata(exc: BaseException, metadata: Metadata) -> None:
    """Attaches trailing metadata (e.g. the trace ID) to an error on its way out."""
    setattr(exc, _TRAILING_ATTR, (*trailing_metadata(exc), *metadata))


def trailing_metadata(exc: BaseException) -> Metadata:
    """The trailing metadata attached to `exc` by `add_trailing_metadata`."""
    return tuple(getattr(exc, _TRAILING_ATTR, ()))


def _pack(msg: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(msg)
    return packed


def _retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(max(1, int(seconds * 1000)))
    return error_details_pb2.RetryInfo(retry_delay=delay)
