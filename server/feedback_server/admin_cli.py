"""Admin CLI for the durable spool: inspect it, list and replay dead letters.

    feedback-admin dead-letters list   [--data-dir DIR] [--json] [--limit N] [--offset N]
    feedback-admin dead-letters replay [--data-dir DIR] (--all | ID...)
    feedback-admin spool stats         [--data-dir DIR] [--json]

The spool is `<data dir>/spool.sqlite3`; the data dir defaults to
`$FEEDBACK_DATA_DIR`, else `./var/data`. Safe while the server runs: SQLite
serializes the writers of both processes, and the server's drainer picks
replayed entries up at its next poll.

Exit status: 0 success, 1 some IDs given to `replay` were not dead letters,
2 usage error or no spool at that path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from prometheus_client import CollectorRegistry

from feedback_server.domain.model import IngestionState
from feedback_server.domain.spool import SPOOL_FILENAME, Spool, SpoolEntry
from feedback_server.metrics import SpoolMetrics

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


def _open(data_dir: Path) -> Spool:
    # A private registry: the CLI never touches the process-wide metrics.
    return Spool(
        data_dir / SPOOL_FILENAME,
        exclusive=False,
        metrics=SpoolMetrics(CollectorRegistry()),
    )


async def _list_dead(args: argparse.Namespace, out: TextIO) -> int:
    async with _open(args.data_dir) as spool:
        entries = await spool.list_dead(limit=args.limit, offset=args.offset)
    if args.json:
        json.dump([_entry_json(e) for e in entries], out, indent=2)
        out.write("\n")
        return 0
    if not entries:
        out.write("no dead letters\n")
        return 0
    for e in entries:
        target = e.trace_id or f"client_request_id={e.judgment.target.client_request_id}"
        out.write(
            f"{e.assessment_id}  {e.judgment.name}  {target}  "
            f"acknowledged {_iso(e.enqueued_ms)}  attempts {e.attempts}\n"
            f"    reason: {e.last_error or '-'}\n"
        )
    return 0


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

    spool = groups.add_parser("spool", help="the spool itself")
    spool_cmds = spool.add_subparsers(dest="command", required=True)
    st = spool_cmds.add_parser("stats", parents=[common], help="depth, dead letters, size")
    st.add_argument("--json", action="store_true", help="machine-readable output")
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
    if args.group == "dead-letters" and args.command == "replay" and args.all == bool(args.ids):
        err.write("feedback-admin: dead-letters replay: give either --all or one or more IDs\n")
        return 2
    path: Path = args.data_dir / SPOOL_FILENAME
    if not path.is_file():
        err.write(f"no spool at {path} (set --data-dir or {DATA_DIR_ENV})\n")
        return 2
    try:
        if args.group == "dead-letters" and args.command == "list":
            return asyncio.run(_list_dead(args, out))
        if args.group == "dead-letters" and args.command == "replay":
            return asyncio.run(_replay(args, out, err))
        return asyncio.run(_stats(args, out))
    except Exception as exc:  # a readable message, not a stack trace
        err.write(f"feedback-admin: {type(exc).__name__}: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
