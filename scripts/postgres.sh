#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, with no manual steps on Debian 12.
#
#   scripts/postgres.sh ensure   install Debian's `postgresql` package if its server binaries
#                                are missing (as root; idempotent, quiet)
#   scripts/postgres.sh run      start a fresh cluster in a temporary directory, listening on
#                                a Unix socket there only (no TCP port), print its SQLAlchemy
#                                URI on stdout, and stop it (and delete the directory) on
#                                Ctrl-C / SIGTERM
#
# Example: an MLflow server on PostgreSQL, by hand:
#   scripts/postgres.sh run > /tmp/pg.uri &  sleep 5
#   .venv/bin/mlflow server --backend-store-uri "$(cat /tmp/pg.uri)" --port 5001 --workers 1
#
# The logic lives in testbed/postgres.py (`PostgresServer`, used by the test fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [[ ! -x $PY ]]; then PY=python3; fi
exec "$PY" -m testbed.postgres "$@"
