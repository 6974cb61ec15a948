"""The gateway's assessment writes against a real MLflow server: the same assessment as
MLflow's own client would create, idempotent on the assessment ID, trace-not-found
reported as such."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import mlflow
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback_server.domain.model import (
    Judgment,
    JudgmentKind,
    SourceType,
    TraceTarget,
    WriteResult,
)
from mlflow.tracing.client import TracingClient

from tests.integration.service import Service, finalized_trace, wait_until


async def _trace(service: Service) -> str:
    """A chat turn's trace, once MLflow has it whole (its spans can land first)."""
    reply = await service.chat.Chat(chat_pb.ChatRequest(message="hello"))
    await wait_until(lambda: finalized_trace(service.tracking_uri, reply.trace_id))
    return str(reply.trace_id)


def _judgment(kind: JudgmentKind, value: Any, **kw: Any) -> Judgment:
    return Judgment(
        assessment_id=f"a-{uuid.uuid4().hex}",
        request_id=uuid.uuid4().hex,
        kind=kind,
        target=TraceTarget(trace_id=kw.pop("trace_id", None)),
        name=kw.pop("name", "user_feedback"),
        value=value,
        source_type=SourceType.HUMAN,
        source_id="enduser_123",
        **kw,
    )


def _fields(a: Any) -> dict[str, Any]:
    value = a.feedback.value if a.feedback is not None else a.expectation.value
    return {
        "name": a.name,
        "value": value,
        "kind": "feedback" if a.feedback is not None else "expectation",
        "source": (a.source.source_type, a.source.source_id),
        "rationale": a.rationale,
        "metadata": a.metadata,
        "span_id": a.span_id,
        "valid": a.valid,
    }


async def test_written_like_mlflows_client_and_idempotent(service: Service) -> None:
    gateway = service.app.gateway
    assert gateway._poster is not None  # a plain http tracking server: the lean path
    trace_id = await _trace(service)
    client = TracingClient(service.tracking_uri)
    cases = [
        _judgment(JudgmentKind.FEEDBACK, False, rationale="wrong", metadata={"k": "v"}),
        _judgment(JudgmentKind.FEEDBACK, 0.75, name="user_accuracy"),
        _judgment(JudgmentKind.FEEDBACK, {"a": [1, "x"]}, name="user_struct"),
        _judgment(JudgmentKind.EXPECTATION, "MLflow is a platform", name="expected_response"),
    ]
    for judgment in cases:
        first = await gateway.write_assessment(judgment, trace_id)
        again = await gateway.write_assessment(judgment, trace_id)
        assert first.result is WriteResult.STORED, first
        assert again.result is WriteResult.STORED, again
        stored = await asyncio.to_thread(client.get_assessment, trace_id, judgment.assessment_id)
        # The same judgment through MLflow's own client, for comparison.
        reference = _judgment(
            judgment.kind,
            judgment.value,
            name=judgment.name,
            rationale=judgment.rationale,
            metadata=judgment.metadata,
        )
        gateway._poster, poster = None, gateway._poster
        try:
            assert (
                await gateway.write_assessment(reference, trace_id)
            ).result is WriteResult.STORED
        finally:
            gateway._poster = poster
        expected = await asyncio.to_thread(client.get_assessment, trace_id, reference.assessment_id)
        assert _fields(stored) == _fields(expected)
        assert stored.trace_id == trace_id
    all_ids = {a.assessment_id for a in mlflow.get_trace(trace_id).info.assessments}
    assert {j.assessment_id for j in cases} <= all_ids


async def test_unknown_trace_is_trace_not_found(service: Service) -> None:
    missing = f"tr-{uuid.uuid4().hex}"
    outcome = await service.app.gateway.write_assessment(
        _judgment(JudgmentKind.FEEDBACK, True), missing
    )
    assert outcome.result is WriteResult.TRACE_NOT_FOUND, outcome
