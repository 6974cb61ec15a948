#!/usr/bin/env bash
# Generates the Java messages and gRPC stubs into clients/java/src/main/java
# (package dev.feedbackservice.feedback.v1) with protoc's Java generator and
# io.grpc:protoc-gen-grpc-java, both pinned in scripts/polyglot/tools.sh and
# fetched from Maven Central into var/tools/java.
set -euo pipefail
source "$(dirname "$0")/../polyglot/tools.sh"
ensure_java_tools
out="$GEN_OUT/clients/java/src/main/java"
rm -rf "$out/dev/feedbackservice/feedback/v1"
mkdir -p "$out"
# The Maven protoc has no bundled well-known types: take them from grpc_tools,
# the same files the other languages compile against.
wkt="$("$PROTOC_PYTHON" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
# shellcheck disable=SC2046
(cd "$ROOT" && "$PROTOC_JAVA" -I proto -I "$wkt" \
  --java_out="$out" \
  --plugin=protoc-gen-grpc-java="$PROTOC_GEN_GRPC_JAVA" --grpc-java_out="$out" \
  $(proto_files))
log "java -> ${out#"$GEN_OUT"/}/dev/feedbackservice/feedback/v1"
