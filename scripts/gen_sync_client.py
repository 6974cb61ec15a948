"""Generates the sync Python client (`feedback_client/_sync/`) from the async one (`_async/`).

unasync drops `async` and `await`, renames ``AsyncName`` to ``SyncName`` (and the names in
RENAMES), and leaves strings and comments alone; ruff then sorts the imports and formats the
result. Run by scripts/gen_proto.sh (`make proto`); tests/test_generated_fresh.py proves the
checked-in files fresh. What cannot be written once is in `feedback_client/_flavour.py`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import unasync

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "clients" / "python" / "feedback_client"
SOURCE, OUT = PACKAGE / "_async", PACKAGE / "_sync"

#: Names that do not follow the ``AsyncName`` -> ``SyncName`` rule.
RENAMES = {
    "AsyncFeedbackClient": "FeedbackClient",
    "AsyncChatStream": "ChatStream",
    "AsyncChannel": "Channel",
    "aiter": "iter",
    "anext": "next",
}

HEADER = "# Generated from {source} by scripts/gen_sync_client.py (make proto): do not edit.\n"


def main() -> None:
    for stale in OUT.glob("*.py"):
        stale.unlink()
    sources = sorted(SOURCE.glob("*.py"))
    rule = unasync.Rule(f"/{SOURCE.name}/", f"/{OUT.name}/", additional_replacements=RENAMES)
    unasync.unasync_files([str(path) for path in sources], rules=[rule])
    for path in sources:
        out = OUT / path.name
        header = HEADER.format(source=path.relative_to(PACKAGE).as_posix())
        out.write_text(header + out.read_text())
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "check", "--quiet", "--fix", "--select", "I", str(OUT)], check=True)
    subprocess.run([*ruff, "format", "--quiet", str(OUT)], check=True)


if __name__ == "__main__":
    main()
