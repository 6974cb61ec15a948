"""The gateway's core: MLflow's client, the thread pools and the experiment."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import mlflow
from mlflow.tracing.client import TracingClient

from .calls import mlflow_call
from .poster import AssessmentPoster

log = logging.getLogger(__name__)
T = TypeVar("T")


class GatewayCore:
    """MLflow's client, the gateway's thread pools and the experiment; the other modules
    of this package add their methods to it (see `MlflowGateway`). Build it after
    `setup.install`."""

    def __init__(
        self,
        *,
        tracking_uri: str,
        experiment_name: str,
        timeout_s: float = 10.0,
        io_workers: int = 16,
        export_workers: int = 4,
    ) -> None:
        mlflow.set_tracking_uri(tracking_uri)
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self._experiment_id: str | None = None
        self._experiment_lock = threading.Lock()
        self._client = TracingClient(tracking_uri)
        self._poster = AssessmentPoster.for_client(self._client, timeout_s)
        self._io = ThreadPoolExecutor(io_workers, thread_name_prefix="mlflow-io")
        self._export_pool = ThreadPoolExecutor(export_workers, thread_name_prefix="mlflow-export")

    # --- lifecycle ---------------------------------------------------------------------

    async def _run(self, fn: Callable[[], T]) -> T:
        """Runs blocking `fn` in the I/O pool (the event loop never waits on MLflow)."""
        return await asyncio.get_running_loop().run_in_executor(self._io, fn)

    async def _call(self, fn: Callable[[], T], what: tuple[str, str] | None = None) -> T:
        """Runs one blocking MLflow call in the I/O pool; its failures are raised as
        domain errors (`calls.mlflow_call`: `what` names the resource for NotFound etc.)."""
        return await self._run(lambda: mlflow_call(fn, what))

    def close(self) -> None:
        """Releases the threads (an export still running finishes in the background; its
        trace stays recorded in the spool until MLflow confirmed it)."""
        self._export_pool.shutdown(wait=False, cancel_futures=True)
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

    def owns_trace(self, info: Any) -> bool:
        """Whether a trace (its `TraceInfo`) is in the service's experiment: traces of other
        experiments on the same tracking server are NOT_FOUND to every RPC, reads and writes.
        Call it once the experiment is resolved (`experiment_id()`)."""
        return info.experiment_id is not None and str(info.experiment_id) == self._experiment_id
