#!/usr/bin/env bash
# Generates the Go stubs (package feedbackv1) into clients/go/feedback/v1 with
# pinned protoc-gen-go and protoc-gen-go-grpc (installed under var/tools).
set -euo pipefail
source "$(dirname "$0")/../polyglot/tools.sh"
ensure_go_plugins
out="$GEN_OUT/clients/go"
rm -rf "$out/feedback/v1"
mkdir -p "$out"
# shellcheck disable=SC2046
protoc -I proto \
  --plugin=protoc-gen-go="$PROTOC_GEN_GO" --plugin=protoc-gen-go-grpc="$PROTOC_GEN_GO_GRPC" \
  --go_out="$out" --go_opt=module="$GO_MODULE" \
  --go-grpc_out="$out" --go-grpc_opt=module="$GO_MODULE" \
  $(proto_files)
log "go -> ${out#"$GEN_OUT"/}/feedback/v1"
