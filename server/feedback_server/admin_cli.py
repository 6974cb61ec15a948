"""Admin CLI for the durable spool: inspect it, list and replay dead letters, salvage it.

    feedback-admin dead-letters list   [--data-dir DIR] [--json] [--limit N] [--offset N]
    feedback-admin dead-letters replay [--data-dir DIR] (--all | ID...)
    feedback-admin traces list         [--data-dir DIR] [--json] [--limit N] [--offset N]
    feedback-admin traces replay       [--data-dir DIR] (--all | TRACE_ID...)
    feedback-admin spool stats         [--data-dir DIR] [--json]
    feedback-admin spool check         [--data-dir DIR] [--json]
    feedback-admin spool salvage       [--data-dir DIR]

The spool is `<data dir>/spool.sqlite3`; the data dir defaults to
`$FEEDBACK_DATA_DIR`, else `./var/data`. Safe while the server runs (but `salvage`,
which needs it stopped): SQLite serializes the writers of both processes, and the
server picks replayed entries up at its next poll.

Exit status: 0 success, 1 some IDs given to `replay` were not dead letters or `check`
found problems, 2 usage error, no spool at that path, or the spool could not be opened.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

from prometheus_client import CollectorRegistry

from feedback_server.domain import spool_check
from feedback_server.domain.model import IngestionState
from feedback_server.domain.spool import SPOOL_FILENAME, Spool, SpoolEntry, TraceEntry
from feedback_server.metrics import SpoolMetrics

T = TypeVar("T")

DATA_DIR_ENV = "FEEDBACK_DATA_DIR"
DEFAULT_DATA_DIR = Path("var/data")


def default_data_dir() -> Path:
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value) if value else DEFAULT_DATA_DIR


def _iso(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def _entry_json(entry: SpoolEntry) -> dict[str, Any]:
    j = entry.judgment
    return {
        "assessment_id": j.assessment_id,
        "request_id": j.request_id,
        "kind": j.kind.value,
        "name": j.name,
        "trace_id": entry.trace_id,
        "client_request_id": j.target.client_request_id,
        "state": entry.state.value,
        "reason": entry.last_error,
        "attempts": entry.attempts,
        "acknowledged_at": _iso(entry.enqueued_ms),
        "dead_lettered_at": _iso(entry.updated_ms)
        if entry.state is IngestionState.DEAD_LETTERED
        else None,
    }


def _trace_json(entry: TraceEntry) -> dict[str, Any]:
    return {
        "trace_id": entry.trace_id,
        "client_request_id": entry.record.client_request_id,
        "state": entry.state,
        "reason": entry.last_error,
        "attempts": entry.attempts,
        "recorded_at": _iso(entry.recorded_ms),
    }


def _open(data_dir: Path) -> Spool:
    # A private registry: the CLI never touches the process-wide metrics.
    return Spool(
        data_dir / SPOOL_FILENAME,
        exclusive=False,
        metrics=SpoolMetrics(CollectorRegistry()),
    )


def _write_list(
    args: argparse.Namespace,
    out: TextIO,
    entries: Sequence[T],
    as_json: Callable[[T], dict[str, Any]],
    empty: str,
    line: Callable[[T], str],
) -> int:
    """A listing of dead letters: JSON with --json, else one entry per line (and its reason)."""
    if args.json:
        json.dump([as_json(e) for e in entries], out, indent=2)
        out.write("\n")
    else:
        out.writelines(map(line, entries) if entries else [f"{empty}\n"])
    return 0


async def _list_dead(args: argparse.Namespace, out: TextIO) -> int:
    async with _open(args.data_dir) as spool:
        entries = await spool.list_dead(limit=args.limit, offset=args.offset)

    def line(e: SpoolEntry) -> str:
        target = e.trace_id or f"client_request_id={e.judgment.target.client_request_id}"
        return (
            f"{e.assessment_id}  {e.judgment.name or '(unreadable)'}  {target}  "
            f"acknowledged {_iso(e.enqueued_ms)}  attempts {e.attempts}\n"
            f"    reason: {e.last_error or '-'}\n"
        )

    return _write_list(args, out, entries, _entry_json, "no dead letters", line)


async def _replay(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ids: list[str] = args.ids
    async with _open(args.data_dir) as spool:
        if args.all:
            moved = await spool.replay(None)
            out.write(f"replayed {moved} dead letters\n")
            return 0
        before = await spool.get(ids)
        moved = await spool.replay(ids)
    missing = [
        i for i in ids if i not in before or before[i].state is not IngestionState.DEAD_LETTERED
    ]
    out.write(f"replayed {moved} dead letters\n")
    if missing:
        err.write("not dead letters (unknown, pending or stored): " + " ".join(missing) + "\n")
        return 1
    return 0


async def _list_traces(args: argparse.Namespace, out: TextIO) -> int:
    async with _open(args.data_dir) as spool:
        entries = await spool.list_dead_traces(limit=args.limit, offset=args.offset)

    def line(e: TraceEntry) -> str:
        return (
            f"{e.trace_id}  client_request_id={e.record.client_request_id}  "
            f"recorded {_iso(e.recorded_ms)}  attempts {e.attempts}\n"
            f"    reason: {e.last_error or '-'}\n"
        )

    return _write_list(args, out, entries, _trace_json, "no dead-lettered traces", line)


async def _replay_traces(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    async with _open(args.data_dir) as spool:
        if args.all:
            moved = await spool.replay_traces(None)
        else:
            dead = {e.trace_id for e in await spool.list_dead_traces(limit=1_000_000)}
            moved = await spool.replay_traces(args.ids)
    out.write(f"replayed {moved} traces\n")
    missing = [] if args.all else [i for i in args.ids if i not in dead]
    if missing:
        err.write("not dead-lettered traces: " + " ".join(missing) + "\n")
        return 1
    return 0


def _check(args: argparse.Namespace, out: TextIO) -> int:
    report = spool_check.check(args.data_dir / SPOOL_FILENAME)
    if args.json:
        json.dump({**asdict(report), "healthy": report.healthy}, out, indent=2)
        out.write("\n")
    else:
        out.write(f"path                  {report.path}\n")
        out.write(f"integrity             {'; '.join(report.integrity)}\n")
        out.write(f"schema_version        {report.schema_version}\n")
        for state, count in sorted(report.counts.items()):
            out.write(f"judgments {state:<12}{count}\n")
        for state, count in sorted(report.traces.items()):
            out.write(f"traces {state:<15}{count}\n")
        out.write(f"unreadable_rows       {len(report.unreadable)}\n")
        for line in report.unreadable[:20]:
            out.write(f"    {line}\n")
        if not report.healthy and report.integrity != ["ok"]:
            out.write(
                f"the file is damaged: `feedback-admin spool salvage --data-dir {args.data_dir}` "
                "keeps what can be read (stop the server first)\n"
            )
    return 0 if report.healthy else 1


def _salvage(args: argparse.Namespace, out: TextIO) -> int:
    report = spool_check.salvage(args.data_dir / SPOOL_FILENAME)
    kept = ", ".join(f"{n} {state}" for state, n in sorted(report.kept.items())) or "none"
    out.write(
        f"kept judgments: {kept}; kept traces: {report.traces_kept}; rows that could not be "
        f"read: {report.unreadable}\nthe damaged file is now {report.damaged_copy}\n"
    )
    return 0


async def _stats(args: argparse.Namespace, out: TextIO) -> int:
    async with _open(args.data_dir) as spool:
        stats = await spool.stats()
    data = asdict(stats)
    data["oldest_pending_at"] = _iso(stats.oldest_pending_ms)
    if args.json:
        json.dump(data, out, indent=2)
        out.write("\n")
        return 0
    for key in (
        "path",
        "pending",
        "pending_keys",
        "due_now",
        "oldest_pending_at",
        "max_pending_attempts",
        "stored",
        "dead_lettered",
        "traces_pending",
        "traces_dead_lettered",
        "schema_version",
        "file_bytes",
    ):
        out.write(f"{key:<22}{data[key] if data[key] is not None else '-'}\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"folder holding {SPOOL_FILENAME} (default: ${DATA_DIR_ENV}, else ./var/data)",
    )
    parser = argparse.ArgumentParser(
        prog="feedback-admin",
        description="Inspect the feedback service's durable spool and replay dead letters.",
    )
    groups = parser.add_subparsers(dest="group", required=True)

    dead = groups.add_parser("dead-letters", help="judgments MLflow did not take")
    dead_cmds = dead.add_subparsers(dest="command", required=True)
    lst = dead_cmds.add_parser("list", parents=[common], help="list dead letters with reasons")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.add_argument("--limit", type=int, default=100)
    lst.add_argument("--offset", type=int, default=0)
    rep = dead_cmds.add_parser("replay", parents=[common], help="move dead letters back to pending")
    rep.add_argument("--all", action="store_true", help="replay every dead letter")
    rep.add_argument("ids", nargs="*", metavar="ID", help="assessment IDs to replay")

    traces = groups.add_parser("traces", help="chat traces MLflow did not take")
    trace_cmds = traces.add_subparsers(dest="command", required=True)
    tl = trace_cmds.add_parser("list", parents=[common], help="list dead-lettered traces")
    tl.add_argument("--json", action="store_true", help="machine-readable output")
    tl.add_argument("--limit", type=int, default=100)
    tl.add_argument("--offset", type=int, default=0)
    tr = trace_cmds.add_parser("replay", parents=[common], help="export dead-lettered traces again")
    tr.add_argument("--all", action="store_true", help="replay every dead-lettered trace")
    tr.add_argument("ids", nargs="*", metavar="TRACE_ID", help="trace IDs to replay")

    spool = groups.add_parser("spool", help="the spool itself")
    spool_cmds = spool.add_subparsers(dest="command", required=True)
    st = spool_cmds.add_parser("stats", parents=[common], help="depth, dead letters, size")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    ck = spool_cmds.add_parser("check", parents=[common], help="integrity and unreadable rows")
    ck.add_argument("--json", action="store_true", help="machine-readable output")
    spool_cmds.add_parser(
        "salvage", parents=[common], help="copy what can be read into a new spool (server stopped)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one admin command; returns the exit status (console script `feedback-admin`)."""
    out, err = sys.stdout, sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # usage error (2) or --help (0): argparse already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.data_dir is None:
        args.data_dir = default_data_dir()
    if args.command == "replay" and args.all == bool(args.ids):
        err.write(f"feedback-admin: {args.group} replay: give either --all or one or more IDs\n")
        return 2
    path: Path = args.data_dir / SPOOL_FILENAME
    if not path.is_file():
        err.write(f"no spool at {path} (set --data-dir or {DATA_DIR_ENV})\n")
        return 2
    commands = {
        ("dead-letters", "list"): lambda: asyncio.run(_list_dead(args, out)),
        ("dead-letters", "replay"): lambda: asyncio.run(_replay(args, out, err)),
        ("traces", "list"): lambda: asyncio.run(_list_traces(args, out)),
        ("traces", "replay"): lambda: asyncio.run(_replay_traces(args, out, err)),
        ("spool", "stats"): lambda: asyncio.run(_stats(args, out)),
        ("spool", "check"): lambda: _check(args, out),
        ("spool", "salvage"): lambda: _salvage(args, out),
    }
    try:
        return commands[(args.group, args.command)]()
    except Exception as exc:  # a readable message, not a stack trace
        err.write(f"feedback-admin: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
