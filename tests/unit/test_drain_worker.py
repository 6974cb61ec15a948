"""The drain worker process (feedback_server/drain_worker): answers, supervision, its exit
with the serving process, and trace-before-judgment ordering, against a real child process
and a tracking server that accepts connections and never answers (or refuses them)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import feedback_server
import pytest
from feedback_server.domain.model import WriteResult
from feedback_server.domain.traces import ExportResult, TraceRecord, TraceRegistry
from feedback_server.drain_worker import DrainWorker

from testbed.poll import poll_async
from tests.unit.test_spool import TRACE, judgment

pytestmark = pytest.mark.timeout(120)


def _config(port: int) -> dict[str, Any]:
    return {
        "tracking_uri": f"http://127.0.0.1:{port}",
        "experiment_name": "drain-worker-test",
        "timeout_s": 1.0,
        "io_workers": 2,
        "export_workers": 1,
        "log_level": "WARNING",
        "log_format": "text",
    }


@pytest.fixture
def silent_port() -> Any:
    """A port that accepts connections and never answers (a hung MLflow)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def refused_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@pytest.fixture
async def worker(refused_port: int) -> AsyncIterator[DrainWorker]:
    w = DrainWorker(_config(refused_port), TraceRegistry(), restart_delay_s=0.2)
    await w.start()
    yield w
    await w.stop(2.0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_writes_and_exports_are_answered_by_the_worker(worker: DrainWorker) -> None:
    # MLflow refuses connections: both are outages, answered by the worker's gateway.
    outcome = await worker.write(judgment("w1"), None)
    assert outcome.result is WriteResult.UNAVAILABLE
    assert outcome.detail and "restarting" not in outcome.detail
    export = await worker.export_trace(TraceRecord(TRACE, "crid", "{}"))
    assert export.result in (ExportResult.UNAVAILABLE, ExportResult.REJECTED)
    assert "restarting" not in export.detail


async def test_a_dead_worker_fails_its_calls_and_is_restarted(silent_port: int) -> None:
    w = DrainWorker(_config(silent_port), TraceRegistry(), restart_delay_s=0.2)
    await w.start()
    try:
        first = w.pid
        assert first is not None
        pending = asyncio.ensure_future(w.write(judgment("w2"), TRACE))
        await asyncio.sleep(0.5)  # in flight: the "MLflow" never answers
        assert not pending.done()
        os.kill(first, signal.SIGKILL)
        outcome = await asyncio.wait_for(pending, 10)
        assert outcome.result is WriteResult.UNAVAILABLE  # retried later by the drainer
        assert await poll_async(lambda: w.restarts == 1 and w.pid not in (None, first), 20)
        # The new worker answers (here: after the gateway's 1 s timeout, as an outage).
        again = await asyncio.wait_for(w.write(judgment("w3"), TRACE), 30)
        assert again.result is WriteResult.UNAVAILABLE
        assert "restarting" not in again.detail and "exited" not in again.detail
    finally:
        await w.stop(2.0)
    assert w.pid is not None and not _alive(w.pid)


async def test_a_judgment_waits_for_the_export_of_its_trace(worker: DrainWorker) -> None:
    worker.registry.register(TRACE, "crid-1")
    by_trace = asyncio.ensure_future(worker.write(judgment("w4"), None))
    by_crid = asyncio.ensure_future(worker.write(judgment("w5", None, crid="crid-1"), None))
    await asyncio.sleep(0.5)
    assert not by_trace.done() and not by_crid.done()
    worker.registry.settle(TRACE, exported=True)
    outcomes = await asyncio.wait_for(asyncio.gather(by_trace, by_crid), 30)
    assert [o.trace_id for o in outcomes] == [TRACE, TRACE]


_PARENT = textwrap.dedent(
    """
    import asyncio, sys, time
    from feedback_server.domain.traces import TraceRegistry
    from feedback_server.drain_worker import DrainWorker
    from tests.unit.test_drain_worker import _config

    async def main():
        w = DrainWorker(_config(int(sys.argv[1])), TraceRegistry())
        await w.start()
        print(w.pid, flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
    """
)


async def test_the_worker_exits_when_the_serving_process_dies(refused_port: int) -> None:
    root = Path(feedback_server.__file__).resolve().parents[2]
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    )
    parent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _PARENT,
        str(refused_port),
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=root,
    )
    assert parent.stdout is not None
    try:
        child = int(await asyncio.wait_for(parent.stdout.readline(), 60))
    finally:
        parent.kill()  # SIGKILL: no shutdown code runs
        await parent.wait()
    assert await poll_async(lambda: not _alive(child), 15), "the drain worker outlived its parent"
