"""Builds the grpc.aio server from settings and runs it until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from dataclasses import dataclass

import grpc
from feedback.v1 import (
    chat_service_pb2,
    chat_service_pb2_grpc,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
    review_service_pb2,
    review_service_pb2_grpc,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from . import metrics
from .backends import create_backend
from .domain.chat import ChatService
from .domain.drainer import Drainer
from .domain.feedback import FeedbackService
from .domain.review import ReviewService, SchemaCatalog
from .domain.scorers import judge_factory
from .domain.spool import Spool
from .domain.traces import TraceRegistry
from .domain.writer import MlflowWriter
from .edge.interceptor import ServiceInterceptor
from .mlflow_gateway import MlflowGateway
from .mlflow_gateway import install as install_mlflow
from .quality_metrics import default_judgment_metrics
from .servicers.chat import ChatServicer
from .servicers.feedback import FeedbackServicer
from .servicers.review import ReviewServicer
from .settings import Settings

log = logging.getLogger("feedback_server")

SERVICE_NAMES = (
    chat_service_pb2.DESCRIPTOR.services_by_name["ChatService"].full_name,
    feedback_service_pb2.DESCRIPTOR.services_by_name["FeedbackService"].full_name,
    review_service_pb2.DESCRIPTOR.services_by_name["ReviewService"].full_name,
)


@dataclass
class App:
    """A running service: what shutdown needs to stop, in order."""

    settings: Settings
    server: grpc.aio.Server
    port: int
    health: health_aio.HealthServicer
    chat: ChatService
    spool: Spool
    drainer: Drainer
    gateway: MlflowGateway

    async def stop(self, grace_s: float | None = None) -> None:
        """Graceful shutdown: health NOT_SERVING, in-flight calls finish, pending traces
        are exported, spool writes in flight finish; queued judgments stay for the next start."""
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        log.info("shutting down (grace %.1fs)", grace)
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        left = await self.chat.drain_exports(max(grace, 1.0))
        if left:
            log.warning("%d trace exports still running at shutdown", left)
        await self.drainer.stop(grace)
        await self.spool.close()
        await self.chat.backend.aclose()
        self.gateway.close(abandon_exports=bool(left))
        log.info("stopped")


async def build(settings: Settings) -> App:
    io_workers = max(8, settings.drain_concurrency * 2)
    install_mlflow(
        timeout_s=settings.mlflow_timeout_s,
        mlflow_threads=io_workers + settings.export_workers,
        traces_in_memory=settings.max_open_turns + settings.export_max_pending,
        export_retry_s=settings.export_retry_s,
    )
    gateway = MlflowGateway(
        tracking_uri=settings.tracking_uri,
        experiment_name=settings.experiment_name,
        timeout_s=settings.mlflow_timeout_s,
        io_workers=io_workers,
        export_workers=settings.export_workers,
    )
    registry = TraceRegistry()
    backend = create_backend(
        settings.chat_backend,
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        api_key=settings.openai_api_key.get_secret_value(),
        timeout_s=settings.openai_timeout_s,
        echo_delay_s=settings.echo_delay_s,
        system_prompt=settings.openai_system_prompt or None,
    )
    chat = ChatService(
        backend,
        gateway,
        registry,
        export_max_pending=settings.export_max_pending,
        max_open_turns=settings.max_open_turns,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    spool = Spool(settings.spool_path, max_pending=settings.spool_max_pending)
    await spool.start()
    drainer = Drainer(
        spool,
        MlflowWriter(gateway, registry),
        concurrency=settings.drain_concurrency,
        trace_wait_ttl_s=settings.trace_wait_ttl_s,
    )
    judgment_metrics = default_judgment_metrics(settings.metrics_names_list)
    feedback = FeedbackService(
        gateway,
        registry,
        spool,
        drainer,
        trace_grace_s=settings.trace_grace_s,
        ack_wait_ms=settings.ack_wait_ms,
        metrics=judgment_metrics,
    )
    # Expert review (domain/review); its label schemas are enforced on feedback writes.
    catalog = SchemaCatalog(gateway)
    feedback.label_checker = catalog
    judgment_metrics.more_names = catalog.cached_names
    review = ReviewService(
        gateway,
        feedback,
        chat,
        registry,
        catalog,
        judge_factory=judge_factory(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key.get_secret_value(),
            timeout_s=settings.openai_timeout_s,
        ),
        query_max_matches=settings.review_query_max_matches,
    )

    server = grpc.aio.server(
        interceptors=[ServiceInterceptor(settings.auth_token)],
        options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            ("grpc.max_concurrent_streams", settings.max_concurrent_streams),
            ("grpc.keepalive_time_ms", int(settings.keepalive_time_s * 1000)),
            ("grpc.keepalive_timeout_ms", int(settings.keepalive_timeout_s * 1000)),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ("grpc.so_reuseport", 1),
        ],
    )
    chat_service_pb2_grpc.add_ChatServiceServicer_to_server(ChatServicer(chat), server)
    feedback_service_pb2_grpc.add_FeedbackServiceServicer_to_server(
        # CreateFeedbackToken (end-user feedback tokens, the edge's) is in the contract but not
        # served yet: gRPC answers UNIMPLEMENTED for it until its servicer method lands.
        FeedbackServicer(feedback),  # type: ignore[abstract]
        server,
    )
    review_service_pb2_grpc.add_ReviewServiceServicer_to_server(ReviewServicer(review), server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    port = server.add_insecure_port(f"{settings.host}:{settings.port}")
    await server.start()
    drainer.start()
    # SERVING as soon as judgments can be accepted durably, whether or not MLflow is up.
    for name in ("", *SERVICE_NAMES):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    return App(settings, server, port, health, chat, spool, drainer, gateway)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":

        class JsonFormatter(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                entry = {
                    "time": self.formatTime(record),
                    "level": record.levelname,
                    "logger": record.name,
                    "message": record.getMessage(),
                }
                if record.exc_info:
                    entry["exception"] = self.formatException(record.exc_info)
                return json.dumps(entry)

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
    # MLflow's own warnings about retried exports are reported by the gateway instead.
    logging.getLogger("mlflow").setLevel(logging.ERROR)


async def serve(settings: Settings) -> None:
    configure_logging(settings)
    if settings.metrics_port:
        metrics.start_metrics_server(settings.metrics_port, settings.host)
    app = await build(settings)
    log.info(
        "feedback server listening on %s:%d (MLflow %s, experiment %r, spool %s)",
        settings.host,
        app.port,
        settings.tracking_uri,
        settings.experiment_name,
        settings.spool_path,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await app.stop()
