#!/usr/bin/env bash
# Pinned tools for the chart's tests, installed into var/tools on first use.
#
#   deploy/tools.sh helm   prints the path of helm (built with `go install` on first use)
#   deploy/tools.sh crds   prints a folder with the CRDs the chart's optional objects use:
#                          Istio's (networking.istio.io) and prometheus-operator's
#                          (monitoring.coreos.com), taken from their Go modules through
#                          the Go module proxy, so the tests validate them offline
#
# TOOLS_DIR is FEEDBACK_TOOLS_DIR or <repo>/var/tools (ignored by git). Installs are
# serialized with flock, so parallel test runs do not race; a finished install is moved
# into place in one rename, so a reader never sees half of it.
set -euo pipefail

# Versions. Bump them here; the next test run installs the new ones.
HELM_VERSION=v4.3.1                 # helm.sh/helm/v4/cmd/helm
ISTIO_API_VERSION=v1.32.0           # istio.io/api: kubernetes/customresourcedefinitions.gen.yaml
PROMETHEUS_OPERATOR_VERSION=v0.85.0 # github.com/prometheus-operator/prometheus-operator: example/prometheus-operator-crd

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${FEEDBACK_TOOLS_DIR:-$ROOT/var/tools}"

log() { printf '[deploy-tools] %s\n' "$*" >&2; }

require_go() {
  command -v go >/dev/null 2>&1 || { log "error: 'go' is not on PATH (Go 1.24 or newer builds helm)"; exit 1; }
}

# install NAME DEST SCRIPT ARGS... : runs SCRIPT (bash, $1 = a temporary folder, then ARGS)
# under the lock of NAME unless DEST exists, then renames the folder to DEST.
install() {
  local name=$1 dest=$2 script=$3; shift 3
  [ -e "$dest" ] && return 0
  mkdir -p "$TOOLS_DIR"
  flock "$TOOLS_DIR/.$name.lock" bash -c '
    set -euo pipefail
    dest=$1 script=$2; shift 2
    [ -e "$dest" ] && exit 0
    tmp="$dest.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
    bash -c "set -euo pipefail; $script" _ "$tmp" "$@"
    rm -rf "$dest"; mv "$tmp" "$dest"
  ' _ "$dest" "$script" "$@"
}

ensure_helm() {
  local dir="$TOOLS_DIR/helm-$HELM_VERSION"
  if [ ! -x "$dir/helm" ]; then
    require_go
    log "building helm $HELM_VERSION into $dir (go install; once)"
    install helm "$dir" 'GOBIN="$1" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "helm.sh/helm/v4/cmd/helm@$2"' \
      "$HELM_VERSION"
  fi
  echo "$dir/helm"
}

ensure_crds() {
  local dir="$TOOLS_DIR/crds-istio-$ISTIO_API_VERSION-prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
  if [ ! -d "$dir" ]; then
    require_go
    log "fetching the Istio $ISTIO_API_VERSION and prometheus-operator $PROMETHEUS_OPERATOR_VERSION CRDs into $dir (once)"
    install crds "$dir" '
      moddir() { GOFLAGS=-mod=mod go mod download -json "$1" | sed -n "s/^\t\"Dir\": \"\(.*\)\",$/\1/p"; }
      istio=$(moddir "istio.io/api@$2")
      prom=$(moddir "github.com/prometheus-operator/prometheus-operator@$3")
      [ -n "$istio" ] && [ -n "$prom" ]
      cp "$istio/kubernetes/customresourcedefinitions.gen.yaml" "$1/istio.yaml"
      cp "$prom/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
         "$prom/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" "$1/"
      chmod u+w "$1"/*
    ' "$ISTIO_API_VERSION" "$PROMETHEUS_OPERATOR_VERSION"
  fi
  echo "$dir"
}

case "${1:-}" in
  helm) ensure_helm ;;
  crds) ensure_crds ;;
  *) echo "usage: $0 helm|crds" >&2; exit 2 ;;
esac
