"""The shipped web page is fresh, and its unit tests pass.

- `server/feedback_server/static/` (checked in, package data of the server wheel) is exactly
  what `make web` builds from `clients/web/`: the page is rebuilt (type check + Vite) into a
  temporary directory and compared byte for byte, including files that should not be there.
- The server's wheel carries that page (hatch takes every file of the package), so that an
  installed server serves it without Node.
- The page's unit tests (Vitest: the state machine, and its calls against an in-memory Connect
  server) pass.

The pinned toolchain is installed on first use into clients/web/node_modules (`npm ci`, under
a lock; about 10 s with a warm npm cache); afterwards the build takes about 4 s and the unit
tests about 2 s. A freshness failure means: run `make web` and commit what it changed.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "clients" / "web"
STATIC = ROOT / "server" / "feedback_server" / "static"
HINT = "run `make web` and commit everything it changed"

pytestmark = pytest.mark.e2e


def ensure_web_toolchain() -> None:
    """npm ci in clients/web when its node_modules is missing or stale (skip without npm,
    except in CI, where a missing toolchain is a failure)."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js and npm are missing in CI")
        pytest.skip("Node.js and npm are not installed")
    tools = ROOT / "scripts" / "polyglot" / "tools.sh"
    run(["bash", "-c", f"source {tools} && ensure_web_toolchain"], timeout=600)


def run(cmd: list[str], timeout: float) -> str:
    proc = subprocess.run(
        cmd, cwd=WEB, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = f"{proc.stdout[-8000:]}\n{proc.stderr[-8000:]}"
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{output}"
    return output


def _files(base: Path) -> dict[str, bytes]:
    return {
        path.relative_to(base).as_posix(): path.read_bytes()
        for path in sorted(base.rglob("*"))
        if path.is_file()
    }


def _differences(checked_in: dict[str, bytes], fresh: dict[str, bytes]) -> list[str]:
    problems = [f"{rel}: checked in, but no longer built" for rel in checked_in.keys() - fresh]
    problems += [f"{rel}: built, but not checked in" for rel in fresh.keys() - checked_in]
    for rel in sorted(checked_in.keys() & fresh.keys()):
        if checked_in[rel] == fresh[rel]:
            continue
        diff = difflib.unified_diff(
            checked_in[rel].decode(errors="replace").splitlines(),
            fresh[rel].decode(errors="replace").splitlines(),
            f"{rel} (checked in)",
            f"{rel} (fresh)",
            lineterm="",
            n=0,
        )
        problems.append("\n".join(line[:300] for line in list(diff)[:20]))
    return sorted(problems)


@pytest.mark.timeout(900)
def test_shipped_page_is_fresh(tmp_path: Path) -> None:
    ensure_web_toolchain()
    out = tmp_path / "static"
    run(["npm", "run", "--silent", "build", "--", "--outDir", str(out), "--emptyOutDir"], 300)
    fresh = _files(out)
    assert "index.html" in fresh, f"the build wrote no index.html: {sorted(fresh)}"
    problems = _differences(_files(STATIC), fresh)
    assert not problems, f"stale server/feedback_server/static ({HINT}):\n" + "\n".join(problems)


@pytest.mark.timeout(900)
def test_page_unit_tests_pass() -> None:
    ensure_web_toolchain()
    output = run(["npm", "run", "--silent", "test", "--", "--reporter=dot"], 300)
    assert " passed" in output, output


@pytest.mark.timeout(600)
def test_server_wheel_ships_the_page(tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv is not None, "uv is not installed (make install provides it)"
    proc = subprocess.run(
        [uv, "build", "--wheel", "--quiet", "--out-dir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=500,
        check=False,
    )
    assert proc.returncode == 0, f"uv build failed:\n{proc.stdout}\n{proc.stderr}"
    [wheel] = tmp_path.glob("feedback_server-*.whl")
    prefix = "feedback_server/static/"
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            name.removeprefix(prefix): archive.read(name)
            for name in archive.namelist()
            if name.startswith(prefix)
        }
    assert "index.html" in shipped, f"the wheel has no {prefix}index.html"
    assert shipped == _files(STATIC), _differences(_files(STATIC), shipped)
