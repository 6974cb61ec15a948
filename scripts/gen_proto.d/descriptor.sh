#!/usr/bin/env bash
# Writes proto/feedback_v1.binpb: a FileDescriptorSet of the whole API (with
# its imports and source info, so comments survive), for tools that need the
# schema without protoc (grpcurl -protoset, Envoy's gRPC-JSON transcoder, ...).
set -euo pipefail
source "$(dirname "$0")/../polyglot/tools.sh"
out="$GEN_OUT/proto/feedback_v1.binpb"
mkdir -p "$(dirname "$out")"
# shellcheck disable=SC2046
protoc -I proto --include_imports --include_source_info \
  --descriptor_set_out="$out" $(proto_files)
log "descriptor set -> ${out#"$GEN_OUT"/}"
