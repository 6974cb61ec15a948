"""Domain errors: plain Python, raised by domain and gateway code.

The edge turns them into a `google.rpc.Status` with machine-readable details
(edge/status.py). Anything else becomes `INTERNAL` with a generic message, the
detail being logged server-side only.
"""

from __future__ import annotations

from dataclasses import dataclass


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


class RequestIdReused(AlreadyExists):
    """AIP-155: a request_id already used by another request (other fields)."""

    reason = "REQUEST_ID_REUSED"

    def __init__(self, request_id: str) -> None:
        super().__init__("request_id", request_id)
        self.message = (
            f"request_id {request_id!r} was already used by another request; "
            "use a new request_id for a new request"
        )


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
