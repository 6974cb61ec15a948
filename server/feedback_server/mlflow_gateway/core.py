"""The gateway's core: MLflow's client, the thread pools and the experiment."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import mlflow
from mlflow.tracing.client import TracingClient

from . import setup
from .calls import mlflow_call
from .poster import AssessmentPoster

log = logging.getLogger(__name__)
T = TypeVar("T")


class GatewayCore:
    def __init__(
        self,
        *,
        tracking_uri: str,
        experiment_name: str,
        timeout_s: float = 10.0,
        io_workers: int = 16,
        export_workers: int = 4,
        export_retry_s: float = 300.0,
        max_traces_in_memory: int = 1000,
    ) -> None:
        setup._export_retry_s = export_retry_s
        setup._STOP_EXPORT_RETRIES.clear()
        os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(int(max(1, timeout_s)))
        # MLflow serves every call of the process from one cached HTTP session: its pool
        # must keep a connection per thread that calls MLflow, else urllib3 opens and drops
        # a connection per extra call (and logs "Connection pool is full" each time).
        os.environ.setdefault("MLFLOW_HTTP_POOL_MAXSIZE", str(io_workers + export_workers))
        setup._size_trace_buffer(max_traces_in_memory)
        mlflow.set_tracking_uri(tracking_uri)
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self._experiment_id: str | None = None
        self._experiment_lock = threading.Lock()
        self._client = TracingClient(tracking_uri)
        self._poster = AssessmentPoster.for_client(self._client, timeout_s)
        self._io = ThreadPoolExecutor(io_workers, thread_name_prefix="mlflow-io")
        self.export_pool = ThreadPoolExecutor(export_workers, thread_name_prefix="mlflow-export")

    # --- lifecycle ---------------------------------------------------------------------

    async def _run(self, fn: Callable[[], T]) -> T:
        """Runs blocking `fn` in the I/O pool (the event loop never waits on MLflow)."""
        return await asyncio.get_running_loop().run_in_executor(self._io, fn)

    async def _call(self, fn: Callable[[], T], what: tuple[str, str] | None = None) -> T:
        """Runs one blocking MLflow call in the I/O pool; its failures are raised as
        domain errors (`calls.mlflow_call`: `what` names the resource for NotFound etc.)."""
        return await self._run(lambda: mlflow_call(fn, what))

    def close(self, *, abandon_exports: bool = False) -> None:
        """Waits for queued trace exports (unless `abandon_exports`), then releases threads."""
        if abandon_exports:
            setup._STOP_EXPORT_RETRIES.set()
        self.export_pool.shutdown(wait=True)
        self._io.shutdown(wait=False, cancel_futures=True)

    # --- experiment --------------------------------------------------------------------

    def experiment_id_sync(self) -> str:
        """Resolves (creating if needed) the experiment; cached once known."""
        if self._experiment_id is not None:
            return self._experiment_id
        with self._experiment_lock:
            if self._experiment_id is None:
                experiment = mlflow_call(
                    lambda: mlflow.set_experiment(experiment_name=self.experiment_name)
                )
                self._experiment_id = str(experiment.experiment_id)
                log.info(
                    "using MLflow experiment %r (id %s) at %s",
                    self.experiment_name,
                    self._experiment_id,
                    self.tracking_uri,
                )
            return self._experiment_id

    async def experiment_id(self) -> str:
        if self._experiment_id is not None:
            return self._experiment_id
        return await self._run(self.experiment_id_sync)
