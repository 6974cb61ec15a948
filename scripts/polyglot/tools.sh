# Pinned code generators for the Go, TypeScript and Java clients, and the
# functions that install them into project-local directories on first use.
# Sourced (not run) by scripts/gen_proto.d/*.sh, the interop runner and tests.
#
#   ROOT        the repository (inputs: proto/, clients/ts/package-lock.json)
#   GEN_OUT     where generated files are written (default: ROOT); the
#               freshness test points it at a temporary directory
#   TOOLS_DIR   FEEDBACK_TOOLS_DIR or ROOT/var/tools (ignored by git; holds
#               installed generators keyed by version, never committed)
#
# One protoc for every language: grpc_tools' bundled protoc (libprotoc 35.1,
# from the venv), which also provides the well-known types (google/protobuf).
# It has no built-in Java generator, so Java uses the same protoc release
# (com.google.protobuf:protoc 4.35.1 = libprotoc 35.1) from Maven Central.

# Versions. Bump them here; the next `make proto` installs the new ones.
PROTOC_GEN_GO_VERSION=v1.36.12        # google.golang.org/protobuf/cmd/protoc-gen-go
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2     # google.golang.org/grpc/cmd/protoc-gen-go-grpc
GRPC_JAVA_VERSION=1.83.0              # io.grpc:protoc-gen-grpc-java; = grpc.version in clients/java/pom.xml
PROTOC_JAVA_VERSION=4.35.1            # com.google.protobuf:protoc; = protobuf.version in clients/java/pom.xml
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
# ts-proto is pinned in clients/ts/package.json (+ package-lock.json); protoc-gen-es, Vite,
# Vitest and playwright-core (the browser page's toolchain) in clients/web/package.json.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "${GEN_OUT:-$ROOT}"
GEN_OUT="$(cd "${GEN_OUT:-$ROOT}" && pwd)"
TOOLS_DIR="${FEEDBACK_TOOLS_DIR:-$ROOT/var/tools}"
GO_MODULE=github.com/feedback-service/feedback/clients/go

if [ -z "${PROTOC_PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PROTOC_PYTHON="$ROOT/.venv/bin/python"; else PROTOC_PYTHON=python; fi
fi

log() { printf '[gen_proto] %s\n' "$*" >&2; }

# protoc ARGS... : grpc_tools' protoc, run from ROOT so that `-I proto` works.
protoc() { (cd "$ROOT" && "$PROTOC_PYTHON" -m grpc_tools.protoc "$@"); }

# The API's .proto files, relative to ROOT, in a stable order.
proto_files() { (cd "$ROOT" && LC_ALL=C ls proto/feedback/v1/*.proto); }

# with_lock NAME CMD... : serializes installs of one tool across concurrent runs.
with_lock() {
  local name=$1; shift
  mkdir -p "$TOOLS_DIR"
  flock "$TOOLS_DIR/.$name.lock" "$@"
}

require() {
  command -v "$1" >/dev/null 2>&1 || { log "error: '$1' is not on PATH ($2)"; exit 1; }
}

# ensure_go_plugins: sets PROTOC_GEN_GO and PROTOC_GEN_GO_GRPC to installed binaries.
ensure_go_plugins() {
  local dir="$TOOLS_DIR/go/protoc-gen-go-$PROTOC_GEN_GO_VERSION-grpc-$PROTOC_GEN_GO_GRPC_VERSION"
  PROTOC_GEN_GO="$dir/protoc-gen-go"
  PROTOC_GEN_GO_GRPC="$dir/protoc-gen-go-grpc"
  if [ ! -x "$PROTOC_GEN_GO" ] || [ ! -x "$PROTOC_GEN_GO_GRPC" ]; then
    require go "Go 1.24 or newer builds the Go generators"
    with_lock go bash -c '
      set -euo pipefail
      dir=$1; [ -x "$dir/protoc-gen-go" ] && [ -x "$dir/protoc-gen-go-grpc" ] && exit 0
      echo "[gen_proto] installing protoc-gen-go $2 and protoc-gen-go-grpc $3 into $dir" >&2
      tmp="$dir.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
      GOBIN="$tmp" GOFLAGS=-mod=mod go install "google.golang.org/protobuf/cmd/protoc-gen-go@$2"
      GOBIN="$tmp" GOFLAGS=-mod=mod go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$3"
      rm -rf "$dir"; mv "$tmp" "$dir"
    ' _ "$dir" "$PROTOC_GEN_GO_VERSION" "$PROTOC_GEN_GO_GRPC_VERSION"
  fi
}

# ensure_ts_plugin: installs clients/ts/node_modules from package-lock.json when
# it is missing or stale, and sets PROTOC_GEN_TS_PROTO.
ensure_ts_plugin() {
  local ts="$ROOT/clients/ts"
  PROTOC_GEN_TS_PROTO="$ts/node_modules/.bin/protoc-gen-ts_proto"
  if [ ! -x "$PROTOC_GEN_TS_PROTO" ] || ! cmp -s "$ts/package-lock.json" "$ts/node_modules/.installed-lock.json"; then
    require npm "Node.js 20 or newer runs the TypeScript generator"
    with_lock npm bash -c '
      set -euo pipefail
      cd "$1"
      cmp -s package-lock.json node_modules/.installed-lock.json && [ -x node_modules/.bin/protoc-gen-ts_proto ] && exit 0
      echo "[gen_proto] npm ci in clients/ts" >&2
      npm ci --no-audit --no-fund --loglevel=error >&2
      cp package-lock.json node_modules/.installed-lock.json
    ' _ "$ts"
  fi
}

# ensure_web_toolchain: installs clients/web/node_modules (protoc-gen-es, Vite, Vitest,
# playwright-core) from package-lock.json when it is missing or stale, and sets
# PROTOC_GEN_ES.
ensure_web_toolchain() {
  local web="$ROOT/clients/web"
  PROTOC_GEN_ES="$web/node_modules/.bin/protoc-gen-es"
  if [ ! -x "$PROTOC_GEN_ES" ] || ! cmp -s "$web/package-lock.json" "$web/node_modules/.installed-lock.json"; then
    require npm "Node.js 20.19 or newer builds the web page"
    with_lock npm-web bash -c '
      set -euo pipefail
      cd "$1"
      cmp -s package-lock.json node_modules/.installed-lock.json && [ -x node_modules/.bin/protoc-gen-es ] && exit 0
      echo "[web] npm ci in clients/web" >&2
      npm ci --no-audit --no-fund --loglevel=error >&2
      cp package-lock.json node_modules/.installed-lock.json
    ' _ "$web"
  fi
}

# java_classifier: the os-arch classifier of protoc plugins on Maven Central.
java_classifier() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;; Darwin) os=osx ;; *) log "error: unsupported OS $(uname -s)"; exit 1 ;;
  esac
  case "$(uname -m)" in
    x86_64|amd64) arch=x86_64 ;; aarch64|arm64) arch=aarch_64 ;; *) log "error: unsupported CPU $(uname -m)"; exit 1 ;;
  esac
  echo "$os-$arch"
}

# maven_exe GROUP:ARTIFACT:VERSION DEST : fetches a native executable published
# on Maven Central (packaging exe, os-arch classifier) to DEST.
maven_exe() {
  local gav=$1 dest=$2 classifier
  classifier=$(java_classifier)
  [ -x "$dest" ] && return 0
  require mvn "Maven fetches the Java generators from Maven Central"
  with_lock java bash -c '
    set -euo pipefail
    gav=$1; dest=$2; [ -x "$dest" ] && exit 0
    echo "[gen_proto] fetching $gav:exe:$3 from Maven Central" >&2
    tmp=$(mktemp -d "$(dirname "$dest")/.fetch.XXXXXX")
    (cd "$tmp" && mvn -B -q -Dstyle.color=never "$4:copy" -Dartifact="$gav:exe:$3" -DoutputDirectory="$tmp" \
      -Dmdep.stripVersion=true -Dmdep.stripClassifier=true >&2)
    mv "$tmp"/*.exe "$dest"; rmdir "$tmp"; chmod +x "$dest"
  ' _ "$gav" "$dest" "$classifier" "$MAVEN_DEPENDENCY_PLUGIN"
}

# ensure_java_tools: sets PROTOC_JAVA (protoc with its Java generator) and
# PROTOC_GEN_GRPC_JAVA (grpc-java's plugin), both fetched with Maven.
ensure_java_tools() {
  local classifier; classifier=$(java_classifier)
  mkdir -p "$TOOLS_DIR/java"
  PROTOC_JAVA="$TOOLS_DIR/java/protoc-$PROTOC_JAVA_VERSION-$classifier.exe"
  PROTOC_GEN_GRPC_JAVA="$TOOLS_DIR/java/protoc-gen-grpc-java-$GRPC_JAVA_VERSION-$classifier.exe"
  maven_exe "com.google.protobuf:protoc:$PROTOC_JAVA_VERSION" "$PROTOC_JAVA"
  maven_exe "io.grpc:protoc-gen-grpc-java:$GRPC_JAVA_VERSION" "$PROTOC_GEN_GRPC_JAVA"
}
