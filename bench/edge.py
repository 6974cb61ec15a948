"""The trusted edge's cost, and its resistance to oversized input.

- `secured`: LogFeedback through a server with mTLS and an end-user feedback token on every
  call (verified and checked against the request before it is decoded) against the same
  build in plaintext without any credential, same ghz settings, interleaved ABBA so that
  neither side gets the quieter half of the run. MLflow is stalled meanwhile (SIGSTOP):
  both sides measure the edge and the durable acknowledgment, not a drain running behind.
- `oversized`: the p99 of the standard health Check, offered at a steady rate, while four
  clients send LogFeedback with an oversized structured value as fast as they can, against
  the same Check alone. Two sizes: 900 KB (within the message limit, refused from its
  encoded size before any conversion) and 3.8 MB (past the message limit, refused by gRPC).
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from testbed.tls import Pki

from .common import CpuMeter, load_avg, log
from .ghz import run_ghz
from .ingestion import HEALTH_CHECK, LOG_FEEDBACK

USER = "bench-user"
CHECK_RPS = 200.0
HOSTILE_CLIENTS = 4
#: ABBA rounds (secured) and idle/loaded rounds (oversized); each side's figure is the
#: median of its runs, so that one noisy run on a shared machine does not decide it.
ROUNDS = 3
SIZES = (("900kb", 82_000), ("3800kb", 345_000))  # numbers in the list, ~11 bytes each


def one_turn(address: str, pki: Pki | None, credential: str = "") -> tuple[str, str]:
    """A chat turn of `USER`: its trace ID and its feedback token."""
    from feedback_client import FeedbackClient, TlsOptions

    tls = None if pki is None else TlsOptions(ca=pki.ca, cert=pki.client_cert, key=pki.client_key)
    metadata = [("authorization", f"Bearer {credential}")] if credential else []
    with FeedbackClient(address, tls=tls, timeout=60, metadata=metadata) as client:
        answer = client.chat("benchmark turn", user_id=USER)
        return answer.trace_id, answer.feedback_token


def secured(
    plain_port: int,
    secure_port: int,
    pki: Pki,
    protoset: Path,
    *,
    credential: str,
    seconds: float,
    stall_mlflow: Callable[[], AbstractContextManager[None]],
    meter: CpuMeter,
) -> dict[str, Any]:
    plain_trace, _ = one_turn(f"127.0.0.1:{plain_port}", None)
    secure_trace, token = one_turn(f"127.0.0.1:{secure_port}", pki, credential)
    assert token, "the secured server mints no feedback tokens"
    sides: dict[str, dict[str, Any]] = {
        "plain": {
            "port": plain_port,
            "data": _vote(plain_trace, USER),
            "kw": {},
        },
        "secured": {
            "port": secure_port,
            "data": _vote(secure_trace, ""),  # the token's user
            "kw": {
                "tls": (pki.ca, pki.client_cert, pki.client_key),
                "metadata": {"authorization": f"Bearer {token}"},
            },
        },
    }
    for side in sides.values():  # warm-up: connections, TLS sessions, the spool
        run_ghz(
            side["port"],
            LOG_FEEDBACK,
            data=side["data"],
            concurrency=16,
            duration_s=1.0,
            protoset=protoset,
            **side["kw"],
        )
    runs: dict[str, list[dict[str, Any]]] = {"plain": [], "secured": []}
    with stall_mlflow():
        for name in ROUNDS * ("plain", "secured", "secured", "plain"):
            side = sides[name]
            meter.start()
            result = run_ghz(
                side["port"],
                LOG_FEEDBACK,
                data=side["data"],
                concurrency=16,
                duration_s=seconds,
                protoset=protoset,
                **side["kw"],
            )
            result["cpu"] = meter.stop()
            if result["errors"]:
                raise RuntimeError(f"{name}: LogFeedback failed: {result['errors']}")
            runs[name].append(result)
            log(f"edge {name}: {result['rps']:.0f}/s, p99 {result['p99_ms']:.1f} ms")
    rps = {n: statistics.median(r["rps"] for r in rs) for n, rs in runs.items()}
    p99 = {n: statistics.median(r["p99_ms"] for r in rs) for n, rs in runs.items()}
    return {
        "runs": runs,
        "load_avg": load_avg(),
        "figures": {
            "rps_ratio": round(rps["secured"] / rps["plain"], 3),
            "p99_ratio": round(p99["plain"] / p99["secured"], 3),
            "plain_rps": round(rps["plain"], 1),
            "secured_rps": round(rps["secured"], 1),
            "plain_p99_ms": round(p99["plain"], 2),
            "secured_p99_ms": round(p99["secured"], 2),
        },
    }


def _vote(trace_id: str, source_id: str) -> dict[str, Any]:
    source = {"type": "SOURCE_TYPE_HUMAN", "id": source_id} if source_id else {}
    return {
        "target": {"traceId": trace_id},
        "name": "user_feedback",
        "value": {"boolean": True},
        "source": source,
    }


def oversized(port: int, protoset: Path, *, seconds: float, meter: CpuMeter) -> dict[str, Any]:
    trace_id, _ = one_turn(f"127.0.0.1:{port}", None)

    def check() -> dict[str, Any]:
        return run_ghz(
            port,
            HEALTH_CHECK,
            data={},
            concurrency=2,
            duration_s=seconds,
            protoset=protoset,
            rps=CHECK_RPS,
        )

    def under_flood(numbers: int) -> dict[str, Any]:
        data = {"target": {"traceId": trace_id}, "value": {"structured": list(range(numbers))}}
        hostile: dict[str, Any] = {}

        def flood() -> None:
            hostile.update(
                run_ghz(
                    port,
                    LOG_FEEDBACK,
                    data=data,
                    concurrency=HOSTILE_CLIENTS,
                    connections=HOSTILE_CLIENTS,
                    duration_s=seconds + 2.0,
                    protoset=protoset,
                )
            )

        flooder = threading.Thread(target=flood)
        flooder.start()
        threading.Event().wait(1.0)  # the flood is under way
        meter.start()
        result = check()
        result["cpu"] = meter.stop()
        flooder.join()
        result["hostile"] = {k: hostile.get(k) for k in ("rps", "errors", "ok")}
        return result

    check()  # warm-up
    idle: list[dict[str, Any]] = []
    loaded: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in SIZES}
    for _ in range(ROUNDS):
        idle.append(check())
        for label, numbers in SIZES:
            result = under_flood(numbers)
            loaded[label].append(result)
            log(
                f"oversized {label}: Check p99 {result['p99_ms']:.2f} ms (idle "
                f"{idle[-1]['p99_ms']:.2f} ms); hostile calls {result['hostile']['errors']}"
            )
    idle_p99 = statistics.median(r["p99_ms"] for r in idle)
    p99 = {label: statistics.median(r["p99_ms"] for r in runs) for label, runs in loaded.items()}
    return {
        "idle": idle,
        "loaded": loaded,
        "load_avg": load_avg(),
        "figures": {
            "check_p99_ms_idle": idle_p99,
            **{f"check_p99_ms_{label}": value for label, value in p99.items()},
            **{
                f"check_p99_ratio_{label}": round(value / idle_p99, 2)
                for label, value in p99.items()
            },
        },
    }
