"""How MLflow's failures are classified (not found, worth retrying)."""

from __future__ import annotations

from mlflow.exceptions import MlflowException, RestException

_NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}


def _is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, RestException) and exc.error_code in _NOT_FOUND_CODES


def _is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: connection failures, timeouts, 5xx, 429."""
    if isinstance(exc, RestException):
        try:
            status = exc.get_http_status_code()
        except Exception:  # pragma: no cover - defensive
            return True
        return status >= 500 or status == 429
    # Connection refused / reset / timeout surface as a plain MlflowException or OSError.
    return isinstance(exc, MlflowException | OSError | TimeoutError | ConnectionError)


def _describe(exc: BaseException) -> str:
    code = getattr(exc, "error_code", "")
    return f"{type(exc).__name__} {code}".strip()
