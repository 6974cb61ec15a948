# Polyglot clients (Go, TypeScript, Java): included by the Makefile.
#
#   make interop      MLflow (SQLite) + the Python feedback server on free loopback ports,
#                     every language's seed-flow example against them, and checks in MLflow
#                     that each judgment landed (INTEROP_ARGS="--langs go,ts --keep")
#   make clients      build (and vet / type-check) the Go, TypeScript and Java clients only
#   make lint-proto   buf lint + buf breaking against the branch main
#
# Tools: Go >= 1.24, Node >= 20 + npm, JDK 17 + Maven. Generators and npm/Maven/Go
# downloads are cached in var/tools, clients/ts/node_modules, ~/.m2 and the Go caches.
.PHONY: interop clients lint-proto

interop: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/polyglot/interop.py $(INTEROP_ARGS)

clients: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/polyglot/interop.py --build-only $(INTEROP_ARGS)

lint-proto: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/polyglot/lint_proto.sh
