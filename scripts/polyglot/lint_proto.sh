#!/usr/bin/env bash
# `make lint-proto`: buf lint, then buf breaking (FILE rules, see proto/buf.yaml)
# of proto/ against the branch main:
#
#   buf breaking proto --against '.git#branch=main,subdir=proto'
#
# with care for the cases where that input does not exist:
#   - no local branch main (a CI checkout of a detached commit, a clone whose
#     default branch differs): origin/main is used instead, if present;
#   - main has no proto/buf.yaml yet (the commit that adds the API), or the
#     repository has no commits, or this is not a git checkout: nothing to
#     compare against, so only lint runs (said so on stderr).
# A shallow clone works (buf clones from the local .git).
#
#   scripts/polyglot/lint_proto.sh [REPO_DIR]      PROTO_AGAINST=REV to compare with another revision
# Exit status: 0 clean, 100 lint or breaking violations, other = error.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
repo="${1:-$here}"
cd "$repo"
buf="${BUF:-buf}"
command -v "$buf" >/dev/null || buf="$here/.venv/bin/buf"
say() { printf '[lint-proto] %s\n' "$*" >&2; }

"$buf" lint proto
say "buf lint proto: OK"

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  say "not a git checkout: buf breaking skipped"; exit 0
fi
against="${PROTO_AGAINST:-main}"
if [ -n "${PROTO_AGAINST:-}" ]; then
  git rev-parse -q --verify "$against^{commit}" >/dev/null || { say "error: PROTO_AGAINST=$against is not a commit"; exit 2; }
  rev="$against"; input=".git#ref=$against,subdir=proto"
elif git rev-parse -q --verify "refs/heads/main^{commit}" >/dev/null; then
  rev="refs/heads/main"; input=".git#branch=main,subdir=proto"
elif git rev-parse -q --verify "refs/remotes/origin/main^{commit}" >/dev/null; then
  rev="refs/remotes/origin/main"; input=".git#ref=refs/remotes/origin/main,subdir=proto"
else
  say "no branch main (nor origin/main): buf breaking skipped"; exit 0
fi
if ! git cat-file -e "$rev:proto/buf.yaml" 2>/dev/null; then
  say "$rev has no proto/buf.yaml yet (the API is new): buf breaking skipped"; exit 0
fi
"$buf" breaking proto --against "$input"
say "buf breaking proto --against '$input': OK"
