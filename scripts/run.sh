#!/usr/bin/env bash
# `make run`: an MLflow tracking server (SQLite, 127.0.0.1) plus the feedback server against it.
#
# Environment (all optional):
#   MLFLOW_PORT              MLflow tracking server / UI port           (default 5000)
#   FEEDBACK_SERVER_PORT     gRPC port of the feedback server           (default 50051)
#   FEEDBACK_SERVER_HOST     listen address of both ports               (default 127.0.0.1)
#   FEEDBACK_HTTP_PORT       HTTP port: the web page at /, Connect and gRPC-Web (default 8080;
#                            0 turns it off)
#   FEEDBACK_TOKEN_SECRET_FILE  the feedback-token signing secret        (default: one made on
#                            first use in $FEEDBACK_VAR_DIR/token-secret, so the page's votes
#                            carry real end-user tokens)
#   MLFLOW_EXPERIMENT_NAME   experiment the chat turns are traced into  (default feedback-service)
#   FEEDBACK_VAR_DIR         state folder                               (default ./var)
#                              MLflow store, artifacts and log: $FEEDBACK_VAR_DIR/mlflow/
#   FEEDBACK_DATA_DIR        the feedback server's durable spool        (default $FEEDBACK_VAR_DIR/data)
#   MLFLOW_STARTUP_TIMEOUT   seconds to wait for MLflow's /health       (default 300; it takes
#                            20-40 s on an idle 2-core machine, over 100 s on a loaded one)
#   MLFLOW_SERVER_ENABLE_JOB_EXECUTION
#                            MLflow's background job runner (LLM judges, scheduled scorers;
#                            seven extra processes, ~2 GB of memory)    (default false)
# Every other FEEDBACK_* variable reaches the feedback server unchanged (README: Configuration).
#
# Ctrl-C or SIGTERM stops both: the feedback server first (SIGTERM; no mesh to wait for
# here, so FEEDBACK_SHUTDOWN_DELAY_S defaults to 0; it drains, killed after
# FEEDBACK_RUN_STOP_TIMEOUT=30 s), then MLflow. A second Ctrl-C kills both at once.
# The exit status is the feedback server's (0 after a clean shutdown).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
PY=$BIN/python
MLFLOW_PORT=${MLFLOW_PORT:-5000}
FEEDBACK_SERVER_PORT=${FEEDBACK_SERVER_PORT:-50051}
FEEDBACK_SERVER_HOST=${FEEDBACK_SERVER_HOST:-127.0.0.1}
FEEDBACK_HTTP_PORT=${FEEDBACK_HTTP_PORT:-8080}
MLFLOW_EXPERIMENT_NAME=${MLFLOW_EXPERIMENT_NAME:-feedback-service}
VAR_DIR=${FEEDBACK_VAR_DIR:-./var}
FEEDBACK_DATA_DIR=${FEEDBACK_DATA_DIR:-$VAR_DIR/data}
MLFLOW_STARTUP_TIMEOUT=${MLFLOW_STARTUP_TIMEOUT:-300}
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}
STOP_TIMEOUT=${FEEDBACK_RUN_STOP_TIMEOUT:-30}

say() { printf '[run] %s\n' "$*" >&2; }
die() { printf '[run] error: %s\n' "$*" >&2; exit 1; }

for exe in "$PY" "$BIN/mlflow" "$BIN/feedback-server"; do
  [[ -x $exe ]] || die "$exe is missing; run \`make install\` first"
done
for name in MLFLOW_PORT FEEDBACK_SERVER_PORT; do
  [[ ${!name} =~ ^[0-9]+$ ]] && ((${!name} > 0 && ${!name} < 65536)) \
    || die "$name=${!name} is not a port number"
done
[[ $FEEDBACK_HTTP_PORT =~ ^[0-9]+$ ]] && ((FEEDBACK_HTTP_PORT < 65536)) \
  || die "FEEDBACK_HTTP_PORT=$FEEDBACK_HTTP_PORT is not a port number (0 turns it off)"

# A clear message instead of a stack trace when a port is taken.
port_busy() { # host port -> 0 when something already listens there
  "$PY" - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(0)
sys.exit(1)
EOF
}
check_port() { # host port variable
  if port_busy "$1" "$2"; then
    die "port $2 on $1 is already in use (set $3 to a free port, or stop whatever listens there: ss -ltnp 'sport = :$2')"
  fi
}
check_port 127.0.0.1 "$MLFLOW_PORT" MLFLOW_PORT
check_port "$FEEDBACK_SERVER_HOST" "$FEEDBACK_SERVER_PORT" FEEDBACK_SERVER_PORT
if ((FEEDBACK_HTTP_PORT != 0)); then
  check_port "$FEEDBACK_SERVER_HOST" "$FEEDBACK_HTTP_PORT" FEEDBACK_HTTP_PORT
fi
if [[ -n ${FEEDBACK_METRICS_PORT:-} && ${FEEDBACK_METRICS_PORT} != 0 ]]; then
  check_port "$FEEDBACK_SERVER_HOST" "$FEEDBACK_METRICS_PORT" FEEDBACK_METRICS_PORT
elif [[ -z ${FEEDBACK_METRICS_PORT:-} ]] && port_busy "$FEEDBACK_SERVER_HOST" 9464; then
  die "port 9464 (the default Prometheus metrics port) on $FEEDBACK_SERVER_HOST is already in use (set FEEDBACK_METRICS_PORT to a free port, or 0 to turn metrics off)"
fi

MLFLOW_DIR=$VAR_DIR/mlflow
mkdir -p "$MLFLOW_DIR/artifacts" "$FEEDBACK_DATA_DIR"
MLFLOW_DIR=$(cd "$MLFLOW_DIR" && pwd)
FEEDBACK_DATA_DIR=$(cd "$FEEDBACK_DATA_DIR" && pwd)
MLFLOW_LOG=$MLFLOW_DIR/mlflow.log

# The feedback-token signing secret: made once, kept with the rest of the state (so tokens
# of earlier answers stay valid across restarts), readable by this user only.
if [[ -z ${FEEDBACK_TOKEN_SECRET:-} && -z ${FEEDBACK_TOKEN_SECRET_FILE:-} ]]; then
  FEEDBACK_TOKEN_SECRET_FILE=$(cd "$VAR_DIR" && pwd)/token-secret
  if [[ ! -s $FEEDBACK_TOKEN_SECRET_FILE ]]; then
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_hex(32))' >"$FEEDBACK_TOKEN_SECRET_FILE")
  fi
  export FEEDBACK_TOKEN_SECRET_FILE
fi
MLFLOW_URL=http://127.0.0.1:$MLFLOW_PORT

MLFLOW_PID=
SERVER_PID=
SERVER_STATUS=0

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

wait_gone() { # pid timeout_s -> 0 when the process is gone in time
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

stop_server() {
  if alive "$SERVER_PID"; then
    say "stopping the feedback server (SIGTERM, draining) ..."
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    if ! wait_gone "$SERVER_PID" "$STOP_TIMEOUT"; then
      say "the feedback server did not stop within ${STOP_TIMEOUT}s; killing it"
      kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    fi
  fi
  if [[ -n $SERVER_PID ]]; then
    wait "$SERVER_PID" 2>/dev/null && SERVER_STATUS=0 || SERVER_STATUS=$?
    SERVER_PID=
    say "the feedback server exited with status $SERVER_STATUS"
  fi
}

stop_mlflow() {
  # MLflow runs in its own process group (setsid): its uvicorn child goes with it.
  if [[ -n $MLFLOW_PID ]]; then
    if alive "$MLFLOW_PID"; then
      say "stopping MLflow ..."
      kill -TERM -- "-$MLFLOW_PID" 2>/dev/null || true
      if wait_gone "$MLFLOW_PID" 30; then
        say "MLflow stopped"
      else
        say "MLflow did not stop within 30s; killing it"
      fi
    fi
    kill -KILL -- "-$MLFLOW_PID" 2>/dev/null || true
    wait "$MLFLOW_PID" 2>/dev/null || true
    MLFLOW_PID=
  fi
}

force_stop() {
  trap - INT TERM EXIT
  say "second signal: killing both"
  [[ -n $SERVER_PID ]] && kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  [[ -n $MLFLOW_PID ]] && kill -KILL -- "-$MLFLOW_PID" 2>/dev/null || true
  exit 130
}

cleanup() {
  trap - EXIT
  trap force_stop INT TERM
  stop_server
  stop_mlflow
  trap - INT TERM
}

on_signal() {
  say "$1 received"
  cleanup
  say "stopped"
  exit "$SERVER_STATUS"
}
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap cleanup EXIT

# ---- MLflow tracking server -------------------------------------------------------------
say "starting MLflow on $MLFLOW_URL (store $MLFLOW_DIR/mlflow.db, log $MLFLOW_LOG) ..."
printf '\n===== %s: mlflow server on 127.0.0.1:%s =====\n' "$(date -Is)" "$MLFLOW_PORT" >>"$MLFLOW_LOG"
# setsid: its own process group, so a terminal's Ctrl-C reaches this script only and the
# shutdown order stays ours. The feedback server's variables are not the tracking server's.
env -u MLFLOW_TRACKING_URI -u MLFLOW_EXPERIMENT_ID -u MLFLOW_EXPERIMENT_NAME \
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION="$MLFLOW_SERVER_ENABLE_JOB_EXECUTION" PYTHONUNBUFFERED=1 \
  setsid "$BIN/mlflow" server \
  --host 127.0.0.1 --port "$MLFLOW_PORT" \
  --backend-store-uri "sqlite:///$MLFLOW_DIR/mlflow.db" \
  --serve-artifacts --artifacts-destination "$MLFLOW_DIR/artifacts" \
  --workers 1 \
  </dev/null >>"$MLFLOW_LOG" 2>&1 &
MLFLOW_PID=$!
say "MLflow pid $MLFLOW_PID"

started=$SECONDS
until "$PY" - "$MLFLOW_URL/health" <<'EOF'
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(sys.argv[1], timeout=2) as resp:
        sys.exit(0 if resp.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
do
  if ! alive "$MLFLOW_PID"; then
    tail -n 40 "$MLFLOW_LOG" >&2 || true
    die "MLflow exited during startup (log: $MLFLOW_LOG)"
  fi
  if ((SECONDS - started > MLFLOW_STARTUP_TIMEOUT)); then
    tail -n 40 "$MLFLOW_LOG" >&2 || true
    die "MLflow did not answer $MLFLOW_URL/health within ${MLFLOW_STARTUP_TIMEOUT}s (log: $MLFLOW_LOG)"
  fi
  sleep 0.5
done
say "MLflow is up after $((SECONDS - started))s"

# ---- the feedback server ----------------------------------------------------------------
GRPC_ADDR=$FEEDBACK_SERVER_HOST:$FEEDBACK_SERVER_PORT
if ((FEEDBACK_HTTP_PORT != 0)); then
  WEB_LINE="  Web page (ask, then rate with 👍/👎):     http://$FEEDBACK_SERVER_HOST:$FEEDBACK_HTTP_PORT/   (Connect and gRPC-Web on the same port)"
else
  WEB_LINE="  Web page: off (FEEDBACK_HTTP_PORT=0)"
fi
cat >&2 <<EOF

  Feedback service (gRPC, reflection on):  $GRPC_ADDR
$WEB_LINE
  MLflow UI:                               $MLFLOW_URL   (experiment "$MLFLOW_EXPERIMENT_NAME")

  Try it with grpcurl:
    grpcurl -plaintext -d '{"message":"What is MLflow?"}' $GRPC_ADDR feedback.v1.ChatService/Chat
    grpcurl -plaintext -d '{"target":{"trace_id":"tr-..."},"value":{"boolean":true}}' \\
      $GRPC_ADDR feedback.v1.FeedbackService/LogFeedback

  Or with the Python client (.venv/bin/python):
    from feedback_client import FeedbackClient
    with FeedbackClient("$GRPC_ADDR") as client:
        answer = client.chat("What is MLflow?", user_id="enduser_123")
        client.thumbs_up(answer.trace_id, user_id="enduser_123")

  State: $VAR_DIR (MLflow store and log in $MLFLOW_DIR, spool in $FEEDBACK_DATA_DIR)
  Ctrl-C stops both.

EOF

MLFLOW_TRACKING_URI=$MLFLOW_URL \
  MLFLOW_EXPERIMENT_NAME=$MLFLOW_EXPERIMENT_NAME \
  FEEDBACK_SERVER_HOST=$FEEDBACK_SERVER_HOST \
  FEEDBACK_SERVER_PORT=$FEEDBACK_SERVER_PORT \
  FEEDBACK_HTTP_PORT=$FEEDBACK_HTTP_PORT \
  FEEDBACK_DATA_DIR=$FEEDBACK_DATA_DIR \
  FEEDBACK_SHUTDOWN_DELAY_S=${FEEDBACK_SHUTDOWN_DELAY_S:-0} \
  setsid "$BIN/feedback-server" </dev/null &
SERVER_PID=$!
say "feedback server pid $SERVER_PID"

# The feedback server is the foreground service: wait for it (a trapped signal interrupts
# the short `wait`, runs on_signal and exits). If MLflow dies meanwhile, say so: the feedback
# server keeps accepting judgments durably, and MLflow is not restarted behind the user's back.
mlflow_reported=
while alive "$SERVER_PID"; do
  if [[ -z $mlflow_reported ]] && ! alive "$MLFLOW_PID"; then
    say "warning: MLflow exited (log: $MLFLOW_LOG); the feedback server keeps running"
    mlflow_reported=1
  fi
  sleep 1 &
  wait $! 2>/dev/null || true
done
wait "$SERVER_PID" 2>/dev/null && SERVER_STATUS=0 || SERVER_STATUS=$?
SERVER_PID=
say "the feedback server exited with status $SERVER_STATUS"
trap force_stop INT TERM
stop_mlflow
trap - INT TERM EXIT
exit "$SERVER_STATUS"
