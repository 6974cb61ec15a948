"""A large MLflow store of judged traces, written straight into MLflow's database.

`seed` inserts traces (info, metadata, tags, one span each) and their assessments through
MLflow's own SQLAlchemy models, in bulk: 100,000 traces take about a minute instead of the
hours the REST API would take. The rows are what MLflow itself writes for a traced chat
turn and for `log_feedback` / `override_feedback` (denormalized experiment and trace time,
the numeric aggregate, `valid` and `overrides`), so the tracking server reads them like its
own. The judgments are the mix the feedback service writes:

- thumbs (`user_feedback`) from several named users per trace, some changed (the old one
  kept, `valid=false`, the new one `overrides` it), some retracted (the service's
  retraction marker overrides them), and anonymous thumbs that are never merged;
- rating dimensions `user_accuracy` and `user_relevance` (`rating / 5`), some changed;
- a free-text `comment`.

`recount` recounts every figure of a summary with plain SQL over the same rows (the truth a
summary must equal), independent of the service and of MLflow's aggregation code.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: The service's retraction marker and judged-by tag (domain/supersession.py).
RETRACTED_SUFFIX = ":retracted"
JUDGED_TAG_PREFIX = "feedback.judged."
USERS = 200
SESSIONS = 2_000
CHUNK = 5_000


@dataclass(frozen=True)
class Seeded:
    traces: int
    assessments: int
    start_ms: int
    end_ms: int


def _hex() -> str:
    return uuid.uuid4().hex


def _span_content(trace_id: str, span_id: str, start_ns: int, end_ns: int) -> str:
    import base64

    return json.dumps(
        {
            "trace_id": base64.b64encode(bytes.fromhex(trace_id[3:])).decode(),
            "span_id": base64.b64encode(bytes.fromhex(span_id)).decode(),
            "parent_span_id": None,
            "name": "chat",
            "start_time_unix_nano": start_ns,
            "end_time_unix_nano": end_ns,
            "events": [],
            "status": {"code": "STATUS_CODE_OK", "message": ""},
            "attributes": {
                "mlflow.traceRequestId": json.dumps(trace_id),
                "mlflow.spanType": '"CHAT_MODEL"',
                "mlflow.spanInputs": '{"message": "hello"}',
                "mlflow.spanOutputs": '"hello"',
            },
            "links": [],
        }
    )


class _Rows:
    """The rows of one chunk of traces, per table."""

    def __init__(self) -> None:
        self.infos: list[dict[str, Any]] = []
        self.metadata: list[dict[str, Any]] = []
        self.tags: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.assessments: list[dict[str, Any]] = []


def _assessment(
    trace: dict[str, Any],
    name: str,
    value: Any,
    source_id: str,
    created_ms: int,
    *,
    valid: bool = True,
    overrides: str | None = None,
    error: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    from mlflow.store.tracking.utils.trace_analytics import assessment_aggregate

    aggregate, numeric = assessment_aggregate(value)
    return {
        "assessment_id": "a-" + _hex(),
        "trace_id": trace["request_id"],
        "name": name,
        "assessment_type": "feedback",
        "value": json.dumps(value),
        "error": error,
        "created_timestamp": created_ms,
        "last_updated_timestamp": created_ms,
        "experiment_id": trace["experiment_id"],
        "trace_timestamp_ms": trace["timestamp_ms"],
        "aggregate_value": aggregate,
        "is_numeric_value": numeric,
        "source_type": "HUMAN",
        "source_id": source_id,
        "run_id": None,
        "span_id": None,
        "rationale": None,
        "overrides": overrides,
        "valid": valid,
        "assessment_metadata": json.dumps(metadata) if metadata else None,
    }


def _judge(rows: _Rows, trace: dict[str, Any], rng: random.Random) -> None:
    """Appends the judgments of one trace (see the module docstring for the mix), and the
    trace's `feedback.judged.<name>` tags as the service's writer keeps them."""
    first_row = len(rows.assessments)
    _judgments(rows, trace, rng)
    judged = {
        a["name"]
        for a in rows.assessments[first_row:]
        if a["valid"] and RETRACTED_SUFFIX not in a["name"]
    }
    for name in sorted(judged):
        rows.tags.append(
            {"request_id": trace["request_id"], "key": JUDGED_TAG_PREFIX + name, "value": "true"}
        )


def _judgments(rows: _Rows, trace: dict[str, Any], rng: random.Random) -> None:
    t = trace["timestamp_ms"] + 1_000
    roll = rng.random()
    if roll < 0.3:
        return  # no judgment at all
    voters = rng.sample(range(USERS), rng.choice((1, 1, 1, 2, 3)))
    for k, user in enumerate(voters):
        source = f"user-{user}"
        first = _assessment(trace, "user_feedback", rng.random() < 0.7, source, t + k)
        rows.assessments.append(first)
        change = rng.random()
        if change < 0.15:  # the vote changed: the old one superseded, kept invalid
            first["valid"] = False
            rows.assessments.append(
                _assessment(
                    trace,
                    "user_feedback",
                    not json.loads(first["value"]),
                    source,
                    t + 100 + k,
                    overrides=first["assessment_id"],
                )
            )
        elif change < 0.22:  # retracted: the marker overrides it
            first["valid"] = False
            rows.assessments.append(
                _assessment(
                    trace,
                    "user_feedback" + RETRACTED_SUFFIX,
                    None,
                    source,
                    t + 200 + k,
                    overrides=first["assessment_id"],
                    error=json.dumps({"error_code": "RETRACTED", "error_message": "retracted"}),
                    metadata={"feedback.retracts": first["assessment_id"]},
                )
            )
    if rng.random() < 0.1:  # an anonymous thumb: never merged with anything
        rows.assessments.append(
            _assessment(trace, "user_feedback", rng.random() < 0.5, "anonymous", t + 300)
        )
    if rng.random() < 0.4:
        rater = f"user-{rng.randrange(USERS)}"
        for dim in ("accuracy", "relevance"):
            old = _assessment(trace, f"user_{dim}", rng.randint(1, 5) / 5, rater, t + 400)
            rows.assessments.append(old)
            if rng.random() < 0.1:
                old["valid"] = False
                rows.assessments.append(
                    _assessment(
                        trace,
                        f"user_{dim}",
                        rng.randint(1, 5) / 5,
                        rater,
                        t + 500,
                        overrides=old["assessment_id"],
                    )
                )
    if rng.random() < 0.2:
        rows.assessments.append(
            _assessment(trace, "comment", f"comment {rng.random():.6f}", "user-0", t + 600)
        )


def _chunks(
    n: int, experiment_id: int, start_ms: int, end_ms: int, rng: random.Random
) -> Iterator[_Rows]:
    step = max(1, (end_ms - start_ms) // max(1, n))
    rows = _Rows()
    for i in range(n):
        ts = start_ms + i * step + rng.randrange(step)
        trace_id = "tr-" + _hex()
        user = f"u{rng.randrange(USERS)}"
        session = f"s{rng.randrange(SESSIONS)}"
        trace = {
            "request_id": trace_id,
            "experiment_id": experiment_id,
            "timestamp_ms": ts,
            "execution_time_ms": 5,
            "status": "OK",
            "client_request_id": f"crid-{i}",
            "request_preview": '{"message": "hello"}',
            "response_preview": '"hello"',
            "trace_name": "chat",
            "session_id": session,
        }
        rows.infos.append(trace)
        for key, value in (
            ("mlflow.trace.user", user),
            ("mlflow.trace.session", session),
            ("mlflow.trace_schema.version", "3"),
            ("mlflow.trace.infoFinalized", "true"),
            ("app", "web" if i % 3 else "mobile"),
        ):
            rows.metadata.append({"request_id": trace_id, "key": key, "value": value})
        rows.tags.append(
            {"request_id": trace_id, "key": "mlflow.trace.spansLocation", "value": "TRACKING_STORE"}
        )
        span_id = uuid.uuid4().hex[:16]
        start_ns = ts * 1_000_000
        rows.spans.append(
            {
                "trace_id": trace_id,
                "experiment_id": experiment_id,
                "span_id": span_id,
                "parent_span_id": None,
                "name": "chat",
                "type": "CHAT_MODEL",
                "status": "OK",
                "start_time_unix_nano": start_ns,
                "end_time_unix_nano": start_ns + 5_000_000,
                "content": _span_content(trace_id, span_id, start_ns, start_ns + 5_000_000),
            }
        )
        _judge(rows, trace, rng)
        if len(rows.infos) >= CHUNK:
            yield rows
            rows = _Rows()
    if rows.infos:
        yield rows


def seed(
    db_uri: str, experiment_id: str, n: int, *, start_ms: int, end_ms: int, seed: int = 0
) -> Seeded:
    """Inserts `n` judged traces created in [start_ms, end_ms) into experiment
    `experiment_id` of the MLflow store at `db_uri` (a SQLAlchemy URI)."""
    import sqlalchemy as sa
    from mlflow.store.tracking.dbmodels.models import (
        SqlAssessments,
        SqlSpan,
        SqlTraceInfo,
        SqlTraceMetadata,
        SqlTraceTag,
    )

    engine = sa.create_engine(db_uri)
    rng = random.Random(seed)
    traces = assessments = 0
    try:
        for rows in _chunks(n, int(experiment_id), start_ms, end_ms, rng):
            with engine.begin() as conn:
                conn.execute(sa.insert(SqlTraceInfo.__table__), rows.infos)
                conn.execute(sa.insert(SqlTraceMetadata.__table__), rows.metadata)
                conn.execute(sa.insert(SqlTraceTag.__table__), rows.tags)
                conn.execute(sa.insert(SqlSpan.__table__), rows.spans)
                if rows.assessments:
                    conn.execute(sa.insert(SqlAssessments.__table__), rows.assessments)
            traces += len(rows.infos)
            assessments += len(rows.assessments)
    finally:
        engine.dispose()
    return Seeded(traces, assessments, start_ms, end_ms)


def recount(
    db_uri: str, experiment_id: str, start_ms: int, end_ms: int, name: str = "user_feedback"
) -> dict[str, Any]:
    """Every figure of a summary of [start_ms, end_ms), by plain SQL over the store."""
    import sqlalchemy as sa

    window = (
        "FROM trace_info t WHERE t.experiment_id = :e "
        "AND t.timestamp_ms >= :s AND t.timestamp_ms < :t"
    )
    valid = (
        "FROM assessments a JOIN trace_info t ON t.request_id = a.trace_id "
        "WHERE t.experiment_id = :e AND t.timestamp_ms >= :s AND t.timestamp_ms < :t "
        "AND a.valid AND a.assessment_type = 'feedback'"
    )
    params = {"e": int(experiment_id), "s": start_ms, "t": end_ms, "n": name}
    engine = sa.create_engine(db_uri)
    try:
        with engine.connect() as conn:

            def one(sql: str) -> Any:
                return conn.execute(sa.text(sql), params).scalar()

            total = one(f"SELECT COUNT(*) {window}")
            with_feedback = one(f"SELECT COUNT(DISTINCT a.trace_id) {valid} AND a.name = :n")
            positive = one(f"SELECT COUNT(*) {valid} AND a.name = :n AND a.value = 'true'")
            negative = one(f"SELECT COUNT(*) {valid} AND a.name = :n AND a.value = 'false'")
            averages = {
                str(row[0])[len("user_") :]: float(row[1])
                for row in conn.execute(
                    sa.text(
                        f"SELECT a.name, AVG(a.aggregate_value) {valid} "
                        "AND a.name LIKE 'user\\_%' ESCAPE '\\' AND a.name != :n "
                        "AND a.aggregate_value IS NOT NULL GROUP BY a.name"
                    ),
                    params,
                )
            }
    finally:
        engine.dispose()
    judged = positive + negative
    return {
        "total_traces": int(total),
        "traces_with_feedback": int(with_feedback),
        "positive_count": int(positive),
        "negative_count": int(negative),
        "feedback_rate": with_feedback / total if total else 0.0,
        "positive_rate": positive / judged if judged else 0.0,
        "average_ratings": averages,
    }
