"""Entry point of the `feedback-server` console script."""

from __future__ import annotations

import asyncio
import sys

from .settings import parse_args


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    from .app import serve  # imports MLflow; kept after argument parsing so --help is fast

    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
