#!/usr/bin/env bash
# Builds the image without a container registry: a Debian base made by mmdebstrap from
# Debian's packages, then deploy/Containerfile on it with rootless podman; then runs it once
# (read-only root filesystem, every capability dropped, the spool on a named volume) and
# prints the image's size and the time from `podman run` to health SERVING.
#
#   deploy/build-local-image.sh            build, then measure
#   deploy/build-local-image.sh --no-run   build only
#
# Environment (all optional):
#   IMAGE          tag of the result                      (default localhost/feedback-server:dev)
#   DEBIAN_SUITE   Debian release of the base             (default bookworm: Python 3.11)
#   DEBIAN_MIRROR  mirror for mmdebstrap                  (default: mmdebstrap's, deb.debian.org)
#   BUILD_USER     unprivileged user running podman when this script runs as root
#                  (default feedback-build; created, with subordinate IDs, when missing)
#   STORAGE_DRIVER podman's storage driver                (default overlay: rootless native
#                  overlay, Linux 5.13 or newer; vfs works everywhere, slowly)
#   PIP_CA_FILE    CA bundle handed to pip in the build as the secret `pip-ca`
#                  (default: the system bundle when a local CA is installed in
#                  /usr/local/share/ca-certificates, i.e. behind a TLS-inspecting proxy)
#
# As root it installs what is missing with apt-get (podman, runc, mmdebstrap, uidmap,
# slirp4netns) and runs podman and mmdebstrap as BUILD_USER: the build is
# rootless either way. Work files go to var/image-local (the base tarball, the build context,
# podman's storage). The OCI runtime is runc: crun refuses hosts whose cgroups are mounted in
# hybrid mode (v1 controllers beside a v2 hierarchy). Containers use the host's network (their
# servers listen on 127.0.0.1 only): rootless slirp4netns needs /dev/net/tun.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${IMAGE:-localhost/feedback-server:dev}"
SUITE="${DEBIAN_SUITE:-bookworm}"
BASE="localhost/feedback-base:$SUITE"
WORK="$ROOT/var/image-local"
DRIVER="${STORAGE_DRIVER:-overlay}"
RUN=1
[ "${1:-}" = "--no-run" ] && RUN=0

say() { printf '[build-local-image] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
now() { date +%s.%N; }
# secs A B: B - A in seconds; mb N: N bytes in MB (awk: no bc needed).
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mb() { awk -v n="$1" 'BEGIN { printf "%.0f", n / 1000000 }'; }

# --- tools ---------------------------------------------------------------------------
need=()
for pair in podman:podman runc:runc mmdebstrap:mmdebstrap newuidmap:uidmap slirp4netns:slirp4netns; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "missing: ${need[*]} (sudo apt-get install ${need[*]})"
  say "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- the unprivileged user podman runs as ----------------------------------------------
mkdir -p "$WORK"
if [ "$(id -u)" -eq 0 ]; then
  user="${BUILD_USER:-feedback-build}"
  if ! id "$user" >/dev/null 2>&1; then
    say "creating the unprivileged build user $user"
    useradd --system --create-home --home-dir "/var/lib/$user" --shell /usr/sbin/nologin "$user"
  fi
  if ! grep -q "^$user:" /etc/subuid || ! grep -q "^$user:" /etc/subgid; then
    usermod --add-subuids 3000000-3065535 --add-subgids 3000000-3065535 "$user"
  fi
  uid=$(id -u "$user")
  runtime="/tmp/podman-run-$uid"
  install -d -o "$user" -m 0700 "$runtime"
  chown "$user" "$WORK"
  as_user() {
    runuser -u "$user" -- env -i PATH="$PATH" HOME="/var/lib/$user" USER="$user" \
      XDG_RUNTIME_DIR="$runtime" "$@"
  }
else
  as_user() { "$@"; }
fi
podman_() {
  as_user podman --root "$WORK/storage-$DRIVER" --runroot "$WORK/run" --storage-driver "$DRIVER" \
    --runtime runc \
    --cgroup-manager=cgroupfs --events-backend=file "$@"
}

# --- the Debian base -----------------------------------------------------------------
t_start=$(now)
base_tar="$WORK/debian-$SUITE.tar"
if [ ! -s "$base_tar" ]; then
  say "mmdebstrap $SUITE (minbase + python3, python3-venv, tini, ca-certificates)"
  as_user mmdebstrap --mode=unshare --variant=minbase --format=tar \
    --include=python3,python3-venv,tini,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$SUITE" "$base_tar.tmp" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"}
  mv "$base_tar.tmp" "$base_tar"
fi
podman_ import --quiet "$base_tar" "$BASE" >/dev/null
t_base=$(now)

# --- the image -----------------------------------------------------------------------
"$ROOT/deploy/image.sh" context "$WORK/context"
[ "$(id -u)" -eq 0 ] && chown -R "$user" "$WORK/context"
ca="${PIP_CA_FILE:-}"
if [ -z "$ca" ] && compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  ca=/etc/ssl/certs/ca-certificates.crt
fi
secret=()
if [ -n "$ca" ]; then
  cp "$ca" "$WORK/pip-ca.pem"
  [ "$(id -u)" -eq 0 ] && chown "$user" "$WORK/pip-ca.pem"
  secret=(--secret "id=pip-ca,src=$WORK/pip-ca.pem")
fi
say "podman build --build-arg PYTHON_BASE=$BASE -t $IMAGE (rootless as $(as_user id -un))"
podman_ build --quiet --network=host --build-arg "PYTHON_BASE=$BASE" "${secret[@]}" \
  -f "$WORK/context/deploy/Containerfile" -t "$IMAGE" "$WORK/context" >/dev/null
t_built=$(now)
size=$(podman_ image inspect --format '{{.Size}}' "$IMAGE")
base_size=$(podman_ image inspect --format '{{.Size}}' "$BASE")
printf 'image %s: %d bytes (%s MB); base %s: %s MB\n' "$IMAGE" "$size" "$(mb "$size")" \
  "$BASE" "$(mb "$base_size")"
printf 'build: base %s s, image %s s\n' "$(secs "$t_start" "$t_base")" "$(secs "$t_base" "$t_built")"
[ "$RUN" -eq 1 ] || exit 0

# --- one run: start to SERVING, then a graceful stop ---------------------------------
port=$("$ROOT/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
name="feedback-local-$$"
volume="feedback-local-spool-$$"
podman_ volume create "$volume" >/dev/null
cleanup() {
  podman_ rm --force --time 0 "$name" >/dev/null 2>&1 || true
  podman_ volume rm --force "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# Host network, loopback only; MLflow deliberately unreachable: the server must still
# come up SERVING (judgments are accepted into the spool).
t0=$(now)
podman_ run --detach --name "$name" --network=host --read-only --tmpfs /tmp:rw,size=64m \
  --cap-drop=ALL --security-opt=no-new-privileges --volume "$volume:/var/lib/feedback" \
  -e FEEDBACK_SERVER_HOST=127.0.0.1 -e FEEDBACK_SERVER_PORT="$port" -e FEEDBACK_METRICS_PORT=0 \
  -e FEEDBACK_HTTP_PORT=0 -e MLFLOW_TRACKING_URI=http://127.0.0.1:9 "$IMAGE" >/dev/null
t_run=$(now)
if ! "$ROOT/.venv/bin/python" "$ROOT/deploy/healthcheck.py" --addr "127.0.0.1:$port" --wait 60 >/dev/null; then
  podman_ logs "$name" >&2 || true
  die "the container did not report SERVING within 60 s"
fi
t_serving=$(now)
printf 'start: podman run returned after %s s, health SERVING after %s s\n' \
  "$(secs "$t0" "$t_run")" "$(secs "$t0" "$t_serving")"
podman_ exec "$name" feedback-healthcheck >/dev/null || die "feedback-healthcheck inside the container failed"
t_stop=$(now)
podman_ stop --time 30 "$name" >/dev/null
code=$(podman_ inspect --format '{{.State.ExitCode}}' "$name")
printf 'stop: SIGTERM to exit %s s, exit code %s\n' "$(secs "$t_stop" "$(now)")" "$code"
podman_ logs "$name" 2>&1 | tail -n 3 >&2
podman_ run --rm --network=host --volume "$volume:/var/lib/feedback" --entrypoint ls "$IMAGE" \
  -ln /var/lib/feedback >&2
[ "$code" = 0 ] || die "the server exited with $code on SIGTERM"
