"""The one table that maps domain errors to gRPC status codes and AIP-193 details."""

from __future__ import annotations

import grpc
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
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
    Unavailable,
)

ERROR_DOMAIN = "feedback.v1"


# The one table: domain error class -> gRPC status code.
STATUS_TABLE: dict[type[BaseException], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
    ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Cancelled: grpc.StatusCode.CANCELLED,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
}

INTERNAL_MESSAGE = "internal error; the incident was logged with the request id"


def status_code_of(exc: BaseException) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in STATUS_TABLE:
            return STATUS_TABLE[cls]
    return grpc.StatusCode.INTERNAL


def _pack(msg: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(msg)
    return packed


def _retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(max(1, int(seconds * 1000)))
    return error_details_pb2.RetryInfo(retry_delay=delay)


def to_status(exc: BaseException, request_id: str = "") -> status_pb2.Status:
    """Builds the `google.rpc.Status` sent for `exc` (AIP-193: ErrorInfo always)."""
    code = status_code_of(exc)
    if not isinstance(exc, ServiceError):
        code = grpc.StatusCode.INTERNAL
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
    return status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=details)
