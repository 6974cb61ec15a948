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
    # MLflow's OpenAI autologging works with mlflow-tracing alone: a turn's trace gets the
    # LLM span of a call to the fake OpenAI server (no MLflow server: nothing is sent).
    traced = subprocess.run(
        [str(python), "-c", _AUTOLOG_PROBE, str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert traced.split() == ["AsyncCompletions", "Chat", "openai:fake-model"]


_AUTOLOG_PROBE = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from testbed.fake_openai import FakeOpenAI
from testbed.ports import PortReservation
from feedback_server.backends import ChatTurn, OpenAICompatibleBackend
from feedback_server.mlflow_gateway import MlflowGateway, install

async def main():
    install(timeout_s=1, mlflow_threads=2, traces_in_memory=10)
    with FakeOpenAI() as fake, PortReservation() as closed:
        gateway = MlflowGateway(
            tracking_uri=f"http://127.0.0.1:{closed.port}", experiment_name="unused"
        )
        backend = OpenAICompatibleBackend(fake.base_url, "fake-model")
        turn = ChatTurn("hi", "req-1")
        trace = gateway.start_chat_trace(
            rpc="Chat", turn=turn, backend=backend.name, experiment_id="1"
        )
        stream = backend.stream(turn)
        while True:
            with trace.active():
                try:
                    await anext(stream)
                except StopAsyncIteration:
                    break
        record = trace.finish(response="Hello, world!")
        await backend.aclose()
        gateway.close()
    print(*sorted(s["name"] for s in json.loads(record.payload)["data"]["spans"]))

asyncio.run(main())
"""
