"""The review domain knows neither gRPC, protobuf, the generated stubs nor MLflow."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import importlib, pkgutil, sys
import feedback_server.domain.review as review
for module in pkgutil.iter_modules(review.__path__):
    importlib.import_module(f"{review.__name__}.{module.name}")
forbidden = ("grpc", "mlflow", "google.protobuf", "google.rpc", "feedback.v1")
print("\\n".join(sorted(n for n in sys.modules if n.startswith(forbidden))))
"""


def test_no_review_domain_module_imports_grpc_protobuf_stubs_or_mlflow() -> None:
    # A fresh interpreter: this test process has imported all of them already.
    loaded = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
