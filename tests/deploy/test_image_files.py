"""The image's files: what deploy/Containerfile promises (checked on its text, as no engine
runs the tests), that it agrees with the chart and the server's settings, and the build
context and engine choice of deploy/image.sh."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO, values_yaml

CONTAINERFILE = REPO / "deploy" / "Containerfile"
IMAGE_SH = REPO / "deploy" / "image.sh"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for word, rest in instructions():
        if word == "FROM":
            current = rest.split(" AS ")[-1].strip() if " AS " in rest else rest
            out[current] = []
        elif current:
            out[current].append((word, rest))
    return out


def test_multi_stage_on_a_slim_python_base() -> None:
    base = next(rest for word, rest in instructions() if word == "ARG")
    assert re.fullmatch(r"PYTHON_BASE=docker\.io/library/python:3\.\d+-slim-\w+", base)
    froms = [rest for word, rest in instructions() if word == "FROM"]
    assert froms == ["${PYTHON_BASE} AS build", "${PYTHON_BASE} AS runtime"]
    runtime = stages()["runtime"]
    copies = [rest for word, rest in runtime if word == "COPY"]
    # The runtime gets the built virtualenv only: no sources, no build tools, no pip.
    assert copies == ["--from=build /opt/feedback /opt/feedback"]
    build_runs = " ".join(rest for word, rest in stages()["build"] if word == "RUN")
    assert "pip uninstall" in build_runs and "compileall" in build_runs


def test_runs_as_an_unprivileged_user_under_tini() -> None:
    runtime = dict(stages()["runtime"])
    user = runtime["USER"]
    assert user.split(":")[0] == str(values_yaml()["podSecurityContext"]["runAsUser"]) != "0"
    entrypoint = runtime["ENTRYPOINT"]
    assert entrypoint.startswith('["/usr/bin/tini", "--", "feedback-server"')
    assert "tini" in runtime["RUN"]


def test_read_only_root_with_the_spool_on_a_volume() -> None:
    runtime = stages()["runtime"]
    env = dict(
        item.split("=", 1) for word, rest in runtime if word == "ENV" for item in shlex.split(rest)
    )
    volumes = [rest for word, rest in runtime if word == "VOLUME"]
    assert volumes == ['["/var/lib/feedback"]']
    assert env["FEEDBACK_DATA_DIR"] == "/var/lib/feedback"
    # Nothing else is written: no bytecode at run time, HOME on /tmp (an emptyDir in the chart).
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["HOME"] == "/tmp"
    assert env["FEEDBACK_SERVER_HOST"] == "0.0.0.0"


def test_exposes_the_grpc_http_and_metrics_ports_the_chart_uses() -> None:
    exposed = {
        int(p) for word, rest in stages()["runtime"] if word == "EXPOSE" for p in rest.split()
    }
    server = values_yaml()["server"]
    assert exposed == {server["grpcPort"], server["httpPort"], server["metricsPort"]}


def test_build_context_holds_what_the_containerfile_copies(tmp_path: Path) -> None:
    context = tmp_path / "context"
    subprocess.run(["bash", str(IMAGE_SH), "context", str(context)], check=True, cwd=tmp_path)
    for word, rest in instructions():
        if word == "COPY" and not rest.startswith("--from"):
            source = rest.split()[0]
            assert (context / source).exists(), f"COPY {source}: not in the build context"
    assert (context / "server" / "feedback_server" / "__main__.py").is_file()
    assert (context / "clients" / "python" / "feedback" / "v1").is_dir()
    # Only those: no virtualenv, no var/, no tests.
    assert sorted(p.name for p in context.iterdir()) == [
        "README.md",
        "clients",
        "deploy",
        "pyproject.toml",
        "server",
    ]
    assert not list(context.rglob("__pycache__"))


def fake_engines(tmp_path: Path, script: str, *names: str) -> Path:
    """A bin folder with `dirname` and fakes of the engines, each running `script`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dirname").symlink_to(shutil.which("dirname") or "/usr/bin/dirname")
    for name in names:
        (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / name).chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("engines", [(), ("podman", "docker")])
def test_image_build_says_clearly_when_no_engine_works(
    tmp_path: Path, engines: tuple[str, ...]
) -> None:
    """No engine on PATH, or clients whose `info` fails (a docker client without a daemon)."""
    bin_dir = fake_engines(tmp_path, "echo 'Cannot connect to the daemon' >&2; exit 1", *engines)
    out = subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(IMAGE_SH), "build"],
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir), "IMAGE_CONTEXT": str(tmp_path / "context")},
    )
    assert out.returncode == 1
    assert "no container engine works here" in out.stderr
    assert "deploy/build-local-image.sh" in out.stderr
    assert not (tmp_path / "context").exists()


def test_image_build_uses_the_engine_that_works(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    bin_dir = fake_engines(tmp_path, f'echo "$@" >> {log}', "docker")
    context = tmp_path / "context"
    out = subprocess.run(
        ["bash", str(IMAGE_SH), "build", "--pull"],
        capture_output=True,
        text=True,
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "ENGINE": "docker",
            "IMAGE_CONTEXT": str(context),
        },
    )
    assert out.returncode == 0, out.stderr
    info, build = log.read_text().splitlines()
    assert info == "info"
    assert build.split() == [
        "build",
        "-f",
        f"{context}/deploy/Containerfile",
        "-t",
        "localhost/feedback-server:dev",
        "--pull",
        str(context),
    ]
    assert (context / "deploy" / "Containerfile").is_file()
