#!/usr/bin/env bash
# Generates the browser page's TypeScript (protoc-gen-es v2: messages and the service
# descriptors that @connectrpc/connect v2 calls) into clients/web/src/gen, with the
# protoc-gen-es pinned in clients/web/package-lock.json.
set -euo pipefail
source "$(dirname "$0")/../polyglot/tools.sh"
ensure_web_toolchain
out="$GEN_OUT/clients/web/src/gen"
rm -rf "$out"
mkdir -p "$out"
# google/rpc/status.proto is vendored under proto/ (an import of feedback_service.proto);
# the google/protobuf types come from @bufbuild/protobuf/wkt.
# shellcheck disable=SC2046
protoc -I proto \
  --plugin=protoc-gen-es="$PROTOC_GEN_ES" \
  --es_out="$out" \
  --es_opt=target=ts,import_extension=none \
  $(proto_files) proto/google/rpc/status.proto
log "web -> ${out#"$GEN_OUT"/}"
