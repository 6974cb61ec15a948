"""Evaluation of the application against the experts' expected responses (the seed's step
5 and 6), with the token-F1 scorer and an LLM judge.
"""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import mlflow
import pytest
from feedback.v1 import review_service_pb2 as rv

from testbed.fake_openai import FakeOpenAI
from tests.integration.review.support import (
    EXPECTED_MLFLOW,
    Review,
    assessments_of,
    category,
    details,
    seed_session,
    text,
)
from tests.integration.service import start_service, stop_service, wait_until

pytestmark = pytest.mark.integration


async def label_all(
    review: Review, session: str, accuracy: str, expected: str, answers: dict[str, str | None]
) -> dict[str, str]:
    """Labels every pending item; `answers` maps a request to its expected response (None:
    no expectation). Returns trace ID -> request."""
    requests: dict[str, str] = {}
    while True:
        reply = await review.stub.GetNextItem(
            rv.GetNextItemRequest(session=session, reviewer="alice")
        )
        if not reply.HasField("item"):
            return requests
        item = reply.item
        requests[item.trace_id] = item.request
        labels = {accuracy: category("Inaccurate")}
        answer = answers[item.request]
        if answer is not None:
            labels[expected] = text(answer)
        await review.stub.SubmitLabels(
            rv.SubmitLabelsRequest(
                session=session, reviewer="alice", trace_id=item.trace_id, labels=labels
            )
        )


async def test_evaluation_reruns_labeled_traces_and_scores_new_traces(review: Review) -> None:
    session, accuracy, expected, _ = await seed_session(review, ["alice"], items=3)
    # The echo backend answers "You said: <message> This answer comes from ...": an
    # expert expecting exactly that passes; one expecting the real answer fails.
    answers: dict[str, str | None] = {
        "What is MLflow? (0)": "You said: What is MLflow? (0) This answer comes from the "
        "embedded echo backend.",
        "What is MLflow? (1)": EXPECTED_MLFLOW,
        "What is MLflow? (2)": None,
    }
    requests = await label_all(review, session, accuracy, expected, answers)
    assert len(requests) == 3

    events = [
        e
        async for e in review.stub.EvaluateSession(
            rv.EvaluateSessionRequest(session=session, expectation_name=expected)
        )
    ]
    assert [e.WhichOneof("event") for e in events] == ["progress"] * 3 + ["result"]
    assert [e.progress.done_count for e in events[:3]] == [1, 2, 3]
    result = events[-1].result
    assert (result.scored_count, result.passed_count, result.skipped_count) == (2, 1, 1)
    assert result.pass_rate == pytest.approx(0.5)
    assert result.scorer == rv.SCORER_TOKEN_F1 and result.threshold == 0.5
    assert result.feedback_name == "correctness"

    by_request = {requests[i.source_trace_id]: i for i in result.items}
    passed, failed = by_request["What is MLflow? (0)"], by_request["What is MLflow? (1)"]
    assert passed.passed and passed.score == pytest.approx(1.0)
    assert not failed.passed and failed.score < 0.5
    assert by_request["What is MLflow? (2)"].status == rv.EVALUATION_ITEM_STATUS_SKIPPED

    # Each scored item is a new traced turn carrying its score as CODE feedback.
    for item in (passed, failed):
        assert item.status == rv.EVALUATION_ITEM_STATUS_SCORED
        assert item.trace_id and item.trace_id != item.source_trace_id
        score = await wait_until(
            lambda item=item: next(
                (a for a in assessments_of(review, item.trace_id) if a.name == "correctness"),
                None,
            )
        )
        assert score.assessment_id == item.assessment_id
        assert score.value == pytest.approx(item.score)
        assert str(score.source.source_type) == "CODE" and score.source.source_id == "token_f1"
        assert score.metadata["passed"] == ("true" if item.passed else "false")
        assert score.metadata["source_trace_id"] == item.source_trace_id
        trace = mlflow.get_trace(item.trace_id)
        assert trace.info.trace_metadata["feedback.eval.source_trace_id"] == item.source_trace_id
        assert trace.info.trace_metadata["feedback.rpc"] == "EvaluateSession"


async def test_evaluation_errors(review: Review) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in review.stub.EvaluateSession(
            rv.EvaluateSessionRequest(session="no_such_session")
        ):
            pass
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    session, _, _, _ = await seed_session(review, ["alice"], items=0)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in review.stub.EvaluateSession(
            rv.EvaluateSessionRequest(session=session, scorer=rv.SCORER_LLM_JUDGE)
        ):
            pass
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(info.value)[0] == "LLM_JUDGE_NOT_CONFIGURED"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in review.stub.EvaluateSession(
            rv.EvaluateSessionRequest(session=session, threshold=1.5)
        ):
            pass
    assert details(info.value)[1] == ["threshold"]


async def test_evaluation_with_an_llm_judge(
    mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with FakeOpenAI(chunks=["Yes\n", "It matches the expected response."]) as judge:
        service = await start_service(
            mlflow_sqlite.url,
            tmp_path_factory.mktemp("judge-spool"),
            experiment_name=f"judge-{uuid.uuid4().hex[:8]}",
            openai_base_url=judge.base_url,
            openai_model="judge-model",
        )
        try:
            review = Review(service)
            session, accuracy, expected, _ = await seed_session(review, ["alice"], items=1)
            await label_all(
                review, session, accuracy, expected, {"What is MLflow? (0)": EXPECTED_MLFLOW}
            )
            events = [
                e
                async for e in review.stub.EvaluateSession(
                    rv.EvaluateSessionRequest(
                        session=session, scorer=rv.SCORER_LLM_JUDGE, expectation_name=expected
                    )
                )
            ]
            result = events[-1].result
            assert result.scorer == rv.SCORER_LLM_JUDGE
            assert (result.scored_count, result.passed_count) == (1, 1)
            item = result.items[0]
            assert item.rationale == "It matches the expected response."
            prompt = judge.requests[0].body["messages"][-1]["content"]
            assert EXPECTED_MLFLOW in prompt and "What is MLflow? (0)" in prompt
            score = await wait_until(
                lambda: next(
                    (a for a in assessments_of(review, item.trace_id) if a.name == "correctness"),
                    None,
                )
            )
            assert str(score.source.source_type) == "LLM_JUDGE"
            assert score.source.source_id == "llm_judge:openai:judge-model"
            assert score.value == 1.0
        finally:
            await stop_service(service)
