"""All configuration, from flags and environment variables (README: Configuration)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .domain.spool import SPOOL_FILENAME


class Settings(BaseSettings):
    """Every setting has a `FEEDBACK_*` environment variable; MLflow's own variables
    (`MLFLOW_TRACKING_URI`, `MLFLOW_EXPERIMENT_NAME`) and `OPENAI_API_KEY` keep their names."""

    model_config = SettingsConfigDict(
        env_prefix="FEEDBACK_", extra="ignore", frozen=True, populate_by_name=True
    )

    # gRPC edge
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("FEEDBACK_SERVER_HOST"))
    port: int = Field(50051, ge=0, le=65535, validation_alias=AliasChoices("FEEDBACK_SERVER_PORT"))
    max_message_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)
    max_concurrent_streams: int = Field(1000, ge=1)
    keepalive_time_s: float = Field(30.0, gt=0)
    keepalive_timeout_s: float = Field(10.0, gt=0)
    shutdown_grace_s: float = Field(10.0, ge=0)
    metrics_port: int = Field(9464, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # When set, every RPC but health and reflection needs `authorization: Bearer <token>`.
    auth_token: str = ""

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
    drain_concurrency: int = Field(8, ge=1, le=256)
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
    export_max_pending: int = Field(256, ge=1, le=10_000)
    max_open_turns: int = Field(1024, ge=1, le=100_000)
    export_retry_s: float = Field(300.0, ge=0)

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
