"""The serving process's side of the drain worker: the MLflow writes of the drainer and the
trace exporter, run in a supervised child process.

`DrainWorker` implements the drainer's `AssessmentWriter` and the exporter's
`TraceExports` by sending each write to the worker (protocol.py) and awaiting its answer.
Everything else stays here: the spool and its writer (acknowledgments, the drainer's
bookkeeping), the drainer's and exporter's scheduling, ordering, retries and metrics, and
the registry of this process's traces. Before a judgment goes to the worker, its trace is
resolved from the registry and its export awaited (trace before judgment), exactly as the
in-process `MlflowWriter` does.

The worker is started with the server and stopped after the drainer and the exporter
(stdin closed). If it dies, the writes it had not answered are answered `UNAVAILABLE`
(their entries stay pending and are retried, idempotently) and it is restarted after
`restart_delay_s`, doubling up to `max_restart_delay_s` while it keeps dying. It exits on
its own when this process dies (its stdin closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from ..domain.model import Judgment, WriteOutcome, WriteResult
from ..domain.traces import ExportOutcome, ExportResult, TraceRecord, TraceRegistry
from . import protocol

log = logging.getLogger("feedback_server.drain_worker")

#: A worker that ran this long before dying is restarted after the first delay again.
_STABLE_S = 60.0


class DrainWorker:
    """The supervised worker process (module docstring)."""

    def __init__(
        self,
        config: dict[str, Any],
        registry: TraceRegistry,
        *,
        restart_delay_s: float = 1.0,
        max_restart_delay_s: float = 30.0,
    ) -> None:
        self.config = config
        self.registry = registry
        self.restart_delay_s = restart_delay_s
        self.max_restart_delay_s = max_restart_delay_s
        self.restarts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._up = asyncio.Event()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        """Starts the worker and its supervision; returns once it runs."""
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="drain-worker")
            await self._up.wait()

    async def stop(self, grace_s: float = 5.0) -> None:
        """Closes the worker's stdin (call it once the drainer and the exporter stopped) and
        waits up to `grace_s` for it to exit, then kills it."""
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), max(grace_s, 0.1))
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        self._fail_pending("the drain worker stopped")

    # ------------------------------------------------------------------ the ports

    async def write(self, judgment: Judgment, trace_id_hint: str | None) -> WriteOutcome:
        """`AssessmentWriter.write` (domain/drainer.py), in the worker."""
        trace_id = trace_id_hint or judgment.target.trace_id
        if trace_id is None:
            trace_id = self.registry.trace_for(judgment.target.client_request_id or "")
        if trace_id is not None:
            # Feedback on a trace this process produced waits for its export.
            await self.registry.wait_exported(trace_id)
        known = trace_id is not None and self.registry.knows(trace_id)
        answer = await self._call(
            lambda rid: protocol.write_request(rid, judgment, trace_id, known)
        )
        if answer is None:
            return WriteOutcome(WriteResult.UNAVAILABLE, trace_id, "the drain worker is restarting")
        outcome = protocol.write_outcome(answer)
        if outcome.result is WriteResult.STORED and outcome.trace_id:
            self.registry.mark_verified(outcome.trace_id)
        return outcome

    async def export_trace(self, record: TraceRecord) -> ExportOutcome:
        """`TraceExports.export_trace` (domain/ports.py), in the worker."""
        answer = await self._call(lambda rid: protocol.export_request(rid, record))
        if answer is None:
            return ExportOutcome(ExportResult.UNAVAILABLE, "the drain worker is restarting")
        return protocol.export_outcome(answer)

    async def _call(self, request: Callable[[int], bytes]) -> dict[str, Any] | None:
        """Sends one request; its answer, or None when the worker is not running or died
        before answering."""
        proc = self._proc
        if proc is None or proc.returncode is not None or proc.stdin is None:
            return None
        self._next_id += 1
        rid = self._next_id
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            proc.stdin.write(request(rid))
            await proc.stdin.drain()
            return await fut
        except (ConnectionError, RuntimeError):  # the pipe closed under us
            return None
        finally:
            self._pending.pop(rid, None)

    # ------------------------------------------------------------------ supervision

    async def _supervise(self) -> None:
        delay = self.restart_delay_s
        while not self._stopping:
            started = time.monotonic()
            try:
                proc = await self._spawn()
            except OSError as exc:
                log.error("the drain worker could not be started: %s", exc)
            else:
                self._proc = proc
                self._up.set()
                reader = asyncio.create_task(self._read_answers(proc))
                code = await proc.wait()
                await reader
                self._fail_pending("the drain worker exited")
                if self._stopping:
                    return
                log.error("the drain worker exited (status %s); restarting it", code)
            self._up.set()  # start() returns even if the first spawn failed
            if time.monotonic() - started >= _STABLE_S:
                delay = self.restart_delay_s
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_restart_delay_s)
            self.restarts += 1

    async def _spawn(self) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "feedback_server.drain_worker",
            # In its environment, not on its command line (which any user can read): the
            # tracking URI may hold credentials.
            env={**os.environ, protocol.CONFIG_VARIABLE: json.dumps(self.config)},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=protocol.LINE_LIMIT,
        )
        log.info("drain worker started (pid %d)", proc.pid)
        return proc

    async def _read_answers(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            try:
                line = await proc.stdout.readline()
            except (ValueError, ConnectionError):  # an overlong line, a broken pipe
                log.exception("drain worker answer unreadable")
                break
            if not line:
                break
            try:
                answer = json.loads(line)
                pending = self._pending.get(int(answer["id"]))
            except (ValueError, KeyError, TypeError):
                log.error("drain worker answer malformed: %.200r", line)
                continue
            if pending is not None and not pending.done():
                pending.set_result(answer)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()  # unreadable answers: start over

    def _fail_pending(self, reason: str) -> None:
        for fut in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(ConnectionError(reason))
        self._pending.clear()
