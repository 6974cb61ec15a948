"""The layers of docs/architecture.md: the domain (review included) knows neither gRPC,
protobuf, the generated stubs nor MLflow, and only `mlflow_gateway/` imports mlflow."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import feedback_server

SERVER = Path(feedback_server.__file__).parent

_PROBE = """
import importlib, pkgutil, sys
import feedback_server.domain as domain
for module in pkgutil.walk_packages(domain.__path__, f"{domain.__name__}."):
    importlib.import_module(module.name)
forbidden = ("grpc", "mlflow", "google.protobuf", "google.rpc", "feedback.v1")
print("\\n".join(sorted(n for n in sys.modules if n.startswith(forbidden))))
"""


def test_no_domain_module_imports_grpc_protobuf_stubs_or_mlflow() -> None:
    # A fresh interpreter: this test process has imported all of them already.
    loaded = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def _imports_mlflow(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "mlflow" or name.startswith("mlflow.") for name in names):
            return True
    return False


def test_only_the_mlflow_gateway_imports_mlflow() -> None:
    importers = {
        str(path.relative_to(SERVER)) for path in SERVER.rglob("*.py") if _imports_mlflow(path)
    }
    assert importers, "the probe found no import of mlflow at all"
    assert {name for name in importers if not name.startswith("mlflow_gateway/")} == set()
