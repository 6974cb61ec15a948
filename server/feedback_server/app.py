"""Builds the grpc.aio server from settings and runs it until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import signal
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
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
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from . import __version__, metrics
from .backends import create_backend
from .domain.chat import ChatService
from .domain.drainer import AssessmentWriter, Drainer
from .domain.feedback import FeedbackService
from .domain.ports import TraceExports
from .domain.review import ReviewService, SchemaCatalog
from .domain.scorers import judge_factory
from .domain.spool import Spool
from .domain.trace_export import TraceExporter
from .domain.traces import TraceRegistry
from .domain.writer import MlflowWriter
from .drain_worker import DrainWorker
from .edge import metrics as rpc_metrics
from .edge.auth import Authenticator
from .edge.calls import Edge
from .edge.connect import connect_app
from .edge.http import HttpApp, HttpServer
from .edge.interceptor import ServiceInterceptor
from .edge.limits import CallLimiter, TokenRateLimiter
from .edge.tokens import FeedbackTokens
from .edge.tracing import configure_otlp, shutdown_otlp
from .logs import configure_logging
from .mlflow_gateway import MlflowGateway
from .mlflow_gateway import install as install_mlflow
from .quality_metrics import default_judgment_metrics
from .servicers import reflection
from .servicers.chat import ChatServicer
from .servicers.feedback import FeedbackServicer
from .servicers.review import ReviewServicer
from .settings import Settings

log = logging.getLogger("feedback_server")

SERVICES = (
    chat_service_pb2.DESCRIPTOR.services_by_name["ChatService"],
    feedback_service_pb2.DESCRIPTOR.services_by_name["FeedbackService"],
    review_service_pb2.DESCRIPTOR.services_by_name["ReviewService"],
)
SERVICE_NAMES = tuple(service.full_name for service in SERVICES)


@dataclass
class App:
    """A running service: what shutdown needs to stop, in order."""

    settings: Settings
    server: grpc.aio.Server
    port: int
    http: HttpServer | None
    health: health_aio.HealthServicer
    chat: ChatService
    spool: Spool
    drainer: Drainer
    exporter: TraceExporter
    gateway: MlflowGateway
    worker: DrainWorker | None = None
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
        chart's terminationGracePeriodSeconds adds the same) and, with OTLP export on, the
        last spans' export (at most the grace, 10 s at most)."""
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
        await asyncio.gather(
            self.server.stop(grace), self.http.stop(grace) if self.http else asyncio.sleep(0)
        )
        left = await self.chat.flush(max(grace, 1.0))
        if left:
            log.warning("%d unanswered turns' traces still being recorded at shutdown", left)
        await asyncio.gather(self.exporter.stop(grace), self.drainer.stop(grace))
        if self.worker is not None:
            await self.worker.stop(grace)
        await self.spool.close()
        await self.chat.backend.aclose()
        self.gateway.close()
        await asyncio.to_thread(shutdown_otlp)
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
    if settings.otlp_endpoint:
        configure_otlp(
            settings.otlp_endpoint,
            service_name=settings.otlp_service_name,
            version=__version__,
            # Bounds each export and so the flush at shutdown (App.stop).
            timeout_s=min(10.0, max(1.0, settings.shutdown_grace_s)),
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
        sync=settings.spool_sync,
        linger_ms=settings.spool_linger_ms,
    )
    await spool.start()  # SpoolOpenError: a one-line reason (the entry point prints it)
    worker, writer, exports = await _mlflow_writers(settings, gateway, registry, io_workers)
    exporter = TraceExporter(spool, exports, registry, concurrency=settings.export_workers)
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
        writer,
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

    secret = settings.feedback_token_secret()
    tokens = FeedbackTokens(secret, ttl_s=settings.token_ttl_s) if secret else None
    edge = Edge(
        Authenticator(
            settings.auth_token,
            tokens,
            TokenRateLimiter(settings.token_rate_per_min),
            # A token's trace is known: its writes are queued without looking it up.
            on_token_trace=registry.mark_verified,
        ),
        CallLimiter(settings.max_concurrent_rpcs),
    )
    server = grpc.aio.server(
        interceptors=[ServiceInterceptor(edge)],
        options=[
            *_connection_age_options(settings),
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_response_bytes),
            ("grpc.max_concurrent_streams", settings.max_concurrent_streams),
            ("grpc.keepalive_time_ms", int(settings.keepalive_time_s * 1000)),
            ("grpc.keepalive_timeout_ms", int(settings.keepalive_timeout_s * 1000)),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ("grpc.so_reuseport", 1),
        ],
    )
    servicers = (
        ChatServicer(chat, tokens),
        FeedbackServicer(feedback, tokens=tokens, max_response_bytes=settings.max_response_bytes),
        ReviewServicer(review),
    )
    chat_service_pb2_grpc.add_ChatServiceServicer_to_server(servicers[0], server)
    feedback_service_pb2_grpc.add_FeedbackServiceServicer_to_server(servicers[1], server)
    review_service_pb2_grpc.add_ReviewServiceServicer_to_server(servicers[2], server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    rpc_metrics.initialize((*SERVICES, health_pb2.DESCRIPTOR.services_by_name["Health"]))
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name), server
    )
    port = _listen(server, settings)
    http = None
    if settings.http_port:
        api = connect_app(
            edge,
            [
                (_service_descriptor(name), servicer)
                for name, servicer in zip(SERVICE_NAMES, servicers, strict=True)
            ],
            read_max_bytes=settings.max_message_bytes,
        )
        http = HttpServer(
            HttpApp(
                api, max_body_bytes=settings.max_message_bytes, cors_origins=settings.cors_origins
            ),
            host=settings.host,
            port=settings.http_port,
            max_connections=settings.http_max_connections,
            tls=_tls_files(settings),
        )
    await server.start()
    if http is not None:
        await http.start()
    drainer.start()
    exporter.start()
    app = App(settings, server, port, http, health, chat, spool, drainer, exporter, gateway, worker)
    # SERVING as soon as judgments can be accepted durably, whether or not MLflow is up, and
    # as long as the spool can write.
    spool.add_health_listener(lambda ok, _: _spawn(app.set_serving(ok)))
    await app.set_serving(spool.healthy)
    return app


async def _mlflow_writers(
    settings: Settings, gateway: MlflowGateway, registry: TraceRegistry, io_workers: int
) -> tuple[DrainWorker | None, AssessmentWriter, TraceExports]:
    """The drainer's writer and the exporter's MLflow calls: in the drain worker process
    (`FEEDBACK_DRAIN_PROCESS`, started here), or in this process."""
    if not settings.drain_process:
        return None, MlflowWriter(gateway, registry), gateway
    worker = DrainWorker(
        {
            "tracking_uri": settings.tracking_uri,
            "experiment_name": settings.experiment_name,
            "timeout_s": settings.mlflow_timeout_s,
            "io_workers": io_workers,
            "export_workers": settings.export_workers,
            "log_level": settings.log_level,
            "log_format": settings.log_format,
        },
        registry,
    )
    await worker.start()
    return worker, worker, worker


def freeze_startup_objects() -> None:
    """Moves everything allocated so far (MLflow, gRPC, protobuf and the service itself) out
    of the garbage collector's reach: a full collection otherwise scans them all, a pause of
    50-175 ms measured here that any call in flight waits out (docs/performance.md)."""
    gc.collect()
    gc.freeze()


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


def _service_descriptor(full_name: str) -> ServiceDescriptor:
    return descriptor_pool.Default().FindServiceByName(full_name)


def _tls_files(settings: Settings) -> tuple[Path, Path, Path | None] | None:
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    return settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file


def _listen(server: grpc.aio.Server, settings: Settings) -> int:
    """The gRPC port: TLS (and client certificates, with a client CA) when configured."""
    address = f"{settings.host}:{settings.port}"
    files = _tls_files(settings)
    if files is None:
        return int(server.add_insecure_port(address))
    cert, key, client_ca = files
    credentials = grpc.ssl_server_credentials(
        [(key.read_bytes(), cert.read_bytes())],
        root_certificates=client_ca.read_bytes() if client_ca else None,
        require_client_auth=client_ca is not None,
    )
    return int(server.add_secure_port(address, credentials))


def exposure_warnings(settings: Settings) -> list[str]:
    """What `serve` warns about at start: a port reachable beyond this host without TLS
    or without a service credential (README "Trust model")."""
    if _is_loopback(settings.host):
        return []
    warnings = []
    if not settings.tls:
        warnings.append(
            f"listening on {settings.host} without TLS: set FEEDBACK_TLS_CERT_FILE and"
            " FEEDBACK_TLS_KEY_FILE, or keep the port behind a mesh sidecar doing mTLS"
        )
    if not settings.auth_token:
        warnings.append(
            f"listening on {settings.host} without FEEDBACK_AUTH_TOKEN: any caller that"
            " reaches the port may call every RPC and write as any source"
        )
    return warnings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def serve(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
    if settings.metrics_port:
        metrics.start_metrics_server(settings.metrics_port, settings.host)
    app = await build(settings)
    freeze_startup_objects()
    scheme = "https" if settings.tls else "http"
    log.info(
        "feedback server listening on %s:%d (gRPC%s) and %s (MLflow %s, experiment %r, spool %s)",
        settings.host,
        app.port,
        ", TLS" if settings.tls else "",
        f"{scheme}://{settings.host}:{app.http.port}/ (Connect, gRPC-Web, web page)"
        if app.http
        else "no HTTP port",
        settings.tracking_uri,
        settings.experiment_name,
        settings.spool_path,
    )
    for warning in exposure_warnings(settings):
        log.warning("%s", warning)
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
