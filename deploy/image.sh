#!/usr/bin/env bash
# The image's build context and its build with the container engine at hand.
#
#   deploy/image.sh context DIR     writes the build context to DIR: the files the
#                                   Containerfile copies (tracked or new, not ignored), so
#                                   neither .venv nor var/ is sent to the engine
#   deploy/image.sh engine          prints the engine that works here (podman, then docker),
#                                   or fails saying there is none
#   deploy/image.sh build [ARGS]    `make image`: the context (IMAGE_CONTEXT, default
#                                   var/image-context), then `ENGINE build -t $IMAGE ARGS`
#                                   (IMAGE=localhost/feedback-server:dev)
#
# ENGINE=podman|docker forces one. PIP_CA_FILE (a CA bundle for pip, e.g. a TLS-inspecting
# proxy's) is handed to the build as the secret `pip-ca`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${IMAGE:-localhost/feedback-server:dev}"
CONTEXT_PATHS=(pyproject.toml README.md server clients/python deploy/Containerfile deploy/healthcheck.py)

say() { printf '[image] %s\n' "$*" >&2; }

context() {
  local dir=$1
  rm -rf "$dir"; mkdir -p "$dir"
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- "${CONTEXT_PATHS[@]}" \
     | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - -cf -) | tar -xf - -C "$dir"
}

engine() {
  local candidates=(podman docker)
  [ -n "${ENGINE:-}" ] && candidates=("$ENGINE")
  for e in "${candidates[@]}"; do
    if command -v "$e" >/dev/null 2>&1 && "$e" info >/dev/null 2>&1; then echo "$e"; return 0; fi
  done
  say "no container engine works here: neither 'podman info' nor 'docker info' succeeded"
  say "(a docker client without a daemon does not count). Install podman, or try"
  say "deploy/build-local-image.sh: rootless podman on a Debian base made with mmdebstrap."
  return 1
}

build() {
  local eng dir="${IMAGE_CONTEXT:-$ROOT/var/image-context}" secret=()
  eng=$(engine)
  context "$dir"
  [ -n "${PIP_CA_FILE:-}" ] && secret=(--secret "id=pip-ca,src=$PIP_CA_FILE")
  say "$eng build -t $IMAGE (context $dir)"
  "$eng" build "${secret[@]}" -f "$dir/deploy/Containerfile" -t "$IMAGE" "$@" "$dir"
}

case "${1:-}" in
  context) context "${2:?usage: $0 context DIR}" ;;
  engine) engine ;;
  build) shift; build "$@" ;;
  *) echo "usage: $0 context DIR | engine | build [ENGINE BUILD ARGS]" >&2; exit 2 ;;
esac
