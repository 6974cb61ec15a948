"""The one place where MLflow's failures become domain errors.

Every blocking MLflow call of the gateway goes through `mlflow_call` (or
`GatewayCore._call`, which runs it in the gateway's I/O pool). The write path of
`assessments.py` classifies its own outcomes with `is_not_found` / `is_transient`,
because a failed write is checked with a read before it counts as failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mlflow.exceptions import MlflowException, RestException

from ..errors import AlreadyExists, InvalidArgument, NotFound, ServiceError, Unavailable

T = TypeVar("T")

_NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}
UNREACHABLE = "MLflow tracking server is unreachable"


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, RestException) and exc.error_code in _NOT_FOUND_CODES


#: HTTP answers worth retrying besides 5xx: timeout, conflict, too early, too many requests,
#: client closed request.
_RETRYABLE_4XX = frozenset({408, 409, 425, 429, 499})


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of an MLflow failure (MLflow keeps it as its error code, also for a
    non-JSON answer such as an auth proxy's 403); None when MLflow gave no answer."""
    if not isinstance(exc, MlflowException):
        return None
    known = getattr(exc, "http_status", None)  # the poster keeps the exact status
    if isinstance(known, int):
        return known
    try:
        return int(exc.get_http_status_code())
    except Exception:  # pragma: no cover - defensive
        return 500


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: connection failures, timeouts, 5xx, 429 and a few
    other 4xx. False for MLflow's lasting refusals: 400, 401, 403, 404, 413..."""
    status = http_status(exc)
    if status is not None:
        # Connection refused / reset / timeout surface as an MlflowException of code
        # INTERNAL_ERROR (500).
        return status >= 500 or status in _RETRYABLE_4XX
    return isinstance(exc, OSError | TimeoutError | ConnectionError)


def describe(exc: BaseException) -> str:
    """A short name for an MLflow failure, for logs and dead letters (never its text):
    e.g. "MLflow refused: PERMISSION_DENIED (HTTP 403)"."""
    status = http_status(exc)
    code = getattr(exc, "error_code", "")
    if status is not None and not is_transient(exc):
        return f"MLflow refused: {code} (HTTP {status})"
    return f"{type(exc).__name__} {code}".strip()


def domain_error(exc: Exception, what: tuple[str, str] | None = None) -> ServiceError:
    """The domain error for an MLflow failure. When `what` (resource type, name) names
    what the call reads or writes, MLflow's "does not exist" becomes `NotFound(*what)`,
    "already exists" `AlreadyExists(*what)` and "invalid parameter value" an
    `InvalidArgument` of field `what[0]`; everything else (connection failures,
    timeouts, 5xx, any other refusal) is `Unavailable`."""
    if what is not None and isinstance(exc, RestException):
        if is_not_found(exc):
            return NotFound(*what)
        if exc.error_code == "RESOURCE_ALREADY_EXISTS":
            return AlreadyExists(*what)
        if exc.error_code == "INVALID_PARAMETER_VALUE":
            return InvalidArgument.of(what[0], "rejected by MLflow as invalid")
    return Unavailable(UNREACHABLE)


def mlflow_call(fn: Callable[[], T], what: tuple[str, str] | None = None) -> T:
    """Runs one blocking MLflow call; its failures are raised as `domain_error(exc, what)`."""
    try:
        return fn()
    except ServiceError:
        raise
    except Exception as exc:
        raise domain_error(exc, what) from exc
