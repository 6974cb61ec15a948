"""The server runs on the lightweight `mlflow-tracing` package alone (DESIGN §2): install
the server's runtime dependencies only, in a fresh virtualenv, and start it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_server_needs_only_mlflow_tracing(tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not installed (make install provides it)")
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "-e",
            str(ROOT / "clients" / "python"),
            "-e",
            str(ROOT),
        ],
        check=True,
        cwd=ROOT,
    )
    installed = subprocess.run(
        [uv, "pip", "list", "--python", str(python)], check=True, capture_output=True, text=True
    ).stdout
    names = {line.split()[0].lower() for line in installed.splitlines()[2:] if line.strip()}
    assert "mlflow-tracing" in names
    assert "mlflow" not in names and "mlflow-skinny" not in names
    # Importing the whole server (every module, MLflow gateway included) works, and
    # `--help` runs the real entry point.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    probe = (
        "import feedback_server.app, feedback_server.admin_cli, feedback_server.mlflow_gateway;"
        "print('ok')"
    )
    out = subprocess.run(
        [str(python), "-c", probe], check=True, capture_output=True, text=True, env=env
    )
    assert out.stdout.strip() == "ok"
    help_text = subprocess.run(
        [str(venv / "bin" / "feedback-server"), "--help"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert "--port" in help_text
