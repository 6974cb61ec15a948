"""Debian's Chromium for the browser tests, installed when missing (no browser download).

    path = ensure_chromium()   # /usr/bin/chromium (or $FEEDBACK_CHROMIUM), installed if needed

When the binary (or the emoji font that the page's 👍/👎 need in screenshots) is missing and we
are root, Debian's packages are installed with ``apt-get update && apt-get install -y chromium
fonts-noto-color-emoji`` under a file lock (several test processes may ask at once; apt itself
waits for the dpkg lock), as `testbed.postgres` does for PostgreSQL. The browser is
driven by Playwright (the npm package ``playwright-core``, which downloads no browser of its
own) with this binary as ``executablePath``: see ``clients/web/e2e/drive.mjs`` for the launch
flags.

Self-contained: standard library only, no other test-support module.

Command line:
    python -m testbed.chromium ensure   # install if missing, print the path and version
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["ChromiumError", "chromium_version", "ensure_chromium", "find_chromium"]

DEFAULT_PATH = Path("/usr/bin/chromium")
APT_PACKAGES = ("chromium", "fonts-noto-color-emoji")
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
APT_LOCK_PATH = Path(tempfile.gettempdir()) / "feedback-tests-apt-chromium.lock"
#: apt-get update + install of chromium and its libraries: about a minute on a fresh machine.
APT_TIMEOUT_S = 900.0


class ChromiumError(RuntimeError):
    """Chromium is missing and could not be installed (the message says why)."""


def find_chromium() -> Path | None:
    """The Chromium binary (``$FEEDBACK_CHROMIUM`` or /usr/bin/chromium), if it exists."""
    override = os.environ.get("FEEDBACK_CHROMIUM")
    path = Path(override) if override else DEFAULT_PATH
    return path if path.is_file() and os.access(path, os.X_OK) else None


def _apt(*args: str) -> None:
    cmd = ["apt-get", "-qq", "-o", "DPkg::Lock::Timeout=300", *args]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ChromiumError(f"`{' '.join(cmd)}` took over {APT_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0:
        raise ChromiumError(
            f"`{' '.join(cmd)}` failed with code {proc.returncode}:\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )


def ensure_chromium() -> Path:
    """Return the Chromium binary, installing Debian's package first when it is missing.

    Idempotent and safe to call from several processes at once.
    """
    found = find_chromium()
    if found is not None and (EMOJI_FONT.is_file() or os.geteuid() != 0):
        return found
    if found is None and os.environ.get("FEEDBACK_CHROMIUM"):
        raise ChromiumError(f"FEEDBACK_CHROMIUM={os.environ['FEEDBACK_CHROMIUM']}: not executable")
    if os.geteuid() != 0:
        raise ChromiumError(
            f"{DEFAULT_PATH} not found and not root, so it cannot be installed here. Install "
            f"it with `sudo apt-get install -y {' '.join(APT_PACKAGES)}`, or point "
            "FEEDBACK_CHROMIUM at a Chromium binary."
        )
    if shutil.which("apt-get") is None:
        raise ChromiumError(f"{DEFAULT_PATH} not found and apt-get is not available")
    with APT_LOCK_PATH.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = find_chromium()  # another process may have installed it meanwhile
        if found is not None and EMOJI_FONT.is_file():
            return found
        _apt("update")
        _apt("install", "-y", "--no-install-recommends", *APT_PACKAGES)
    found = find_chromium()
    if found is None:
        raise ChromiumError(f"apt-get installed {APT_PACKAGES[0]} but {DEFAULT_PATH} is missing")
    return found


def chromium_version(path: Path) -> str:
    """What ``chromium --version`` prints, such as ``Chromium 156.0.8078.73 ...``."""
    proc = subprocess.run(
        [str(path), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        raise ChromiumError(f"`{path} --version` failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout.strip()


def _main(argv: list[str]) -> int:
    if argv != ["ensure"]:
        print("usage: python -m testbed.chromium ensure", file=sys.stderr)
        return 2
    began = time.monotonic()
    path = ensure_chromium()
    took = time.monotonic() - began
    print(f"{path}: {chromium_version(path)} ({took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
