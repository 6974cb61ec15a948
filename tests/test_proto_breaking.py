"""`make lint-proto` (scripts/polyglot/lint_proto.sh): buf lint, and buf breaking against main.

Each test builds a throwaway git repository holding a copy of proto/ on the branch main, then
changes the working tree the way a contributor would, and runs the real script on it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "polyglot" / "lint_proto.sh"
BUF = Path(sys.executable).parent / "buf"
CHAT_PROTO = "proto/feedback/v1/chat_service.proto"

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not BUF.exists(), reason="needs git and the venv's buf"
)


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _copy_proto(repo: Path) -> None:
    shutil.copytree(
        ROOT / "proto", repo / "proto", ignore=shutil.ignore_patterns("*.binpb"), dirs_exist_ok=True
    )


def _repo(tmp_path: Path, *, with_proto_on_main: bool = True) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    if with_proto_on_main:
        _copy_proto(repo)
    else:
        (repo / "README").write_text("no API yet\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    return repo


def _lint(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BUF": str(BUF)}
    env.pop("PROTO_AGAINST", None)
    return subprocess.run(
        ["bash", str(SCRIPT), str(repo)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _edit(repo: Path, rel: str, old: str, new: str) -> None:
    path = repo / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


def test_unchanged_api_passes(tmp_path: Path) -> None:
    result = _lint(_repo(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "buf breaking proto --against '.git#branch=main,subdir=proto': OK" in result.stderr


def test_renumbered_field_is_a_breaking_change(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    # ChatRequest.message = 1 -> 9: same name, new wire number.
    text = (repo / CHAT_PROTO).read_text()
    text, count = re.subn(
        r"(message ChatRequest \{.*?string message = )1;", r"\g<1>9;", text, count=1, flags=re.S
    )
    assert count == 1
    (repo / CHAT_PROTO).write_text(text)
    result = _lint(repo)
    assert result.returncode == 100, result.stdout + result.stderr
    assert 'Previously present field "1" with name "message" on message "ChatRequest"' in (
        result.stdout
    )


def test_removed_rpc_is_a_breaking_change(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _edit(repo, CHAT_PROTO, "  rpc Chat(ChatRequest) returns (ChatResponse);\n", "")
    result = _lint(repo)
    assert result.returncode == 100, result.stdout + result.stderr
    assert 'Previously present RPC "Chat" on service "ChatService" was deleted.' in result.stdout


def test_additive_change_passes(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _edit(
        repo,
        CHAT_PROTO,
        "  map<string, string> metadata = 5;\n}",
        "  map<string, string> metadata = 5;\n  // Optional. A new field.\n  string locale = 6;\n}",
    )
    result = _lint(repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_first_commit_of_the_api_only_lints(tmp_path: Path) -> None:
    repo = _repo(tmp_path, with_proto_on_main=False)
    _copy_proto(repo)
    result = _lint(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "has no proto/buf.yaml yet" in result.stderr


def test_clone_without_local_main_uses_origin_main(tmp_path: Path) -> None:
    origin = _repo(tmp_path)
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(clone)],
        check=True,
        capture_output=True,
    )
    _git(clone, "checkout", "-q", "--detach")
    _git(clone, "branch", "-q", "-D", "main")
    _edit(clone, CHAT_PROTO, "  rpc Chat(ChatRequest) returns (ChatResponse);\n", "")
    result = _lint(clone)
    assert result.returncode == 100, result.stdout + result.stderr
    assert 'Previously present RPC "Chat" on service "ChatService"' in result.stdout


def test_lint_violation_fails(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _edit(repo, CHAT_PROTO, "message ChatDelta {", "message chat_delta_v2 {}\nmessage ChatDelta {")
    result = _lint(repo)
    assert result.returncode == 100, result.stdout + result.stderr
    assert "chat_delta_v2" in result.stdout
