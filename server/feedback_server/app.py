"""Builds the grpc.aio server from settings and runs it until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

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
from .domain.feedback import FeedbackService, MlflowWriter
from .domain.review import ReviewService, SchemaCatalog
from .domain.scorers import judge_factory
from .domain.spool import Spool
from .domain.trace_export import TraceExporter
from .domain.traces import TraceRegistry
from .edge.interceptor import ServiceInterceptor
from .mlflow_gateway import MlflowGateway
from .mlflow_gateway import install as install_mlflow
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
    exporter: TraceExporter
    gateway: MlflowGateway
    stopping: bool = False
    _skip_delay: asyncio.Event = field(default_factory=asyncio.Event)

    def skip_delay(self) -> None:
        """Ends the shutdown delay now (a second signal)."""
        self._skip_delay.set()

    async def set_serving(self, serving: bool) -> None:
        """Health of every service: SERVING while the spool can write (judgments and chat
        traces are acknowledged only once durable), NOT_SERVING otherwise and from SIGTERM on."""
        if self.stopping:
            return
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, status)

    async def stop(self, grace_s: float | None = None, delay_s: float | None = None) -> None:
        """Graceful shutdown: health NOT_SERVING while the server keeps serving for the delay
        (so that the mesh stops routing to it), then calls in flight get the grace, then the
        traces of unanswered turns get the grace, then exports and drain writes in flight get
        the grace (both at once); what is not in MLflow yet (judgments, chat traces) stays in
        the spool for the next start. At most delay + 3 x grace, plus closing (the Helm
        chart's terminationGracePeriodSeconds adds the same)."""
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        delay = self.settings.shutdown_delay_s if delay_s is None else delay_s
        log.info(
            "shutting down: NOT_SERVING, serving %.1fs more, then a grace of %.1fs", delay, grace
        )
        await self.set_serving(False)
        self.stopping = True
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._skip_delay.wait(), delay)
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        left = await self.chat.flush(max(grace, 1.0))
        if left:
            log.warning("%d unanswered turns' traces still being recorded at shutdown", left)
        await asyncio.gather(self.exporter.stop(grace), self.drainer.stop(grace))
        await self.spool.close()
        await self.chat.backend.aclose()
        self.gateway.close()
        log.info("stopped")


async def build(settings: Settings) -> App:
    io_workers = max(8, settings.drain_concurrency * 2)
    install_mlflow(
        timeout_s=settings.mlflow_timeout_s,
        mlflow_threads=io_workers + settings.export_workers,
        traces_in_memory=settings.max_open_turns,
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
    spool = Spool(
        settings.spool_path,
        max_pending=settings.spool_max_pending,
        max_bytes=settings.spool_max_bytes,
        retention_s=settings.spool_stored_retention_s,
        dead_retention_s=settings.spool_dead_retention_s,
    )
    await spool.start()  # SpoolOpenError: a one-line reason (the entry point prints it)
    exporter = TraceExporter(spool, gateway, registry, concurrency=settings.export_workers)
    chat = ChatService(
        backend,
        gateway,
        registry,
        spool,
        on_recorded=exporter.notify,
        export_max_pending=settings.export_max_pending,
        max_open_turns=settings.max_open_turns,
    )
    # Traces recorded before a restart and not exported yet: feedback on them waits for
    # their export instead of failing with NOT_FOUND.
    pending_traces = await spool.pending_trace_ids()
    chat.restore(pending_traces)
    if pending_traces:
        log.info("%d chat traces recorded before the restart are exported now", len(pending_traces))
    drainer = Drainer(
        spool,
        MlflowWriter(gateway, registry),
        concurrency=settings.drain_concurrency,
        trace_wait_ttl_s=settings.trace_wait_ttl_s,
    )
    feedback = FeedbackService(
        gateway,
        registry,
        spool,
        drainer,
        trace_grace_s=settings.trace_grace_s,
        ack_wait_ms=settings.ack_wait_ms,
        summary_max_traces=settings.summary_max_traces,
    )
    # Expert review (domain/review); its label schemas are enforced on feedback writes.
    catalog = SchemaCatalog(gateway)
    feedback.label_checker = catalog
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
        query_max_scan=settings.summary_max_traces,
    )

    server = grpc.aio.server(
        interceptors=[ServiceInterceptor(settings.auth_token)],
        options=[
            *_connection_age_options(settings),
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
        # RetractFeedback, BatchLogFeedback and CreateFeedbackToken are in the contract but not
        # served yet: gRPC answers UNIMPLEMENTED for them until their servicer methods land.
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
    exporter.start()
    app = App(settings, server, port, health, chat, spool, drainer, exporter, gateway)
    # SERVING as soon as judgments can be accepted durably, whether or not MLflow is up, and
    # as long as the spool can write.
    spool.add_health_listener(lambda ok, _: _spawn(app.set_serving(ok)))
    await app.set_serving(spool.healthy)
    return app


_tasks: set[asyncio.Task[None]] = set()


def _spawn(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(work)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def _connection_age_options(settings: Settings) -> list[tuple[str, int]]:
    """gRPC's maximum connection age: clients reconnect (and rebalance) after it."""
    if not settings.max_connection_age_s:
        return []
    return [
        ("grpc.max_connection_age_ms", int(settings.max_connection_age_s * 1000)),
        ("grpc.max_connection_age_grace_ms", int(settings.max_connection_age_grace_s * 1000)),
    ]


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
    # SIGTERM (Kubernetes, the mesh) keeps serving for FEEDBACK_SHUTDOWN_DELAY_S while health
    # says NOT_SERVING; SIGINT (Ctrl-C) and a second signal skip the delay.
    received: list[signal.Signals] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    await stop.wait()
    delay = settings.shutdown_delay_s if received == [signal.SIGTERM] else 0.0
    stopping = asyncio.ensure_future(app.stop(delay_s=delay))
    while not stopping.done():
        stop.clear()
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait({stopping, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if stop.is_set():
            app.skip_delay()
    await stopping
