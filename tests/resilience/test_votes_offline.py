"""A vote changed and a vote retracted while MLflow is down (SIGKILLed), across a crash of
the feedback server itself: both are acknowledged at once from what the service's spool
knows (the superseded and the retracted judgment named), a retraction it cannot judge is
refused (UNAVAILABLE), and once MLflow is back each lands in MLflow in order, through
MLflow's override, and the summary counts the current votes only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb

from testbed.poll import poll_async
from tests.resilience.harness import Stubs, experiment_traces

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(420)]

QUEUED = common_pb2.INGESTION_STATE_QUEUED


def vote(trace_id: str, up: bool, user: str) -> fb.LogFeedbackRequest:
    return fb.LogFeedbackRequest(
        target=common_pb2.TraceRef(trace_id=trace_id),
        value=common_pb2.FeedbackValue(boolean=up),
        source=common_pb2.Source(id=user),
        request_id=uuid.uuid4().hex,
    )


def retract(trace_id: str, user: str) -> fb.RetractFeedbackRequest:
    return fb.RetractFeedbackRequest(
        target=common_pb2.TraceRef(trace_id=trace_id),
        source=common_pb2.Source(id=user),
        request_id=uuid.uuid4().hex,
    )


async def test_votes_changed_and_retracted_while_mlflow_is_down(
    mlflow_server_factory: Callable[..., Any],
    feedback_server_factory: Callable[..., Any],
) -> None:
    mlflow = await asyncio.to_thread(mlflow_server_factory, "sqlite")
    experiment = f"offline-votes-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(feedback_server_factory, mlflow.url, experiment=experiment)
    stubs = Stubs(server.address)
    try:
        turn = await stubs.chat.Chat(chat_pb.ChatRequest(message="offline votes"), timeout=60)
        t = turn.trace_id
        alice_up = await stubs.feedback.LogFeedback(vote(t, True, "alice"), timeout=30)
        bob_down = await stubs.feedback.LogFeedback(vote(t, False, "bob"), timeout=30)
        stored = await poll_async(
            lambda: len(experiment_traces(mlflow.url, experiment).get(t, [])) == 2,
            within_s=120,
            interval_s=0.5,
        )
        assert stored, "the first votes did not reach MLflow"

        await asyncio.to_thread(mlflow.kill)
        # The service crashes too, and comes back while MLflow is still down: what it
        # knows of the trace's votes is in its spool.
        await asyncio.to_thread(server.kill)
        await asyncio.to_thread(server.start)
        alice_down = await stubs.feedback.LogFeedback(vote(t, False, "alice"), timeout=30)
        assert alice_down.state == QUEUED
        assert alice_down.superseded_assessment_id == alice_up.assessment_id
        taken = await stubs.feedback.RetractFeedback(retract(t, "bob"), timeout=30)
        assert (taken.state, taken.assessment_id) == (QUEUED, bob_down.assessment_id)
        with pytest.raises(grpc.aio.AioRpcError) as caught:  # nothing known of carol here
            await stubs.feedback.RetractFeedback(retract(t, "carol"), timeout=30)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE

        await asyncio.to_thread(mlflow.start)

        def settled() -> bool:
            found = {a.assessment_id: a for a in experiment_traces(mlflow.url, experiment)[t]}
            down = found.get(alice_down.assessment_id)
            marker = [a for a in found.values() if a.overrides == bob_down.assessment_id]
            return bool(
                down is not None
                and down.overrides == alice_up.assessment_id
                and found[alice_up.assessment_id].valid is False
                and found[bob_down.assessment_id].valid is False
                and [m.name for m in marker] == ["user_feedback:retracted"]
            )

        assert await poll_async(settled, within_s=180, interval_s=1.0), (
            "the changed vote and the retraction did not land in MLflow: "
            f"{experiment_traces(mlflow.url, experiment).get(t)}"
        )
        listed = await _list(stubs, t)
        by_id = {a.assessment_id: a for a in listed.assessments}
        assert by_id[alice_up.assessment_id].superseded_by_assessment_id == alice_down.assessment_id
        assert by_id[bob_down.assessment_id].retracted
        assert [a.assessment_id for a in listed.assessments if a.valid] == [
            alice_down.assessment_id
        ]
        summary = await stubs.feedback.SummarizeFeedback(fb.SummarizeFeedbackRequest(), timeout=30)
        assert (summary.positive_count, summary.negative_count) == (0, 1)
        assert (summary.total_traces, summary.traces_with_feedback) == (1, 1)
    finally:
        await stubs.channel.close()


async def _list(stubs: Stubs, trace_id: str) -> fb.ListFeedbackResponse:
    request = fb.ListFeedbackRequest(target=common_pb2.TraceRef(trace_id=trace_id))
    response: fb.ListFeedbackResponse = await stubs.feedback.ListFeedback(request, timeout=30)
    return response
