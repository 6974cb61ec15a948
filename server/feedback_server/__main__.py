"""Entry point of the `feedback-server` console script."""

from __future__ import annotations

import asyncio
import sys

from .settings import parse_args


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    from .app import serve  # imports MLflow; kept after argument parsing so --help is fast
    from .domain.spool import SpoolOpenError

    try:
        asyncio.run(serve(settings))
    except SpoolOpenError as exc:  # one line naming the file and what to do, no traceback
        print(f"feedback-server: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
