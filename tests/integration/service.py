"""An in-process feedback server (grpc.aio on port 0) for integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from feedback.v1 import chat_service_pb2_grpc, feedback_service_pb2_grpc
from feedback_server.app import App, build
from feedback_server.settings import Settings

from testbed.poll import poll_async


class Service:
    """A running app plus stubs on an aio channel."""

    def __init__(self, app: App, channel: grpc.aio.Channel, tracking_uri: str) -> None:
        self.app = app
        self.channel = channel
        self.tracking_uri = tracking_uri
        self.chat = chat_service_pb2_grpc.ChatServiceStub(channel)
        self.feedback = feedback_service_pb2_grpc.FeedbackServiceStub(channel)


async def start_service(tracking_uri: str, data_dir: Path, **overrides: Any) -> Service:
    settings = Settings(
        host="127.0.0.1",
        port=0,
        metrics_port=0,
        http_port=overrides.pop("http_port", 0),
        tracking_uri=tracking_uri,
        experiment_name=overrides.pop("experiment_name", f"test-{uuid.uuid4().hex[:8]}"),
        data_dir=data_dir,
        trace_grace_s=overrides.pop("trace_grace_s", 0.5),
        shutdown_grace_s=2.0,
        shutdown_delay_s=overrides.pop("shutdown_delay_s", 0.0),
        **overrides,
    )
    app = await build(settings)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
    return Service(app, channel, tracking_uri)


async def stop_service(service: Service) -> None:
    await service.channel.close()
    await service.app.stop(1.0)


async def wait_until(
    check: Callable[[], Any], limit_s: float = 60.0, interval: float = 0.25
) -> Any:
    """`poll_async` that fails the test (with the last value) when the time is up."""
    last = await poll_async(check, limit_s, interval_s=interval)
    if not last:
        raise AssertionError(f"condition not met within {limit_s}s (last: {last!r})")
    return last


def finalized_trace(tracking_uri: str, trace_id: str) -> Any:
    """The trace once MLflow has it whole (its spans can land before its info is final),
    else None."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    trace = mlflow.get_trace(trace_id, silent=True)
    if trace is None or trace.info.trace_metadata.get("mlflow.trace.infoFinalized") != "true":
        return None
    return trace
