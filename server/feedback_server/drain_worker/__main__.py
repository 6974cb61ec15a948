"""The drain worker process: `python -m feedback_server.drain_worker`, its configuration
(JSON) in the environment variable `protocol.CONFIG_VARIABLE`.

Started by the serving process (client.py), never by hand. It reads requests from stdin
and answers on stdout (protocol.py), running them concurrently with the MLflow gateway and
the drainer's `MlflowWriter`; its logs go to stderr, beside the server's. It ignores
SIGINT and SIGTERM (the serving process decides when it stops) and exits as soon as stdin
closes: when the serving process stops it, or dies. A request it had not answered then is
simply not answered; every write is idempotent, so the serving process's next attempt
completes it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import sys
from typing import Any

from ..domain.model import Judgment, WriteOutcome, WriteResult
from ..domain.traces import ExportOutcome, ExportResult, TraceRegistry
from ..domain.writer import MlflowWriter
from ..logs import configure_logging
from ..mlflow_gateway import MlflowGateway
from ..mlflow_gateway import install as install_mlflow
from . import protocol

log = logging.getLogger("feedback_server.drain_worker")


class Worker:
    def __init__(self, config: dict[str, Any], out_fd: int) -> None:
        install_mlflow(
            timeout_s=config["timeout_s"],
            mlflow_threads=config["io_workers"] + config["export_workers"],
            traces_in_memory=16,  # it records no traces itself
        )
        self.gateway = MlflowGateway(
            tracking_uri=config["tracking_uri"],
            experiment_name=config["experiment_name"],
            timeout_s=config["timeout_s"],
            io_workers=config["io_workers"],
            export_workers=config["export_workers"],
        )
        # Traces the serving process knows are marked verified here per request; it waits
        # for their exports itself, so this registry never holds a pending export.
        self.registry = TraceRegistry()
        self.writer = MlflowWriter(self.gateway, self.registry)
        self._out = os.fdopen(out_fd, "wb", buffering=0)
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=protocol.LINE_LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        log.info("drain worker ready (pid %d)", os.getpid())
        while line := await reader.readline():
            task = asyncio.create_task(self._handle(json.loads(line)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: dict[str, Any]) -> None:
        outcome: WriteOutcome | ExportOutcome
        try:
            if message["op"] == "write":
                outcome = await self._write(message)
            else:
                outcome = await self.gateway.export_trace(protocol.record_of(message))
        except Exception as exc:  # answered as an outage: the serving process retries
            log.warning("drain worker request failed", exc_info=True)
            detail = f"worker error: {type(exc).__name__}"
            outcome = (
                WriteOutcome(WriteResult.UNAVAILABLE, None, detail)
                if message.get("op") == "write"
                else ExportOutcome(ExportResult.UNAVAILABLE, detail)
            )
        self._out.write(protocol.answer(message["id"], outcome))

    async def _write(self, message: dict[str, Any]) -> WriteOutcome:
        trace_id = message.get("trace_id")
        if trace_id and message.get("known"):
            self.registry.mark_verified(trace_id)
        return await self.writer.write(Judgment.from_json(message["judgment"]), trace_id)


def main() -> None:
    config = json.loads(os.environ.pop(protocol.CONFIG_VARIABLE))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    # Answers go to the original stdout alone; anything printed goes to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    configure_logging(config["log_level"], config["log_format"])
    worker = Worker(config, out_fd)
    gc.collect()
    gc.freeze()  # as the serving process does (app.freeze_startup_objects)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(worker.run())
    finally:
        # Stdin closed: exit now, without waiting for MLflow calls still in flight (not
        # `asyncio.run`, whose shutdown waits for every thread).
        logging.shutdown()
        os._exit(0)


if __name__ == "__main__":
    main()
