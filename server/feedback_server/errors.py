"""Domain errors and the one table that maps them to gRPC status (DESIGN §5).

Domain and gateway code raise these; the error interceptor turns them into a
`google.rpc.Status` with machine-readable details. Anything else becomes
`INTERNAL` with a generic message, the detail being logged server-side only.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

ERROR_DOMAIN = "feedback.v1"


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field: its path in the request (e.g. `target.trace_id`) and why."""

    field: str
    description: str


class ServiceError(Exception):
    """Base class of every error the service reports to callers on purpose."""

    reason = "ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ServiceError):
    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        fields = ", ".join(v.field for v in violations)
        super().__init__(f"invalid request: {fields}" if fields else "invalid request")

    @classmethod
    def of(cls, field_path: str, description: str) -> InvalidArgument:
        return cls([FieldViolation(field_path, description)])


class NotFound(ServiceError):
    reason = "NOT_FOUND"

    def __init__(self, resource_type: str, resource_name: str, description: str = "") -> None:
        self.resource_type = resource_type
        self.resource_name = resource_name
        super().__init__(description or f"{resource_type} {resource_name!r} not found")


class AlreadyExists(ServiceError):
    reason = "ALREADY_EXISTS"

    def __init__(self, resource_type: str, resource_name: str) -> None:
        self.resource_type = resource_type
        self.resource_name = resource_name
        super().__init__(f"{resource_type} {resource_name!r} already exists")


class FailedPrecondition(ServiceError):
    reason = "FAILED_PRECONDITION"


class PermissionDenied(ServiceError):
    reason = "PERMISSION_DENIED"


class Unauthenticated(ServiceError):
    reason = "UNAUTHENTICATED"


class Unavailable(ServiceError):
    """A dependency (MLflow, the chat backend) cannot be reached right now."""

    reason = "UNAVAILABLE"

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ResourceExhausted(ServiceError):
    """The service is at capacity (spool full, too many streams)."""

    reason = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Cancelled(ServiceError):
    reason = "CANCELLED"


class DeadlineExceeded(ServiceError):
    reason = "DEADLINE_EXCEEDED"


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
