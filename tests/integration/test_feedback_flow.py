"""The seed's flows end to end: chat turns traced in a real MLflow server, typed
judgments stored as assessments, errors with the right status and details."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb_pb
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from tests.integration.service import (
    Service,
    finalized_trace,
    start_service,
    stop_service,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def service(
    mlflow_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    """The flows run against MLflow on SQLite and on PostgreSQL."""
    svc = await start_service(mlflow_server.url, tmp_path_factory.mktemp("spool"))
    yield svc
    await stop_service(svc)


def get_trace(service: Service, trace_id: str) -> Any:
    return finalized_trace(service.tracking_uri, trace_id)


def assessments_of(service: Service, trace_id: str) -> dict[str, Any]:
    trace = get_trace(service, trace_id)
    return {a.assessment_id: a for a in (trace.info.assessments if trace else [])}


async def wait_assessment(service: Service, trace_id: str, assessment_id: str) -> Any:
    return await wait_until(lambda: assessments_of(service, trace_id).get(assessment_id))


def thumbs(
    trace_id: str = "", crid: str = "", up: bool = False, **kw: Any
) -> fb_pb.LogFeedbackRequest:
    target = (
        common_pb2.TraceRef(trace_id=trace_id)
        if trace_id
        else common_pb2.TraceRef(client_request_id=crid)
    )
    return fb_pb.LogFeedbackRequest(target=target, value=common_pb2.FeedbackValue(boolean=up), **kw)


def bad_request_fields(err: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None, "no google.rpc.Status in the trailers"
    fields: list[str] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            fields += [v.field for v in br.field_violations]
    return fields


async def test_health_serving_and_reflection(service: Service) -> None:
    health = health_pb2_grpc.HealthStub(service.channel)
    for name in ("", "feedback.v1.FeedbackService", "feedback.v1.ChatService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_chat_then_thumbs_down_lands_in_mlflow(service: Service) -> None:
    reply = await service.chat.Chat(
        chat_pb.ChatRequest(
            message="What is MLflow?",
            user_id="enduser_123",
            session_id="s-1",
            metadata={"app": "t"},
        )
    )
    assert reply.trace_id.startswith("tr-") and len(reply.trace_id) == 35
    assert reply.client_request_id.startswith("req-")
    assert "What is MLflow?" in reply.response
    ack = await service.feedback.LogFeedback(
        thumbs(
            reply.trace_id,
            rationale="Missing details about MLflow's key features",
            source=common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="enduser_123"),
        )
    )
    assert ack.trace_id == reply.trace_id
    assert ack.state in (common_pb2.INGESTION_STATE_QUEUED, common_pb2.INGESTION_STATE_STORED)
    stored = await wait_assessment(service, reply.trace_id, ack.assessment_id)
    assert stored.name == "user_feedback"
    assert stored.value is False
    assert stored.rationale == "Missing details about MLflow's key features"
    assert stored.source.source_type == "HUMAN"
    assert stored.source.source_id == "enduser_123"
    info = get_trace(service, reply.trace_id).info
    assert info.client_request_id == reply.client_request_id
    assert info.trace_metadata["mlflow.trace.user"] == "enduser_123"
    assert info.trace_metadata["mlflow.trace.session"] == "s-1"
    assert info.trace_metadata["app"] == "t"
    assert str(info.state) in ("OK", "TraceState.OK")

    listed = await service.feedback.ListFeedback(
        fb_pb.ListFeedbackRequest(target=common_pb2.TraceRef(trace_id=reply.trace_id))
    )
    mine = [a for a in listed.assessments if a.assessment_id == ack.assessment_id]
    assert len(mine) == 1
    assert mine[0].feedback.WhichOneof("kind") == "boolean" and mine[0].feedback.boolean is False
    assert mine[0].source.id == "enduser_123"
    assert mine[0].state == common_pb2.INGESTION_STATE_STORED


@pytest.mark.parametrize("rpc", ["Chat", "StreamChat"])
async def test_feedback_the_instant_a_turn_returns(service: Service, rpc: str) -> None:
    """Zero delay between the turn and the judgment, many times in a row: every one is
    acknowledged and every one lands on its trace."""
    acks = []
    for i in range(15):
        if rpc == "Chat":
            reply = await service.chat.Chat(chat_pb.ChatRequest(message=f"q{i}"))
            trace_id, crid = reply.trace_id, reply.client_request_id
        else:
            last = None
            async for msg in service.chat.StreamChat(chat_pb.StreamChatRequest(message=f"q{i}")):
                last = msg
            assert last is not None and last.WhichOneof("event") == "completion"
            trace_id, crid = last.completion.trace_id, last.completion.client_request_id
        # Alternate the two ways of naming the trace.
        request = thumbs(trace_id, up=True) if i % 2 else thumbs(crid=crid, up=True)
        ack = await service.feedback.LogFeedback(request)
        assert ack.trace_id == trace_id
        acks.append(ack)
    for ack in acks:
        stored = await wait_assessment(service, ack.trace_id, ack.assessment_id)
        assert stored.value is True


async def test_stream_chat_deltas_then_one_completion(service: Service) -> None:
    call = service.chat.StreamChat(
        chat_pb.StreamChatRequest(message="tell me about tracing", client_request_id="my-req-1a")
    )
    initial = dict(await call.initial_metadata())
    events = [msg async for msg in call]
    kinds = [m.WhichOneof("event") for m in events]
    assert kinds.count("completion") == 1 and kinds[-1] == "completion"
    assert kinds.count("delta") >= 3
    completion = events[-1].completion
    assert initial["x-mlflow-trace-id"] == completion.trace_id
    assert completion.client_request_id == "my-req-1a"
    assert completion.response == "".join(m.delta.content for m in events[:-1])
    trace = await wait_until(lambda: get_trace(service, completion.trace_id))
    assert trace.info.client_request_id == "my-req-1a"


async def test_stream_failure_ends_with_status_and_trace_id(service: Service) -> None:
    call = service.chat.StreamChat(chat_pb.StreamChatRequest(message="please [[fail]] now"))
    initial = dict(await call.initial_metadata())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in call:
            pass
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    trailing = dict(caught.value.trailing_metadata() or ())
    trace_id = trailing["x-mlflow-trace-id"]
    assert trace_id == initial["x-mlflow-trace-id"]
    trace = await wait_until(lambda: get_trace(service, trace_id))
    assert "ERROR" in str(trace.info.state)


async def test_chat_failure_is_unavailable_with_trace_id(service: Service) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.chat.Chat(chat_pb.ChatRequest(message="[[fail]]"))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    trace_id = dict(caught.value.trailing_metadata() or ())["x-mlflow-trace-id"]
    trace = await wait_until(lambda: get_trace(service, trace_id))
    assert "ERROR" in str(trace.info.state)


async def test_cancelled_stream_leaves_an_error_trace(mlflow_sqlite: Any, tmp_path: Any) -> None:
    slow = await start_service(mlflow_sqlite.url, tmp_path, echo_delay_s=0.2)
    try:
        call = slow.chat.StreamChat(chat_pb.StreamChatRequest(message="a b c d e f g h"))
        trace_id = dict(await call.initial_metadata())["x-mlflow-trace-id"]
        async for _ in call:
            call.cancel()
            break
        trace = await wait_until(lambda: get_trace(slow, trace_id))
        assert "ERROR" in str(trace.info.state)
    finally:
        await stop_service(slow)


async def test_ratings_are_stored_per_dimension(service: Service) -> None:
    reply = await service.chat.Chat(chat_pb.ChatRequest(message="rate me"))
    ack = await service.feedback.LogRatings(
        fb_pb.LogRatingsRequest(
            target=common_pb2.TraceRef(trace_id=reply.trace_id),
            ratings={"accuracy": 4, "helpfulness": 5, "relevance": 2},
            rationale="good",
            source=common_pb2.Source(id="u1"),
        )
    )
    assert [r.dimension for r in ack.results] == ["accuracy", "helpfulness", "relevance"]
    assert [r.value for r in ack.results] == [0.8, 1.0, 0.4]
    for r in ack.results:
        stored = await wait_assessment(service, reply.trace_id, r.assessment_id)
        assert stored.name == f"user_{r.dimension}"
        assert stored.value == pytest.approx(r.value)
        assert stored.source.source_id == "u1"


async def test_expectation_is_stored_as_ground_truth(service: Service) -> None:
    reply = await service.chat.Chat(chat_pb.ChatRequest(message="What is MLflow?"))
    ack = await service.feedback.LogExpectation(
        fb_pb.LogExpectationRequest(
            target=common_pb2.TraceRef(client_request_id=reply.client_request_id),
            name="expected_response",
            value=struct_pb2.Value(string_value="MLflow is an open-source platform."),
            source=common_pb2.Source(id="expert_1"),
        )
    )
    stored = await wait_assessment(service, reply.trace_id, ack.assessment_id)
    assert type(stored).__name__ == "Expectation"
    assert stored.value == "MLflow is an open-source platform."
    assert stored.source.source_id == "expert_1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (common_pb2.FeedbackValue(number=0.75), 0.75),
        (common_pb2.FeedbackValue(category="Partially Accurate"), "Partially Accurate"),
        (common_pb2.FeedbackValue(text="free comment"), "free comment"),
    ],
)
async def test_typed_values(
    service: Service, value: common_pb2.FeedbackValue, expected: Any
) -> None:
    reply = await service.chat.Chat(chat_pb.ChatRequest(message="typed"))
    ack = await service.feedback.LogFeedback(
        fb_pb.LogFeedbackRequest(
            target=common_pb2.TraceRef(trace_id=reply.trace_id),
            name="accuracy_score",
            value=value,
            source=common_pb2.Source(type=common_pb2.SOURCE_TYPE_LLM_JUDGE, id="judge"),
        )
    )
    stored = await wait_assessment(service, reply.trace_id, ack.assessment_id)
    assert stored.value == expected
    assert stored.source.source_type == "LLM_JUDGE"


async def test_structured_value(service: Service) -> None:
    reply = await service.chat.Chat(chat_pb.ChatRequest(message="structured"))
    value = common_pb2.FeedbackValue()
    value.structured.struct_value.update({"tone": "formal", "score": 3})
    ack = await service.feedback.LogFeedback(
        fb_pb.LogFeedbackRequest(
            target=common_pb2.TraceRef(trace_id=reply.trace_id), name="style", value=value
        )
    )
    stored = await wait_assessment(service, reply.trace_id, ack.assessment_id)
    assert stored.value == {"tone": "formal", "score": 3}


async def test_same_request_id_is_stored_once(service: Service) -> None:
    reply = await service.chat.Chat(chat_pb.ChatRequest(message="idempotent"))
    request = thumbs(reply.trace_id, request_id=f"retry-{uuid.uuid4().hex}")
    first, second = await asyncio.gather(
        service.feedback.LogFeedback(request), service.feedback.LogFeedback(request)
    )
    third = await service.feedback.LogFeedback(request)
    assert first.assessment_id == second.assessment_id == third.assessment_id
    await wait_assessment(service, reply.trace_id, first.assessment_id)
    await asyncio.sleep(1.0)
    names = [a.name for a in assessments_of(service, reply.trace_id).values()]
    assert names.count("user_feedback") == 1


# --- error paths: the right code, the field named, nothing written -----------------------


async def _expect_invalid(service: Service, call: Any, field: str) -> None:
    depth_before = service.app.spool.depth()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_request_fields(caught.value)
    assert service.app.spool.depth() == depth_before


async def test_invalid_feedback_is_rejected_naming_the_field(service: Service) -> None:
    reply = await service.chat.Chat(chat_pb.ChatRequest(message="errors"))
    ref = common_pb2.TraceRef(trace_id=reply.trace_id)
    yes = common_pb2.FeedbackValue(boolean=True)
    fb = service.feedback
    cases: list[tuple[Any, str]] = [
        (fb.LogFeedback(fb_pb.LogFeedbackRequest(value=yes)), "target"),
        (fb.LogFeedback(fb_pb.LogFeedbackRequest(target=ref)), "value"),
        (
            fb.LogFeedback(
                fb_pb.LogFeedbackRequest(
                    target=common_pb2.TraceRef(trace_id="tr-../../experiments"), value=yes
                )
            ),
            "target.trace_id",
        ),
        (
            fb.LogFeedback(
                fb_pb.LogFeedbackRequest(
                    target=common_pb2.TraceRef(client_request_id="x' OR '1'='1"), value=yes
                )
            ),
            "target.client_request_id",
        ),
        (
            fb.LogFeedback(
                fb_pb.LogFeedbackRequest(
                    target=common_pb2.TraceRef(client_request_id="r" * 51), value=yes
                )
            ),
            "target.client_request_id",
        ),
        (fb.LogFeedback(fb_pb.LogFeedbackRequest(target=ref, value=yes, name="n" * 65)), "name"),
        (
            fb.LogFeedback(fb_pb.LogFeedbackRequest(target=ref, value=yes, rationale="x" * 8_193)),
            "rationale",
        ),
        (
            fb.LogFeedback(
                fb_pb.LogFeedbackRequest(
                    target=ref, value=common_pb2.FeedbackValue(number=float("nan"))
                )
            ),
            "value.number",
        ),
        (
            fb.LogFeedback(
                fb_pb.LogFeedbackRequest(
                    target=ref, value=yes, metadata={f"k{i}": "v" for i in range(33)}
                )
            ),
            "metadata",
        ),
        (
            fb.LogFeedback(
                fb_pb.LogFeedbackRequest(target=ref, value=yes, source=common_pb2.Source(type=99))
            ),
            "source.type",
        ),
        (
            fb.LogFeedback(fb_pb.LogFeedbackRequest(target=ref, value=yes, request_id="a b")),
            "request_id",
        ),
        (  # MLflow stores 250 characters of a source ID
            fb.LogFeedback(
                fb_pb.LogFeedbackRequest(
                    target=ref, value=yes, source=common_pb2.Source(id="s" * 251)
                )
            ),
            "source.id",
        ),
        (
            fb.LogRatings(fb_pb.LogRatingsRequest(target=ref, ratings={"accuracy": 6})),
            "ratings['accuracy']",
        ),
        (
            fb.LogRatings(fb_pb.LogRatingsRequest(target=ref, ratings={"accuracy": 0})),
            "ratings['accuracy']",
        ),
        (fb.LogRatings(fb_pb.LogRatingsRequest(target=ref)), "ratings"),
        (
            fb.LogRatings(fb_pb.LogRatingsRequest(target=ref, ratings={"a": 1}, scale_max=11)),
            "scale_max",
        ),
        (
            fb.LogExpectation(fb_pb.LogExpectationRequest(target=ref, name="expected_response")),
            "value",
        ),
        (
            fb.LogExpectation(
                fb_pb.LogExpectationRequest(
                    target=ref,
                    name="expected_response",
                    value=struct_pb2.Value(string_value="x" * 20_000),
                )
            ),
            "value",
        ),
    ]
    for call, field in cases:
        await _expect_invalid(service, call, field)
    # Nothing reached MLflow either.
    await asyncio.sleep(0.5)
    assert assessments_of(service, reply.trace_id) == {}


async def test_invalid_chat_requests(service: Service) -> None:
    for request, field in [
        (chat_pb.ChatRequest(message=""), "message"),
        (chat_pb.ChatRequest(message="x" * 40_000), "message"),
        (chat_pb.ChatRequest(message="hi", client_request_id="has space"), "client_request_id"),
        (
            chat_pb.ChatRequest(message="hi", metadata={"mlflow.user": "x"}),
            "metadata['mlflow.user']",
        ),
        (chat_pb.ChatRequest(message="hi", user_id="u" * 251), "user_id"),
        (chat_pb.ChatRequest(message="hi", session_id="s" * 251), "session_id"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.chat.Chat(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in bad_request_fields(caught.value)


async def test_unknown_ids_are_not_found(service: Service) -> None:
    depth_before = service.app.spool.depth()
    for target in (
        common_pb2.TraceRef(trace_id="tr-" + "0" * 32),
        common_pb2.TraceRef(client_request_id="never-seen-123"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.feedback.LogFeedback(
                fb_pb.LogFeedbackRequest(
                    target=target, value=common_pb2.FeedbackValue(boolean=True)
                )
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.feedback.ListFeedback(fb_pb.ListFeedbackRequest(target=target))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert service.app.spool.depth() == depth_before


async def test_summary_counts_feedback_and_ratings(mlflow_sqlite: Any, tmp_path: Any) -> None:
    svc = await start_service(mlflow_sqlite.url, tmp_path)
    try:
        replies = [await svc.chat.Chat(chat_pb.ChatRequest(message=f"m{i}")) for i in range(5)]
        acks = [
            await svc.feedback.LogFeedback(thumbs(replies[0].trace_id, up=True)),
            await svc.feedback.LogFeedback(thumbs(replies[1].trace_id, up=True)),
            await svc.feedback.LogFeedback(thumbs(replies[2].trace_id, up=False)),
        ]
        ratings = await svc.feedback.LogRatings(
            fb_pb.LogRatingsRequest(
                target=common_pb2.TraceRef(trace_id=replies[3].trace_id),
                ratings={"accuracy": 4, "relevance": 3},
            )
        )
        ratings2 = await svc.feedback.LogRatings(
            fb_pb.LogRatingsRequest(
                target=common_pb2.TraceRef(trace_id=replies[4].trace_id), ratings={"accuracy": 2}
            )
        )
        for ack in acks:
            await wait_assessment(svc, ack.trace_id, ack.assessment_id)
        for r in (*ratings.results, *ratings2.results):
            await wait_assessment(
                svc,
                replies[3].trace_id if r in ratings.results else replies[4].trace_id,
                r.assessment_id,
            )
        summary = await svc.feedback.SummarizeFeedback(fb_pb.SummarizeFeedbackRequest())
        assert summary.total_traces == 5
        assert summary.traces_with_feedback == 3
        assert summary.feedback_rate == pytest.approx(0.6)
        assert (summary.positive_count, summary.negative_count) == (2, 1)
        assert summary.positive_rate == pytest.approx(2 / 3)
        assert dict(summary.average_ratings) == pytest.approx({"accuracy": 0.6, "relevance": 0.6})
        assert not summary.truncated
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            request = fb_pb.SummarizeFeedbackRequest()
            request.start_time.FromSeconds(2_000_000_000)
            request.end_time.FromSeconds(1_000_000_000)
            await svc.feedback.SummarizeFeedback(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "end_time" in bad_request_fields(caught.value)
    finally:
        await stop_service(svc)
