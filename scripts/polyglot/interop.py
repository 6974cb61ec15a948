"""`make interop`: every language's seed-flow example against a real stack, checked in MLflow.

1. Builds the Go, TypeScript and Java clients and their examples (in parallel) while an
   MLflow tracking server (SQLite store) and the Python feedback server, each on a loopback
   port reserved for it (testbed/ports.py), start.
2. Runs each example with FEEDBACK_ADDR pointing at the feedback server (in parallel). Each
   prints KEY=VALUE lines (TRACE_ID, CLIENT_REQUEST_ID, STREAM_TRACE_ID, ...) and exits 0.
   The server requires mTLS (certificates made for the run, testbed/tls.py), and each
   example connects with its client's TLS options from FEEDBACK_CA_FILE,
   FEEDBACK_CLIENT_CERT_FILE and FEEDBACK_CLIENT_KEY_FILE (`--plaintext`: no TLS).
3. Checks through MLflow itself (``mlflow.get_trace`` with the tracking URI of step 1,
   polling, since judgments may be queued before they are stored) that each judgment landed
   on the right trace with the right name, type, value, rationale, source type and source
   ID; that the changed vote superseded the thumbs-down (MLflow's `overrides`, the old one
   invalid) and was then retracted (invalid, overridden by the retraction marker); that the
   batch's valid item landed; and that the streamed turn's trace carries the example's
   client request ID.

    python scripts/polyglot/interop.py [--langs go,ts,java] [--keep] [--build-only]
                                       [--tracking-uri http://127.0.0.1:PORT] [--plaintext]

Exit status 0 when every language passed. Logs and stores live in var/interop/<run>/
(removed after a passing run unless --keep).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from testbed.feedback_server import FeedbackServerProcess  # noqa: E402
from testbed.mlflow_server import MlflowServer  # noqa: E402
from testbed.processes import log_tail  # noqa: E402
from testbed.tls import Pki  # noqa: E402

USER_ID = "enduser_123"
RATIONALE = "Missing details about MLflow's key features like Projects and Model Registry"
RATINGS_RATIONALE = "Accurate and helpful overview"
BUILD_TIMEOUT_S = 1200.0
RUN_TIMEOUT_S = 180.0
STORE_TIMEOUT_S = float(os.environ.get("INTEROP_STORE_TIMEOUT", "120"))
VENV_BIN = ROOT / ".venv" / "bin"


@dataclass
class Lang:
    name: str
    cwd: Path
    build: list[list[str]]
    run: list[str]


def tools_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=readonly")
    return env


def java_run_command() -> list[str]:
    java = ROOT / "clients" / "java"
    classpath_file = java / "target" / "classpath.txt"
    classpath = classpath_file.read_text().strip() if classpath_file.exists() else ""
    return [
        "java",
        "-cp",
        f"{java / 'target' / 'classes'}{os.pathsep}{classpath}",
        "dev.feedbackservice.feedback.example.SeedFlow",
    ]


def languages(bin_dir: Path) -> dict[str, Lang]:
    clients = ROOT / "clients"
    ensure_ts = f"source {ROOT / 'scripts/polyglot/tools.sh'} && ensure_ts_plugin"
    return {
        "go": Lang(
            "go",
            clients / "go",
            [
                ["go", "vet", "./..."],
                ["go", "test", "./..."],
                ["go", "build", "-o", str(bin_dir / "seedflow-go"), "./cmd/seedflow"],
            ],
            [str(bin_dir / "seedflow-go")],
        ),
        "ts": Lang(
            "ts",
            clients / "ts",
            [["bash", "-c", ensure_ts], ["node_modules/.bin/tsc", "-p", "tsconfig.json"]],
            ["node", "dist/example.js"],
        ),
        "java": Lang(
            "java",
            clients / "java",
            [["mvn", "-B", "-q", "-Dstyle.color=never", "compile"]],
            [],  # java_run_command(), once target/classpath.txt exists
        ),
    }


def log(msg: str) -> None:
    print(f"[interop] {msg}", flush=True)


def build(lang: Lang, log_dir: Path) -> float:
    began = time.monotonic()
    log_path = log_dir / f"build-{lang.name}.log"
    with log_path.open("ab") as out:
        for cmd in lang.build:
            out.write(f"$ {' '.join(cmd)}\n".encode())
            out.flush()
            code = subprocess.call(
                cmd,
                cwd=lang.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=tools_env(),
                timeout=BUILD_TIMEOUT_S,
            )
            if code != 0:
                raise RuntimeError(
                    f"{lang.name}: `{' '.join(cmd)}` failed ({code}):\n{log_tail(log_path, 4000)}"
                )
    return time.monotonic() - began


@dataclass
class Outcome:
    lang: str
    code: int = -1
    seconds: float = 0.0
    values: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    problems: list[str] = field(default_factory=list)


def run_example(lang: Lang, addr: str, log_dir: Path, pki: Pki | None) -> Outcome:
    cmd = java_run_command() if lang.name == "java" else lang.run
    out = Outcome(lang.name)
    began = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            cwd=lang.cwd,
            env={**tools_env(), "FEEDBACK_ADDR": addr, **client_tls_env(pki)},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        out.code, out.stdout, out.stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        out.stdout = exc.stdout or "" if isinstance(exc.stdout, str) else ""
        out.problems.append(f"example timed out after {RUN_TIMEOUT_S:.0f} s")
    out.seconds = time.monotonic() - began
    (log_dir / f"run-{lang.name}.log").write_text(
        f"$ {' '.join(cmd)}\n--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
    )
    for line in out.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isupper() and key.replace("_", "").isalnum():
            out.values[key] = value
    if out.code != 0:
        out.problems.append(f"example exited {out.code}: {out.stderr.strip()[-2000:]}")
    for key in (
        "TRACE_ID",
        "CLIENT_REQUEST_ID",
        "STREAM_TRACE_ID",
        "FEEDBACK_ASSESSMENT_ID",
        "CHANGED_ASSESSMENT_ID",
        "BATCH_ASSESSMENT_ID",
        "RETRACTED_ASSESSMENT_ID",
    ):
        if not out.values.get(key):
            out.problems.append(f"example printed no {key}=")
    if out.values.get("RESULT") != "OK":
        out.problems.append("example did not print RESULT=OK")
    return out


def client_tls_env(pki: Pki | None) -> dict[str, str]:
    """What the examples read for their client's TLS options (mTLS)."""
    if pki is None:
        return {}
    return {
        "FEEDBACK_CA_FILE": str(pki.ca),
        "FEEDBACK_CLIENT_CERT_FILE": str(pki.client_cert),
        "FEEDBACK_CLIENT_KEY_FILE": str(pki.client_key),
    }


@contextlib.contextmanager
def feedback_server(tracking_uri: str, work: Path, pki: Pki | None) -> Iterator[str]:
    """The Python feedback server (console script) on a reserved port; yields its address."""
    server = FeedbackServerProcess(
        tracking_uri,
        work / "data",
        experiment="interop",
        log_path=work / "feedback-server.log",
        metrics=False,
        pki=pki,
    )
    try:
        server.start(within_s=120)
        yield server.address
    finally:
        server.close()


# ----- checks in MLflow --------------------------------------------------------------------


@dataclass
class Expect:
    trace_id: str
    name: str
    value: Any
    rationale: str | None
    assessment_ids: set[str]


def expectations(out: Outcome) -> list[Expect]:
    v = out.values
    rating_ids = {i for i in v.get("RATINGS_ASSESSMENT_IDS", "").split(",") if i}
    return [
        Expect(v["TRACE_ID"], "user_feedback", False, RATIONALE, {v["FEEDBACK_ASSESSMENT_ID"]}),
        Expect(v["STREAM_TRACE_ID"], "user_accuracy", 0.8, RATINGS_RATIONALE, rating_ids),
        Expect(v["STREAM_TRACE_ID"], "user_helpfulness", 1.0, RATINGS_RATIONALE, rating_ids),
    ]


def same_value(got: Any, want: Any) -> bool:
    if isinstance(want, bool):
        return got is want
    if isinstance(want, float):
        ok = isinstance(got, int | float) and not isinstance(got, bool)
        return ok and math.isclose(float(got), want, abs_tol=1e-9)
    return bool(got == want)


def check_trace(trace: Any, exp: Expect) -> str | None:
    """None when `exp` is satisfied by `trace`, else what is missing."""
    if trace is None:
        return f"trace {exp.trace_id} not found in MLflow"
    found = []
    for a in trace.info.assessments or []:
        if a.name != exp.name:
            continue
        source = a.source
        found.append(
            f"{a.assessment_id}: value={a.value!r} source={source.source_type}:{source.source_id}"
            f" rationale={a.rationale!r}"
        )
        if (
            getattr(a, "feedback", None) is not None
            and same_value(a.value, exp.value)
            and str(source.source_type) == "HUMAN"
            and source.source_id == USER_ID
            and (exp.rationale is None or a.rationale == exp.rationale)
            and (not exp.assessment_ids or a.assessment_id in exp.assessment_ids)
        ):
            return None
    want = f"{exp.name}={exp.value!r} from HUMAN:{USER_ID} (ids {sorted(exp.assessment_ids)})"
    return f"trace {exp.trace_id}: no {want}; found {found or 'nothing'}"


def check_votes(trace: Any, values: dict[str, str]) -> str | None:
    """None when the thumbs-down was superseded by the changed vote, the changed vote was
    retracted, and the batch's valid item is stored; else what is missing."""
    if trace is None:
        return "chat trace not found in MLflow"
    by_id = {a.assessment_id: a for a in trace.info.assessments or []}
    down = by_id.get(values["FEEDBACK_ASSESSMENT_ID"])
    changed = by_id.get(values["CHANGED_ASSESSMENT_ID"])
    markers = [a for a in by_id.values() if a.overrides == values["CHANGED_ASSESSMENT_ID"]]
    batch = by_id.get(values["BATCH_ASSESSMENT_ID"])
    if down is None or down.valid is not False:
        return "the thumbs-down is not stored superseded (valid=false)"
    if changed is None or changed.value is not True or changed.overrides != down.assessment_id:
        return "the changed vote is not stored with overrides = the thumbs-down"
    if values["RETRACTED_ASSESSMENT_ID"] != changed.assessment_id or changed.valid is not False:
        return "the changed vote is not retracted (valid=false)"
    if [m.name for m in markers] != ["user_feedback:retracted"]:
        return f"no retraction marker overrides the changed vote (found {markers})"
    if batch is None or batch.name != "interop_batch" or batch.value != "clear":
        return "the batch's valid item is not stored"
    return None


def verify_in_mlflow(outcomes: list[Outcome], tracking_uri: str) -> None:
    """Polls MLflow until every expectation holds; records problems on the outcomes."""
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    import logging

    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    pending = {o.lang: expectations(o) for o in outcomes if not o.problems}
    missing: dict[str, list[str]] = {}
    deadline = time.monotonic() + STORE_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        missing = {}
        traces: dict[str, Any] = {}
        for lang, exps in pending.items():
            for exp in exps:
                if exp.trace_id not in traces:
                    try:
                        traces[exp.trace_id] = mlflow.get_trace(exp.trace_id)
                    except Exception as exc:
                        traces[exp.trace_id] = None
                        missing.setdefault(lang, []).append(f"get_trace: {exc}")
                problem = check_trace(traces[exp.trace_id], exp)
                if problem:
                    missing.setdefault(lang, []).append(problem)
            values = next(o.values for o in outcomes if o.lang == lang)
            votes = check_votes(traces.get(values["TRACE_ID"]), values)
            if votes:
                missing.setdefault(lang, []).append(votes)
        pending = {lang: pending[lang] for lang in missing}
        if pending:
            time.sleep(1.0)
    for o in outcomes:
        if o.lang in pending:
            o.problems.extend(missing.get(o.lang, ["not stored in time"]))
    # The client request IDs recorded on the traces (MLflow's trace info).
    for o in outcomes:
        if o.problems:
            continue
        for key_trace, key_id in (
            ("STREAM_TRACE_ID", "CLIENT_REQUEST_ID"),
            ("TRACE_ID", "CHAT_CLIENT_REQUEST_ID"),
        ):
            want = o.values.get(key_id)
            trace = mlflow.get_trace(o.values[key_trace])
            got = trace.info.client_request_id if trace is not None else None
            if want and got != want:
                o.problems.append(
                    f"trace {o.values[key_trace]} has client_request_id {got!r}, want {want!r}"
                )


# ----- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--langs", default="go,ts,java", help="comma-separated subset")
    parser.add_argument("--keep", action="store_true", help="keep var/interop/<run> on success")
    parser.add_argument("--build-only", action="store_true", help="only build the clients")
    parser.add_argument(
        "--tracking-uri", help="use this running MLflow server instead of starting one"
    )
    parser.add_argument("--plaintext", action="store_true", help="no TLS (default: mTLS)")
    args = parser.parse_args(argv)
    began = time.monotonic()
    base = ROOT / "var" / "interop"
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=time.strftime("run-%Y%m%d-%H%M%S-"), dir=base))
    bin_dir = work / "bin"
    bin_dir.mkdir()
    all_langs = languages(bin_dir)
    names = [n.strip() for n in args.langs.split(",") if n.strip()]
    unknown = sorted(set(names) - set(all_langs))
    if unknown:
        parser.error(f"unknown languages {unknown}; known: {sorted(all_langs)}")
    langs = [all_langs[n] for n in names]
    log(f"work dir {work.relative_to(ROOT)}")
    ok = False
    try:
        ok = run(args, langs, work, began)
    finally:
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"logs kept in {work}")
    return 0 if ok else 1


def run(args: argparse.Namespace, langs: list[Lang], work: Path, began: float) -> bool:
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(langs) + 1) as pool:
        builds = {lang.name: pool.submit(build, lang, work) for lang in langs}
        if args.build_only:
            return wait_builds(builds)
        # MLflow and the feedback server start side by side (the service comes up and
        # serves while MLflow is still unreachable), while the clients build.
        t = time.monotonic()
        mlflow_server: MlflowServer | None = None
        mlflow_started: concurrent.futures.Future[Any] | None = None
        if args.tracking_uri:
            tracking_uri = args.tracking_uri
        else:
            mlflow_server = MlflowServer.sqlite(work / "mlflow")
            mlflow_started = pool.submit(mlflow_server.start)
            tracking_uri = mlflow_server.url
        try:
            pki = None if args.plaintext else Pki.create(work / "pki")
            with feedback_server(tracking_uri, work, pki) as addr:
                mode = "plaintext" if pki is None else "mTLS"
                log(f"feedback server at {addr}, {mode} ({time.monotonic() - t:.1f} s)")
                if mlflow_started is not None:
                    mlflow_started.result()
                log(f"MLflow at {tracking_uri} ({time.monotonic() - t:.1f} s)")
                if not wait_builds(builds):
                    return False
                t = time.monotonic()
                outcomes = list(pool.map(lambda lang: run_example(lang, addr, work, pki), langs))
                for o in outcomes:
                    log(f"{o.lang}: example exited {o.code} in {o.seconds:.1f} s")
                log(f"examples ran in {time.monotonic() - t:.1f} s")
                t = time.monotonic()
                verify_in_mlflow(outcomes, tracking_uri)
                log(f"MLflow checks took {time.monotonic() - t:.1f} s")
        finally:
            if mlflow_server is not None and mlflow_started is not None:
                with contextlib.suppress(Exception):
                    mlflow_started.result()
                mlflow_server.close()
    passed = [o for o in outcomes if not o.problems]
    failed = [o for o in outcomes if o.problems]
    for o in outcomes:
        v = o.values
        status = "PASS" if not o.problems else "FAIL"
        log(
            f"{status} {o.lang:5} chat trace {v.get('TRACE_ID', '?')}, stream trace "
            f"{v.get('STREAM_TRACE_ID', '?')} (client request {v.get('CLIENT_REQUEST_ID', '?')})"
        )
        for p in o.problems:
            log(f"       {p}")
        if o.problems and o.stdout:
            log(f"       stdout:\n{o.stdout}")
    log(f"total {time.monotonic() - began:.1f} s")
    print(f"interop: {len(passed)} passed, {len(failed)} failed", flush=True)
    return not failed


def wait_builds(builds: dict[str, concurrent.futures.Future[float]]) -> bool:
    ok = True
    for name, future in builds.items():
        try:
            log(f"{name}: built in {future.result():.1f} s")
        except Exception as exc:
            log(f"{name}: BUILD FAILED: {exc}")
            ok = False
    return ok


if __name__ == "__main__":
    sys.exit(main())
