"""The keep-alive assessment poster."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import ssl
import threading
import urllib.parse
from typing import Any

from mlflow.entities import Expectation, Feedback
from mlflow.exceptions import MlflowException, RestException, get_error_code
from mlflow.protos.service_pb2 import CreateAssessment
from mlflow.tracing.client import TracingClient
from mlflow.utils.proto_json_utils import message_to_json

log = logging.getLogger(__name__)


def _behind_proxy(url: urllib.parse.SplitResult) -> bool:
    """Whether requests (MLflow's HTTP client) would reach `url` through a proxy."""
    import urllib.request

    return url.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(
        url.hostname or ""
    )


class AssessmentPoster:
    """Creates assessments over one keep-alive HTTP connection per thread.

    MLflow's client spends about 4 ms of CPU per `log_assessment` (requests' proxy and
    environment lookups, response parsing into entities); this sends the same request
    body (`CreateAssessment` as MLflow's client serializes it) in about 1 ms, which is
    what the drainer pays per judgment inside the serving process (bench/, py-spy).
    Only for plain http(s) tracking servers reached without a proxy, with no auth or
    token/basic auth; any other set-up (Databricks, SigV4, auth plugins, client
    certificates, HTTP(S)_PROXY) keeps MLflow's client.
    Errors are raised as MLflow's client raises them (`RestException` for an error body,
    `MlflowException` with the error code of the HTTP status for any other non-200 answer,
    `OSError` for the connection).
    """

    def __init__(self, creds: Any, headers: dict[str, str], timeout_s: float) -> None:
        parts = urllib.parse.urlsplit(creds.host)
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._base = parts.path.rstrip("/")
        self._timeout_s = timeout_s
        self._headers = {**headers, "Content-Type": "application/json"}
        if creds.token:
            self._headers["Authorization"] = f"Bearer {creds.token}"
        elif creds.username and creds.password:
            basic = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {basic}"
        self._ssl: ssl.SSLContext | None = None
        if self._https:
            self._ssl = ssl.create_default_context(cafile=creds.server_cert_path)
            if creds.ignore_tls_verification:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        self._local = threading.local()

    @classmethod
    def for_client(cls, client: TracingClient, timeout_s: float) -> AssessmentPoster | None:
        """The poster for `client`'s tracking server, or None where MLflow's client must stay."""
        try:
            from mlflow.store.tracking.rest_store import RestStore
            from mlflow.tracking.request_header.registry import resolve_request_headers
            from mlflow.utils.workspace_context import get_request_workspace

            store = client.store
            if not isinstance(store, RestStore) or get_request_workspace():
                return None
            creds = store.get_host_creds()
            url = urllib.parse.urlsplit(creds.host)
            if (
                url.scheme not in ("http", "https")
                or _behind_proxy(url)
                or creds.aws_sigv4
                or creds.auth
                or creds.use_databricks_sdk
                or creds.client_cert_path
                or creds.workspace_id
            ):
                return None
            return cls(creds, dict(resolve_request_headers()), timeout_s)
        except Exception:  # MLflow internals moved: keep MLflow's client
            log.debug("assessments go through MLflow's client", exc_info=True)
            return None

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._https:
                conn = http.client.HTTPSConnection(
                    self._netloc, timeout=self._timeout_s, context=self._ssl
                )
            else:
                conn = http.client.HTTPConnection(self._netloc, timeout=self._timeout_s)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def create(self, trace_id: str, assessment: Feedback | Expectation) -> None:
        assessment.trace_id = trace_id
        body = message_to_json(CreateAssessment(assessment=assessment.to_proto())).encode()
        path = f"{self._base}/api/3.0/mlflow/traces/{trace_id}/assessments"
        # A kept-alive connection the server has closed fails on first use: one retry on
        # a fresh connection (the write is idempotent on its assessment ID).
        for attempt in (1, 2):
            reused = getattr(self._local, "conn", None) is not None
            try:
                conn = self._connection()
                conn.request("POST", path, body=body, headers=self._headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                if attempt == 1 and reused:
                    continue
                if isinstance(exc, OSError):
                    raise
                raise ConnectionError(f"MLflow answered malformed HTTP: {exc!r}") from exc
            if response.will_close:
                self._drop_connection()
            if response.status == 200:
                return
            text = data.decode("utf-8", "replace")
            try:
                error = json.loads(text)
            except ValueError:
                error = None
            if isinstance(error, dict) and "error_code" in error:
                raise RestException(error)
            failure = MlflowException(
                f"API request to endpoint {path} failed with error code {response.status}"
                f" != 200. Response body: {text[:500]!r}",
                error_code=get_error_code(response.status),
            )
            failure.http_status = response.status  # type: ignore[attr-defined]
            raise failure
