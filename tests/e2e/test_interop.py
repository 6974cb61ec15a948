"""`make interop` as a test: the Go, TypeScript and Java seed-flow examples against a real
MLflow server and the Python feedback server, with every judgment checked in MLflow.

It runs scripts/polyglot/interop.py as a subprocess (the same command as `make interop`),
against the session's shared MLflow server (the `mlflow_sqlite` fixture) rather than a
private one, to spare a server start.
On a fresh machine the first run downloads the Go modules, npm packages and Maven artifacts
(cached afterwards in the Go caches, clients/ts/node_modules and ~/.m2).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.mlflow_server import MlflowServer

ROOT = Path(__file__).resolve().parents[2]
TOOLCHAINS = ("go", "npm", "node", "mvn", "java")

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(2400)
def test_every_language_interoperates_through_mlflow(mlflow_sqlite: MlflowServer) -> None:
    missing = [tool for tool in TOOLCHAINS if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"toolchains missing in CI: {missing}")
        pytest.skip(f"toolchains not installed: {missing}")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "FEEDBACK_ADDR"):
        env.pop(name, None)
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "polyglot" / "interop.py"),
            "--tracking-uri",
            mlflow_sqlite.url,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=2300,
        check=False,
    )
    output = proc.stdout[-12000:] + "\n--- stderr\n" + proc.stderr[-4000:]
    assert proc.returncode == 0, output
    assert "interop: 3 passed, 0 failed" in proc.stdout, output
