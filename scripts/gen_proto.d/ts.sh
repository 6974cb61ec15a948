#!/usr/bin/env bash
# Generates the TypeScript stubs (ts-proto, services for @grpc/grpc-js) into
# clients/ts/src/gen, with the ts-proto pinned in clients/ts/package-lock.json.
set -euo pipefail
source "$(dirname "$0")/../polyglot/tools.sh"
ensure_ts_plugin
out="$GEN_OUT/clients/ts/src/gen"
rm -rf "$out"
mkdir -p "$out"
# shellcheck disable=SC2046
protoc -I proto \
  --plugin=protoc-gen-ts_proto="$PROTOC_GEN_TS_PROTO" \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,env=node,esModuleInterop=true,oneof=unions-value,useOptionals=messages \
  $(proto_files)
log "ts -> ${out#"$GEN_OUT"/}"
