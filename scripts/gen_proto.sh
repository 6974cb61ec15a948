#!/usr/bin/env bash
# Generates the Python stubs (importable as feedback.v1) from proto/ alone, and the sync Python
# client from the async one (scripts/gen_sync_client.py).
# Other languages add their own generator scripts under scripts/gen_proto.d/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=clients/python
rm -f "$out"/feedback/v1/*_pb2*.py "$out"/feedback/v1/*_pb2*.pyi
python -m grpc_tools.protoc -I proto \
  --python_out="$out" --grpc_python_out="$out" \
  --mypy_out="$out" --mypy_grpc_out="$out" \
  proto/feedback/v1/*.proto
python scripts/gen_sync_client.py
for gen in scripts/gen_proto.d/*.sh; do
  [ -e "$gen" ] || continue
  bash "$gen"
done
