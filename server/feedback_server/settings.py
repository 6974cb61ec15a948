"""All configuration, from flags and environment variables (README: Configuration)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .domain.spool import DEFAULT_DEAD_RETENTION_S, DEFAULT_RETENTION_S, SPOOL_FILENAME

# scheme://host[:port], the form of a browser's Origin header (IPv6 hosts in brackets).
ORIGIN_RE = re.compile(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")


class Settings(BaseSettings):
    """Every setting has a `FEEDBACK_*` environment variable; MLflow's own variables
    (`MLFLOW_TRACKING_URI`, `MLFLOW_EXPERIMENT_NAME`) and `OPENAI_API_KEY` keep their names."""

    model_config = SettingsConfigDict(
        env_prefix="FEEDBACK_", extra="ignore", frozen=True, populate_by_name=True
    )

    # gRPC edge
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("FEEDBACK_SERVER_HOST"))
    port: int = Field(50051, ge=0, le=65535, validation_alias=AliasChoices("FEEDBACK_SERVER_PORT"))
    # Requests: the largest a documented request can be is ~270 KiB (README "Bounds").
    max_message_bytes: int = Field(1024 * 1024, ge=64 * 1024)
    # Responses: ListFeedback pages stay within it.
    max_response_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)
    max_concurrent_streams: int = Field(1000, ge=1)
    # Calls in flight on both ports together (health excluded); beyond: RESOURCE_EXHAUSTED.
    max_concurrent_rpcs: int = Field(2048, ge=1)
    keepalive_time_s: float = Field(30.0, gt=0)
    keepalive_timeout_s: float = Field(10.0, gt=0)
    # Connections are closed (GOAWAY) after this long, so clients rebalance onto new
    # replicas; a call in flight then gets the grace to finish. 0 = never.
    max_connection_age_s: float = Field(300.0, ge=0)
    max_connection_age_grace_s: float = Field(30.0, ge=0)
    # On SIGTERM: health NOT_SERVING while still serving for the delay (the mesh stops
    # routing), then calls in flight get the grace.
    shutdown_delay_s: float = Field(5.0, ge=0)
    shutdown_grace_s: float = Field(10.0, ge=0)
    metrics_port: int = Field(9464, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # OpenTelemetry: the RPC spans are exported over OTLP/HTTP (protobuf) to this traces
    # URL, e.g. http://127.0.0.1:4318/v1/traces; empty = off.
    otlp_endpoint: str = Field("", pattern=r"^(https?://\S+)?$")
    otlp_service_name: str = Field("feedback-server", min_length=1)
    # When set, every RPC but health and reflection needs `authorization: Bearer <token>`.
    auth_token: str = ""

    # Browsers: Connect (JSON and binary) and gRPC-Web, and the web page at `/`; 0 = off.
    http_port: int = Field(8080, ge=0, le=65535)
    # Exact origins (scheme://host[:port]) allowed to call the HTTP port from a page of theirs.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # Open connections on the HTTP port (one call at a time each); beyond: HTTP 503.
    http_max_connections: int = Field(1000, ge=1)

    # TLS on every port (both files), and client certificates required (mTLS) with a CA.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None

    # End-user feedback tokens (JWT, HS256): the signing secret, inline or in a file.
    token_secret: SecretStr = SecretStr("")
    token_secret_file: Path | None = None
    token_ttl_s: float = Field(86_400.0, ge=1, le=7 * 86_400)
    token_rate_per_min: int = Field(60, ge=1, le=10_000_000)

    # MLflow
    tracking_uri: str = Field(
        "http://127.0.0.1:5000", validation_alias=AliasChoices("MLFLOW_TRACKING_URI")
    )
    experiment_name: str = Field(
        "feedback-service", validation_alias=AliasChoices("MLFLOW_EXPERIMENT_NAME")
    )
    mlflow_timeout_s: float = Field(10.0, gt=0)

    # Durable ingestion
    data_dir: Path = Path("var/data")
    spool_max_pending: int = Field(100_000, ge=1)
    # Disk budget of the spool file (0: only the disk's own limit).
    spool_max_bytes: int = Field(1024**3, ge=0)
    spool_stored_retention_s: float = Field(DEFAULT_RETENTION_S, gt=0)
    spool_dead_retention_s: float = Field(DEFAULT_DEAD_RETENTION_S, gt=0)
    # full: fsync at every commit (an acknowledged judgment survives power loss); normal: no
    # fsync per commit (survives a killed process; the last commits may be lost on power loss).
    spool_sync: Literal["full", "normal"] = "full"
    # How long the spool's writer waits for more writes before a commit (0: commits at once
    # what arrived while the previous commit ran).
    spool_linger_ms: float = Field(0.0, ge=0, le=100)
    drain_concurrency: int = Field(8, ge=1, le=256)
    # The drainer's and the trace exporter's MLflow calls in a supervised child process
    # (off the serving process's interpreter); false: in the serving process.
    drain_process: bool = True
    trace_grace_s: float = Field(3.0, ge=0)
    trace_wait_ttl_s: float = Field(600.0, gt=0)
    ack_wait_ms: int = Field(0, ge=0, le=60_000)

    # Chat turns and their traces
    chat_backend: Literal["echo", "openai"] = "echo"
    echo_delay_s: float = Field(0.0, ge=0)
    openai_base_url: str = ""
    openai_model: str = ""
    openai_api_key: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("OPENAI_API_KEY")
    )
    openai_timeout_s: float = Field(60.0, gt=0)
    openai_system_prompt: str = ""
    export_workers: int = Field(4, ge=1, le=64)
    export_max_pending: int = Field(256, ge=1, le=100_000)
    max_open_turns: int = Field(1024, ge=1, le=100_000)

    # Review queries and live quality metrics
    review_query_max_matches: int = Field(10_000, ge=1)
    # Judgment names kept as the `name` label of feedback_judgments_accepted_total (besides
    # the label schemas' names); comma-separated.
    metrics_names: str = "user_feedback"

    @property
    def metrics_names_list(self) -> list[str]:
        return [n.strip() for n in self.metrics_names.split(",") if n.strip()]

    @property
    def spool_path(self) -> Path:
        return self.data_dir / SPOOL_FILENAME

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(o.strip() for o in value.split(",") if o.strip())
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not ORIGIN_RE.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an exact origin such as https://app.example.com"
                    " (scheme, host and optional port; no path, no wildcard)"
                )
        return value

    @model_validator(mode="after")
    def _pairs(self) -> Settings:
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("FEEDBACK_TLS_CERT_FILE and FEEDBACK_TLS_KEY_FILE go together")
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise ValueError("FEEDBACK_TLS_CLIENT_CA_FILE needs FEEDBACK_TLS_CERT_FILE")
        if self.token_secret.get_secret_value() and self.token_secret_file:
            raise ValueError("set FEEDBACK_TOKEN_SECRET or FEEDBACK_TOKEN_SECRET_FILE, not both")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None

    def feedback_token_secret(self) -> bytes:
        """The token signing secret (read from its file when given); empty: tokens off."""
        if self.token_secret_file:
            return self.token_secret_file.read_bytes().strip()
        return self.token_secret.get_secret_value().encode()


def parse_args(argv: list[str] | None = None) -> Settings:
    """Flags override environment variables, which override defaults."""
    parser = argparse.ArgumentParser(
        prog="feedback-server",
        description="gRPC feedback service storing judgments as MLflow assessments.",
    )
    parser.add_argument("--host", help="listen address (FEEDBACK_SERVER_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="gRPC port (FEEDBACK_SERVER_PORT, default 50051)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (MLFLOW_TRACKING_URI)")
    parser.add_argument("--experiment", help="MLflow experiment name (MLFLOW_EXPERIMENT_NAME)")
    parser.add_argument("--data-dir", help="durable spool folder (FEEDBACK_DATA_DIR)")
    parser.add_argument("--metrics-port", type=int, help="Prometheus port, 0 = off")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR (FEEDBACK_LOG_LEVEL)")
    args = parser.parse_args(argv)
    overrides = {
        "host": args.host,
        "port": args.port,
        "tracking_uri": args.tracking_uri,
        "experiment_name": args.experiment,
        "data_dir": args.data_dir,
        "metrics_port": args.metrics_port,
        "log_level": args.log_level,
    }
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
