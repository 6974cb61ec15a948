"""The typed Python client library (`clients/python/feedback_client`).

The sync client is driven through `grpc_testing.channel`: each test takes the RPC the client
made, checks the request field by field, answers it and checks what the client returns or
raises. One test per client runs against a real in-process `grpc.aio` server, so the wire
path (rich status in trailing metadata, initial metadata of streams) is exercised too. The
last tests run both clients into the same failures (a call that cannot start, a channel closed
under a running call or stream) and check that both raise the same `FeedbackError`.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import grpc.aio
import grpc_testing
import pytest
from feedback.v1 import (
    chat_service_pb2,
    chat_service_pb2_grpc,
    common_pb2,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
)
from feedback_client import (
    AlreadyExistsError,
    Assessment,
    AssessmentKind,
    AsyncFeedbackClient,
    ChatCompletion,
    ChatResult,
    FeedbackClient,
    FeedbackError,
    FeedbackItem,
    FeedbackList,
    FeedbackSummary,
    FieldViolation,
    IngestionState,
    InvalidArgumentError,
    LogResult,
    NotFoundError,
    RatingResult,
    RatingsResult,
    ResourceExhaustedError,
    RetractResult,
    Source,
    SourceType,
    SummaryBucket,
    Text,
    TraceRef,
    UnavailableError,
    ValueKind,
    by_request_id,
    by_trace_id,
)
from google.protobuf import any_pb2, duration_pb2, struct_pb2, timestamp_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

pytestmark = pytest.mark.timeout(30)

CHAT = chat_service_pb2.DESCRIPTOR.services_by_name["ChatService"]
FEEDBACK = feedback_service_pb2.DESCRIPTOR.services_by_name["FeedbackService"]
TRACE_ID = "tr-" + "0123456789abcdef" * 2
SPAN_ID = "00f067aa0ba902b7"
AUTH = ("authorization", "Bearer test-token")
DETAILS_KEY = "grpc-status-details-bin"

OK = grpc.StatusCode.OK


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def channel() -> Any:
    return grpc_testing.channel([CHAT, FEEDBACK], grpc_testing.strict_real_time())


@pytest.fixture
def client(channel: Any) -> Iterator[FeedbackClient]:
    with FeedbackClient(channel=channel, timeout=5.0, metadata=[AUTH]) as feedback_client:
        yield feedback_client


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


class Server:
    """Answers the one unary RPC a client call makes, on the test's thread."""

    def __init__(self, channel: Any, pool: ThreadPoolExecutor) -> None:
        self.channel = channel
        self.pool = pool
        self.invocation_metadata: Sequence[tuple[str, str]] = ()

    def unary(
        self,
        call: Callable[[], Any],
        method: str,
        response: Any = None,
        *,
        code: grpc.StatusCode = OK,
        details: str = "",
        trailing: Sequence[tuple[str, Any]] = (),
    ) -> tuple[Future[Any], Any]:
        """Runs `call` in a thread, answers its RPC, returns (future of its result, request)."""
        service = CHAT if method in CHAT.methods_by_name else FEEDBACK
        future = self.pool.submit(call)
        metadata, request, rpc = self.channel.take_unary_unary(service.methods_by_name[method])
        self.invocation_metadata = metadata
        rpc.terminate(response, tuple(trailing), code, details)
        return future, request


@pytest.fixture
def server(channel: Any, pool: ThreadPoolExecutor) -> Server:
    return Server(channel, pool)


def rich_status(code: int, message: str, *details: Any) -> status_pb2.Status:
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return status_pb2.Status(code=code, message=message, details=packed)


def trailing_status(status: status_pb2.Status) -> tuple[tuple[str, bytes], ...]:
    return ((DETAILS_KEY, status.SerializeToString()),)


def retry_info(seconds: int, nanos: int = 0) -> error_details_pb2.RetryInfo:
    return error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=seconds, nanos=nanos)
    )


def log_response(
    state: common_pb2.IngestionState.ValueType = common_pb2.INGESTION_STATE_STORED,
) -> Any:
    return feedback_service_pb2.LogFeedbackResponse(
        assessment_id="a-1", trace_id=TRACE_ID, state=state, request_id="r-1"
    )


# --- ChatService -----------------------------------------------------------------------------


def test_chat_sends_every_field_and_returns_a_chat_result(
    client: FeedbackClient, server: Server
) -> None:
    future, request = server.unary(
        lambda: client.chat(
            "What is MLflow?",
            client_request_id="req-42",
            user_id="u-1",
            session_id="s-1",
            metadata={"app": "docs-bot"},
        ),
        "Chat",
        chat_service_pb2.ChatResponse(
            response="An ML platform.", trace_id=TRACE_ID, client_request_id="req-42"
        ),
    )

    assert isinstance(request, chat_service_pb2.ChatRequest)
    assert request.message == "What is MLflow?"
    assert request.client_request_id == "req-42"
    assert request.user_id == "u-1"
    assert request.session_id == "s-1"
    assert dict(request.metadata) == {"app": "docs-bot"}
    assert AUTH in server.invocation_metadata
    assert future.result(timeout=5) == ChatResult(
        response="An ML platform.", trace_id=TRACE_ID, client_request_id="req-42"
    )


def test_chat_leaves_optional_fields_empty(client: FeedbackClient, server: Server) -> None:
    future, request = server.unary(
        lambda: client.chat("hi"),
        "Chat",
        chat_service_pb2.ChatResponse(
            response="hello", trace_id=TRACE_ID, client_request_id="req-0123456789abcdef"
        ),
    )

    assert request == chat_service_pb2.ChatRequest(message="hi")
    assert future.result(timeout=5).client_request_id == "req-0123456789abcdef"


def test_stream_chat_yields_deltas_then_exposes_completion_and_header(
    client: FeedbackClient, channel: Any
) -> None:
    stream = client.stream_chat(
        "Tell me", client_request_id="req-7", user_id="u-1", session_id="s-1", metadata={"k": "v"}
    )
    metadata, request, rpc = channel.take_unary_stream(CHAT.methods_by_name["StreamChat"])
    assert request == chat_service_pb2.StreamChatRequest(
        message="Tell me",
        client_request_id="req-7",
        user_id="u-1",
        session_id="s-1",
        metadata={"k": "v"},
    )
    assert AUTH in metadata

    rpc.send_initial_metadata((("x-mlflow-trace-id", TRACE_ID),))
    rpc.send_response(
        chat_service_pb2.StreamChatResponse(delta=chat_service_pb2.ChatDelta(content="Hel"))
    )
    assert next(stream) == "Hel"
    assert stream.trace_id_header == TRACE_ID
    assert stream.completion is None

    rpc.send_response(
        chat_service_pb2.StreamChatResponse(delta=chat_service_pb2.ChatDelta(content="lo"))
    )
    rpc.send_response(
        chat_service_pb2.StreamChatResponse(
            completion=chat_service_pb2.ChatCompletion(
                trace_id=TRACE_ID, client_request_id="req-7", response="Hello"
            )
        )
    )
    rpc.terminate((), OK, "")

    assert list(stream) == ["lo"]
    assert stream.completion == ChatCompletion(
        trace_id=TRACE_ID, client_request_id="req-7", response="Hello"
    )
    assert stream.text == "Hello"
    assert stream.trace_id == TRACE_ID
    assert stream.result() == stream.completion
    assert list(stream) == []


def test_stream_chat_without_completion_is_an_error(client: FeedbackClient, channel: Any) -> None:
    stream = client.stream_chat("hi")
    _, _, rpc = channel.take_unary_stream(CHAT.methods_by_name["StreamChat"])
    rpc.send_response(
        chat_service_pb2.StreamChatResponse(delta=chat_service_pb2.ChatDelta(content="x"))
    )
    rpc.terminate((), OK, "")

    assert next(stream) == "x"
    with pytest.raises(FeedbackError) as raised:
        next(stream)
    assert raised.value.code is grpc.StatusCode.INTERNAL
    assert stream.completion is None


def test_stream_chat_failure_carries_retry_info_and_trace_id(
    client: FeedbackClient, channel: Any
) -> None:
    stream = client.stream_chat("hi")
    _, _, rpc = channel.take_unary_stream(CHAT.methods_by_name["StreamChat"])
    rpc.send_response(
        chat_service_pb2.StreamChatResponse(delta=chat_service_pb2.ChatDelta(content="par"))
    )
    assert next(stream) == "par"
    status = rich_status(
        code_pb2.UNAVAILABLE, "chat backend unavailable", retry_info(2, 500_000_000)
    )
    rpc.terminate(
        (*trailing_status(status), ("x-mlflow-trace-id", TRACE_ID)),
        grpc.StatusCode.UNAVAILABLE,
        "chat backend unavailable",
    )

    with pytest.raises(UnavailableError) as raised:
        next(stream)
    error = raised.value
    assert error.code is grpc.StatusCode.UNAVAILABLE
    assert error.retry_after == 2.5
    assert error.retryable
    assert error.trace_id == TRACE_ID
    assert stream.text == "par"
    assert stream.completion is None


def test_stream_chat_context_manager_cancels_an_unfinished_stream(
    client: FeedbackClient, channel: Any
) -> None:
    with client.stream_chat("hi") as stream:
        _, _, rpc = channel.take_unary_stream(CHAT.methods_by_name["StreamChat"])
        rpc.send_response(
            chat_service_pb2.StreamChatResponse(delta=chat_service_pb2.ChatDelta(content="a"))
        )
        assert next(stream) == "a"
    rpc.cancelled()  # returns only once the client cancelled the RPC
    assert list(stream) == []


# --- FeedbackService: writes -----------------------------------------------------------------


@pytest.mark.parametrize(("method", "expected"), [("thumbs_up", True), ("thumbs_down", False)])
def test_thumbs_send_boolean_user_feedback_from_the_human_user(
    client: FeedbackClient, server: Server, method: str, expected: bool
) -> None:
    future, request = server.unary(
        lambda: getattr(client, method)(
            TRACE_ID, rationale="spot on", user_id="u-1", request_id="r-1"
        ),
        "LogFeedback",
        log_response(common_pb2.INGESTION_STATE_QUEUED),
    )

    assert request.target.WhichOneof("ref") == "trace_id"
    assert request.target.trace_id == TRACE_ID
    assert request.target.span_id == ""
    assert request.name == "user_feedback"
    assert request.value.WhichOneof("kind") == "boolean"
    assert request.value.boolean is expected
    assert request.rationale == "spot on"
    assert request.source.type == common_pb2.SOURCE_TYPE_HUMAN
    assert request.source.id == "u-1"
    assert request.request_id == "r-1"
    assert dict(request.metadata) == {}
    assert AUTH in server.invocation_metadata
    assert future.result(timeout=5) == LogResult(
        assessment_id="a-1", trace_id=TRACE_ID, state=IngestionState.QUEUED, request_id="r-1"
    )


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (True, "boolean", True),
        (4, "number", 4.0),
        (0.75, "number", 0.75),
        ("accurate", "category", "accurate"),
        (Text("Great answer, but too long."), "text", "Great answer, but too long."),
        (
            {"score": 3, "tags": ["a", True], "none": None},
            "structured",
            struct_pb2.Value(
                struct_value=struct_pb2.Struct(
                    fields={
                        "score": struct_pb2.Value(number_value=3),
                        "tags": struct_pb2.Value(
                            list_value=struct_pb2.ListValue(
                                values=[
                                    struct_pb2.Value(string_value="a"),
                                    struct_pb2.Value(bool_value=True),
                                ]
                            )
                        ),
                        "none": struct_pb2.Value(null_value=struct_pb2.NULL_VALUE),
                    }
                )
            ),
        ),
        (
            ["x", 1],
            "structured",
            struct_pb2.Value(
                list_value=struct_pb2.ListValue(
                    values=[struct_pb2.Value(string_value="x"), struct_pb2.Value(number_value=1)]
                )
            ),
        ),
    ],
)
def test_feedback_types_each_value(
    client: FeedbackClient, server: Server, value: Any, kind: str, expected: Any
) -> None:
    future, request = server.unary(
        lambda: client.feedback(
            by_trace_id(TRACE_ID, span_id=SPAN_ID),
            "quality",
            value,
            rationale="because",
            source_type=SourceType.LLM_JUDGE,
            source_id="gpt-judge",
            metadata={"run": "7"},
            request_id="r-9",
        ),
        "LogFeedback",
        log_response(),
    )

    assert request.target == common_pb2.TraceRef(trace_id=TRACE_ID, span_id=SPAN_ID)
    assert request.name == "quality"
    assert request.value.WhichOneof("kind") == kind
    assert getattr(request.value, kind) == expected
    assert request.rationale == "because"
    assert request.source == common_pb2.Source(
        type=common_pb2.SOURCE_TYPE_LLM_JUDGE, id="gpt-judge"
    )
    assert dict(request.metadata) == {"run": "7"}
    assert request.request_id == "r-9"
    assert future.result(timeout=5).state is IngestionState.STORED


def test_feedback_by_client_request_id(client: FeedbackClient, server: Server) -> None:
    future, request = server.unary(
        lambda: client.feedback(by_request_id("req-42"), "user_feedback", False),
        "LogFeedback",
        feedback_service_pb2.LogFeedbackResponse(
            assessment_id="a-2", state=common_pb2.INGESTION_STATE_QUEUED, request_id="gen-1"
        ),
    )

    assert request.target.WhichOneof("ref") == "client_request_id"
    assert request.target.client_request_id == "req-42"
    assert request.source == common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="")
    assert re.fullmatch("[0-9a-f]{32}", request.request_id)  # a fresh key, set by the client
    assert future.result(timeout=5) == LogResult(
        assessment_id="a-2", trace_id="", state=IngestionState.QUEUED, request_id="gen-1"
    )


def test_targets_are_unambiguous(client: FeedbackClient) -> None:
    # A plain string must be a trace ID: a client request ID needs by_request_id(). These
    # raise before any RPC is made (an RPC would block this test until its timeout).
    with pytest.raises(ValueError, match="by_request_id"):
        client.thumbs_up("req-42")
    with pytest.raises(ValueError):
        TraceRef()
    with pytest.raises(ValueError):
        TraceRef(trace_id=TRACE_ID, client_request_id="req-42")
    with pytest.raises(ValueError):
        by_request_id("")
    with pytest.raises(TypeError):
        client.thumbs_up(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.feedback(TRACE_ID, "q", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.feedback(TRACE_ID, "q", math.nan)
    with pytest.raises(ValueError):
        client.expect(TRACE_ID, "expected_response", None)
    with pytest.raises(ValueError, match="timezone-aware"):
        client.summarize(start=datetime(2026, 1, 1))


def test_rate_sends_ratings_and_parses_each_dimension(
    client: FeedbackClient, server: Server
) -> None:
    future, request = server.unary(
        lambda: client.rate(
            TRACE_ID,
            {"helpfulness": 4, "accuracy": 5},
            rationale="good",
            user_id="u-1",
            request_id="r-3",
        ),
        "LogRatings",
        feedback_service_pb2.LogRatingsResponse(
            trace_id=TRACE_ID,
            results=[
                feedback_service_pb2.RatingResult(
                    dimension="accuracy", name="user_accuracy", value=1.0, assessment_id="a-1"
                ),
                feedback_service_pb2.RatingResult(
                    dimension="helpfulness", name="user_helpfulness", value=0.8, assessment_id="a-2"
                ),
            ],
            state=common_pb2.INGESTION_STATE_STORED,
            request_id="r-3",
        ),
    )

    assert isinstance(request, feedback_service_pb2.LogRatingsRequest)
    assert request.target == common_pb2.TraceRef(trace_id=TRACE_ID)
    assert dict(request.ratings) == {"helpfulness": 4, "accuracy": 5}
    assert request.scale_max == 5
    assert request.rationale == "good"
    assert request.source == common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="u-1")
    assert request.request_id == "r-3"
    assert future.result(timeout=5) == RatingsResult(
        trace_id=TRACE_ID,
        results=(
            RatingResult("accuracy", "user_accuracy", 1.0, "a-1"),
            RatingResult("helpfulness", "user_helpfulness", 0.8, "a-2"),
        ),
        state=IngestionState.STORED,
        request_id="r-3",
    )


def test_rate_with_another_scale(client: FeedbackClient, server: Server) -> None:
    _, request = server.unary(
        lambda: client.rate(by_request_id("req-1"), {"tone": 9}, scale_max=10),
        "LogRatings",
        feedback_service_pb2.LogRatingsResponse(),
    )
    assert request.scale_max == 10
    assert request.target.client_request_id == "req-1"


def test_expect_sends_a_json_value(client: FeedbackClient, server: Server) -> None:
    future, request = server.unary(
        lambda: client.expect(
            TRACE_ID,
            "expected_facts",
            {"facts": ["open source", "tracing"]},
            source_id="expert-1",
            metadata={"dataset": "v1"},
            request_id="r-5",
        ),
        "LogExpectation",
        feedback_service_pb2.LogExpectationResponse(
            assessment_id="a-5",
            trace_id=TRACE_ID,
            state=common_pb2.INGESTION_STATE_STORED,
            request_id="r-5",
        ),
    )

    assert isinstance(request, feedback_service_pb2.LogExpectationRequest)
    assert request.target.trace_id == TRACE_ID
    assert request.name == "expected_facts"
    facts = request.value.struct_value.fields["facts"].list_value.values
    assert [v.string_value for v in facts] == ["open source", "tracing"]
    assert request.source == common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="expert-1")
    assert dict(request.metadata) == {"dataset": "v1"}
    assert request.request_id == "r-5"
    assert future.result(timeout=5) == LogResult("a-5", TRACE_ID, IngestionState.STORED, "r-5")


def test_expect_sends_a_plain_string(client: FeedbackClient, server: Server) -> None:
    _, request = server.unary(
        lambda: client.expect(TRACE_ID, "expected_response", "MLflow is an ML platform."),
        "LogExpectation",
        feedback_service_pb2.LogExpectationResponse(),
    )
    assert request.value == struct_pb2.Value(string_value="MLflow is an ML platform.")


# --- FeedbackService: reads ------------------------------------------------------------------


def test_list_feedback_parses_typed_assessments(client: FeedbackClient, server: Server) -> None:
    created = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(created)
    future, request = server.unary(
        lambda: client.list_feedback(by_trace_id(TRACE_ID, span_id=SPAN_ID)),
        "ListFeedback",
        feedback_service_pb2.ListFeedbackResponse(
            trace_id=TRACE_ID,
            assessments=[
                feedback_service_pb2.Assessment(
                    assessment_id="a-1",
                    name="user_feedback",
                    kind=feedback_service_pb2.ASSESSMENT_KIND_FEEDBACK,
                    feedback=common_pb2.FeedbackValue(boolean=False),
                    rationale="wrong",
                    source=common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="u-1"),
                    metadata={"k": "v"},
                    span_id=SPAN_ID,
                    create_time=stamp,
                    state=common_pb2.INGESTION_STATE_QUEUED,
                    valid=True,
                ),
                feedback_service_pb2.Assessment(
                    assessment_id="a-2",
                    name="expected_response",
                    kind=feedback_service_pb2.ASSESSMENT_KIND_EXPECTATION,
                    expectation=struct_pb2.Value(string_value="42"),
                    source=common_pb2.Source(type=common_pb2.SOURCE_TYPE_CODE, id="ci"),
                    state=common_pb2.INGESTION_STATE_STORED,
                    valid=False,
                    supersedes_assessment_id="a-0",
                    superseded_by_assessment_id="a-3",
                    retracted=True,
                ),
            ],
        ),
    )

    assert request == feedback_service_pb2.ListFeedbackRequest(
        target=common_pb2.TraceRef(trace_id=TRACE_ID, span_id=SPAN_ID)
    )
    result = future.result(timeout=5)
    assert isinstance(result, FeedbackList)
    assert result.trace_id == TRACE_ID
    assert result.assessments == (
        Assessment(
            assessment_id="a-1",
            name="user_feedback",
            kind=AssessmentKind.FEEDBACK,
            value=False,
            value_kind=ValueKind.BOOLEAN,
            rationale="wrong",
            source=Source(SourceType.HUMAN, "u-1"),
            metadata={"k": "v"},
            span_id=SPAN_ID,
            create_time=created,
            state=IngestionState.QUEUED,
            valid=True,
        ),
        Assessment(
            assessment_id="a-2",
            name="expected_response",
            kind=AssessmentKind.EXPECTATION,
            value="42",
            value_kind=None,
            rationale="",
            source=Source(SourceType.CODE, "ci"),
            metadata={},
            span_id="",
            create_time=None,
            state=IngestionState.STORED,
            valid=False,
            supersedes_assessment_id="a-0",
            superseded_by_assessment_id="a-3",
            retracted=True,
        ),
    )


def test_summarize_sends_the_window_and_parses_the_summary(
    client: FeedbackClient, server: Server
) -> None:
    end = datetime(2026, 5, 2, tzinfo=UTC)
    start = end - timedelta(days=7)
    start_stamp, end_stamp = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
    start_stamp.FromDatetime(start)
    end_stamp.FromDatetime(end)
    future, request = server.unary(
        lambda: client.summarize(start, end, feedback_name="thumbs"),
        "SummarizeFeedback",
        feedback_service_pb2.SummarizeFeedbackResponse(
            total_traces=10,
            traces_with_feedback=4,
            feedback_rate=0.4,
            positive_count=3,
            negative_count=1,
            positive_rate=0.75,
            average_ratings={"helpfulness": 0.8},
            start_time=start_stamp,
            end_time=end_stamp,
            truncated=True,
        ),
    )

    assert request.start_time == start_stamp
    assert request.end_time == end_stamp
    assert request.feedback_name == "thumbs"
    assert future.result(timeout=5) == FeedbackSummary(
        total_traces=10,
        traces_with_feedback=4,
        feedback_rate=0.4,
        positive_count=3,
        negative_count=1,
        positive_rate=0.75,
        average_ratings={"helpfulness": 0.8},
        start_time=start,
        end_time=end,
        truncated=True,
    )


def test_summarize_defaults_leave_the_window_to_the_service(
    client: FeedbackClient, server: Server
) -> None:
    future, request = server.unary(
        client.summarize, "SummarizeFeedback", feedback_service_pb2.SummarizeFeedbackResponse()
    )
    assert not request.HasField("start_time")
    assert not request.HasField("end_time")
    assert request.feedback_name == "user_feedback"
    summary = future.result(timeout=5)
    assert summary.total_traces == 0
    assert summary.start_time is None


def test_every_write_gets_its_own_fresh_request_id(client: FeedbackClient, server: Server) -> None:
    seen = set()
    for _ in range(3):
        _, request = server.unary(
            lambda: client.thumbs_down(TRACE_ID, user_id="u-1"), "LogFeedback", log_response()
        )
        seen.add(request.request_id)
    assert len(seen) == 3
    _, given = server.unary(
        lambda: client.thumbs_up(TRACE_ID, user_id="u-1", request_id="mine"),
        "LogFeedback",
        log_response(),
    )
    assert given.request_id == "mine"


def test_retract_sends_the_source_and_parses_the_answer(
    client: FeedbackClient, server: Server
) -> None:
    future, request = server.unary(
        lambda: client.retract(TRACE_ID, user_id="u-1"),
        "RetractFeedback",
        feedback_service_pb2.RetractFeedbackResponse(
            assessment_id="a-7",
            trace_id=TRACE_ID,
            state=common_pb2.INGESTION_STATE_QUEUED,
            request_id="r-7",
        ),
    )
    assert request.name == "user_feedback"
    assert request.source == common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="u-1")
    assert re.fullmatch("[0-9a-f]{32}", request.request_id)
    assert future.result(timeout=5) == RetractResult(
        assessment_id="a-7", trace_id=TRACE_ID, state=IngestionState.QUEUED, request_id="r-7"
    )
    with pytest.raises(ValueError, match="source ID"):
        client.retract(TRACE_ID, user_id="")


def test_log_batch_answers_each_item_with_its_result_or_error(
    client: FeedbackClient, server: Server
) -> None:
    bad = rich_status(
        code_pb2.INVALID_ARGUMENT,
        "invalid request: value.number",
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="value.number", description="x")
            ]
        ),
        error_details_pb2.ErrorInfo(reason="INVALID_ARGUMENT", domain="feedback.v1"),
    )
    reused = rich_status(
        code_pb2.ALREADY_EXISTS,
        "reused",
        error_details_pb2.ErrorInfo(reason="REQUEST_ID_REUSED", domain="feedback.v1"),
    )
    response = feedback_service_pb2.BatchLogFeedbackResponse(
        results=[
            feedback_service_pb2.BatchLogFeedbackResult(response=log_response()),
            feedback_service_pb2.BatchLogFeedbackResult(error=bad),
            feedback_service_pb2.BatchLogFeedbackResult(error=reused),
        ]
    )
    items = [
        FeedbackItem(TRACE_ID, True, source_id="u-1"),
        FeedbackItem(TRACE_ID, 0.5, name="score"),
        FeedbackItem(TRACE_ID, False, request_id="k-1"),
    ]
    future, request = server.unary(lambda: client.log_batch(items), "BatchLogFeedback", response)
    assert [r.name for r in request.requests] == ["user_feedback", "score", "user_feedback"]
    assert request.requests[0].source.id == "u-1"
    assert request.requests[2].request_id == "k-1"
    assert len({r.request_id for r in request.requests}) == 3
    ok, invalid, again = future.result(timeout=5)
    assert isinstance(ok, LogResult) and ok.assessment_id == "a-1"
    assert isinstance(invalid, InvalidArgumentError)
    assert invalid.field_violations == [FieldViolation("value.number", "x")]
    assert isinstance(again, AlreadyExistsError) and again.reason == "REQUEST_ID_REUSED"


def test_summarize_sends_the_filters_and_parses_buckets(
    client: FeedbackClient, server: Server
) -> None:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(start)
    later = timestamp_pb2.Timestamp()
    later.FromDatetime(start + timedelta(hours=1))
    bucket = feedback_service_pb2.SummaryBucket(
        start_time=stamp, end_time=later, total_traces=2, positive_count=1, positive_rate=1.0
    )
    future, request = server.unary(
        lambda: client.summarize(
            user_id="u-1",
            session_id="s-1",
            trace_metadata={"app": "web"},
            interval=timedelta(hours=1),
        ),
        "SummarizeFeedback",
        feedback_service_pb2.SummarizeFeedbackResponse(total_traces=2, buckets=[bucket]),
    )
    assert (request.user_id, request.session_id) == ("u-1", "s-1")
    assert dict(request.trace_metadata) == {"app": "web"}
    assert request.interval == duration_pb2.Duration(seconds=3600)
    [got] = future.result(timeout=5).buckets
    assert got == SummaryBucket(
        start_time=start,
        end_time=start + timedelta(hours=1),
        total_traces=2,
        traces_with_feedback=0,
        feedback_rate=0.0,
        positive_count=1,
        negative_count=0,
        positive_rate=1.0,
        average_ratings={},
    )


# --- errors ----------------------------------------------------------------------------------


def test_bad_request_becomes_invalid_argument_error_with_field_violations(
    client: FeedbackClient, server: Server
) -> None:
    message = "invalid request: target.trace_id, name"
    status = rich_status(
        code_pb2.INVALID_ARGUMENT,
        message,
        error_details_pb2.ErrorInfo(
            reason="INVALID_ARGUMENT", domain="feedback.v1", metadata={"request_id": "srv-1"}
        ),
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="target.trace_id", description="must match ^tr-[0-9a-f]{32}$"
                ),
                error_details_pb2.BadRequest.FieldViolation(
                    field="name", description="must start with a letter"
                ),
            ]
        ),
        error_details_pb2.RequestInfo(request_id="srv-1"),
    )
    future, _ = server.unary(
        lambda: client.feedback(TRACE_ID, "9bad", True),
        "LogFeedback",
        code=grpc.StatusCode.INVALID_ARGUMENT,
        details=message,
        trailing=trailing_status(status),
    )

    with pytest.raises(InvalidArgumentError) as raised:
        future.result(timeout=5)
    error = raised.value
    assert isinstance(error, FeedbackError)
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert error.message == message
    assert error.field_violations == [
        FieldViolation("target.trace_id", "must match ^tr-[0-9a-f]{32}$"),
        ("name", "must start with a letter"),
    ]
    assert error.retry_after is None
    assert not error.retryable
    assert error.request_id == "srv-1"
    assert error.reason == "INVALID_ARGUMENT"
    assert "target.trace_id" in str(error)


def test_retry_info_becomes_retry_after(client: FeedbackClient, server: Server) -> None:
    status = rich_status(
        code_pb2.RESOURCE_EXHAUSTED,
        "spool full",
        error_details_pb2.ErrorInfo(reason="RESOURCE_EXHAUSTED", domain="feedback.v1"),
        retry_info(1, 500_000_000),
    )
    future, _ = server.unary(
        lambda: client.thumbs_down(TRACE_ID),
        "LogFeedback",
        code=grpc.StatusCode.RESOURCE_EXHAUSTED,
        details="spool full",
        trailing=trailing_status(status),
    )

    with pytest.raises(ResourceExhaustedError) as raised:
        future.result(timeout=5)
    assert raised.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert raised.value.retry_after == 1.5
    assert raised.value.retryable
    assert raised.value.field_violations == []
    assert raised.value.request_id is None


def test_error_without_rich_status_keeps_code_and_message(
    client: FeedbackClient, server: Server
) -> None:
    future, _ = server.unary(
        lambda: client.list_feedback(TRACE_ID),
        "ListFeedback",
        code=grpc.StatusCode.NOT_FOUND,
        details="trace not found",
    )
    with pytest.raises(NotFoundError) as raised:
        future.result(timeout=5)
    assert raised.value.code is grpc.StatusCode.NOT_FOUND
    assert raised.value.message == "trace not found"
    assert raised.value.field_violations == []
    assert raised.value.retry_after is None
    assert raised.value.reason is None


def test_malformed_rich_status_does_not_hide_the_error(
    client: FeedbackClient, server: Server
) -> None:
    future, _ = server.unary(
        lambda: client.chat("hi"),
        "Chat",
        code=grpc.StatusCode.INTERNAL,
        details="internal error",
        trailing=((DETAILS_KEY, b"\xff\xff not a status"),),
    )
    with pytest.raises(FeedbackError) as raised:
        future.result(timeout=5)
    assert type(raised.value) is FeedbackError
    assert raised.value.code is grpc.StatusCode.INTERNAL
    assert raised.value.message == "internal error"


# --- lifecycle -------------------------------------------------------------------------------


def test_with_options_shares_the_channel_with_other_call_metadata(
    client: FeedbackClient, server: Server
) -> None:
    other = client.with_options(metadata=[("x-tenant", "acme")], timeout=60.0)
    future, _ = server.unary(
        lambda: other.chat("hi"), "Chat", chat_service_pb2.ChatResponse(response="ok")
    )
    assert ("x-tenant", "acme") in server.invocation_metadata
    assert AUTH not in server.invocation_metadata
    assert future.result(timeout=5).response == "ok"


class FakeChannel:
    def __init__(self) -> None:
        self.closed = 0

    def unary_unary(self, *args: Any, **kwargs: Any) -> None:
        return None

    def unary_stream(self, *args: Any, **kwargs: Any) -> None:
        return None

    def close(self) -> None:
        self.closed += 1


def test_close_closes_only_a_channel_the_client_created(monkeypatch: pytest.MonkeyPatch) -> None:
    given = FakeChannel()
    with FeedbackClient(channel=given):
        pass
    assert given.closed == 0

    created = FakeChannel()
    targets: list[str] = []

    def insecure_channel(target: str, options: Any = ()) -> FakeChannel:
        targets.append(target)
        assert dict(options)["grpc.enable_retries"] == 1  # the service config rides along
        return created

    monkeypatch.setattr(grpc, "insecure_channel", insecure_channel)
    owned = FeedbackClient()
    owned.with_options(timeout=1.0).close()
    assert created.closed == 0
    with owned:
        pass
    owned.close()
    assert created.closed == 1
    assert targets == ["127.0.0.1:50051"]


# --- both clients against a real in-process server ------------------------------------------


#: A message that the live server does not answer: it holds the call open until the client
#: goes away (a stream sends its initial metadata and first delta first).
HOLD = "hold"


class _Chat(chat_service_pb2_grpc.ChatServiceServicer):
    def __init__(self) -> None:
        self.holding = asyncio.Event()

    async def _hold(self) -> None:
        self.holding.set()
        await asyncio.Event().wait()

    async def Chat(self, request: Any, context: Any) -> Any:
        if request.message == HOLD:
            await self._hold()
        return chat_service_pb2.ChatResponse(
            response=f"echo: {request.message}", trace_id=TRACE_ID, client_request_id="req-1"
        )

    async def StreamChat(self, request: Any, context: Any) -> AsyncIterator[Any]:
        await context.send_initial_metadata((("x-mlflow-trace-id", TRACE_ID),))
        for word in ("echo", ": ", request.message):
            yield chat_service_pb2.StreamChatResponse(
                delta=chat_service_pb2.ChatDelta(content=word)
            )
            if request.message == HOLD:
                await self._hold()
        yield chat_service_pb2.StreamChatResponse(
            completion=chat_service_pb2.ChatCompletion(
                trace_id=TRACE_ID, client_request_id="req-1", response=f"echo: {request.message}"
            )
        )


class _Feedback(feedback_service_pb2_grpc.FeedbackServiceServicer):
    async def LogFeedback(self, request: Any, context: Any) -> Any:
        if request.target.trace_id != TRACE_ID:
            status = rich_status(
                code_pb2.INVALID_ARGUMENT,
                "invalid request: target.trace_id",
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field="target.trace_id", description="unknown"
                        )
                    ]
                ),
                error_details_pb2.RequestInfo(request_id="srv-9"),
            )
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                status.message,
                trailing_metadata=trailing_status(status),
            )
        return log_response()

    async def _unimplemented(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not in this test")

    LogRatings = LogExpectation = ListFeedback = SummarizeFeedback = _unimplemented


@pytest.fixture
async def live_server() -> AsyncIterator[tuple[str, _Chat]]:
    """A real in-process server: (its address, its chat servicer)."""
    server = grpc.aio.server()
    chat = _Chat()
    chat_service_pb2_grpc.add_ChatServiceServicer_to_server(chat, server)
    feedback_service_pb2_grpc.add_FeedbackServiceServicer_to_server(_Feedback(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}", chat
    await server.stop(None)


@pytest.fixture
def live_address(live_server: tuple[str, _Chat]) -> str:
    return live_server[0]


async def test_async_client_over_the_wire(live_address: str) -> None:
    async with AsyncFeedbackClient(live_address) as client:
        answer = await client.chat("hi")
        assert answer == ChatResult("echo: hi", TRACE_ID, "req-1")

        stream = client.stream_chat("there")
        assert await stream.wait_trace_id_header() == TRACE_ID
        assert [delta async for delta in stream] == ["echo", ": ", "there"]
        assert stream.trace_id_header == TRACE_ID
        assert stream.completion == ChatCompletion(TRACE_ID, "req-1", "echo: there")

        result = await client.thumbs_up(TRACE_ID, user_id="u-1")
        assert result.assessment_id == "a-1"

        with pytest.raises(InvalidArgumentError) as raised:
            await client.thumbs_up("tr-" + "f" * 32)
        assert raised.value.field_violations == [("target.trace_id", "unknown")]
        assert raised.value.request_id == "srv-9"


async def test_sync_client_over_the_wire(live_address: str) -> None:
    def use_sync_client() -> tuple[list[str], str | None, FeedbackError]:
        with FeedbackClient(live_address) as client:
            stream = client.stream_chat("sync")
            deltas = list(stream)
            try:
                client.thumbs_down("tr-" + "e" * 32)
            except FeedbackError as error:
                return deltas, stream.trace_id_header, error
        raise AssertionError("thumbs_down should have failed")

    deltas, header, error = await asyncio.to_thread(use_sync_client)
    assert deltas == ["echo", ": ", "sync"]
    assert header == TRACE_ID
    assert isinstance(error, InvalidArgumentError)
    assert error.field_violations == [FieldViolation("target.trace_id", "unknown")]


# --- both clients fail the same way ---------------------------------------------------------


class _StartError(grpc.RpcError):
    """What a channel raises when it cannot even start a call."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "cannot start the call"

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()


class FailingStreamsChannel(FakeChannel):
    """A channel whose server-streaming calls raise as they are started."""

    def unary_stream(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        def start(*args: Any, **kwargs: Any) -> Any:
            raise _StartError()

        return start


@pytest.mark.parametrize("client_class", [FeedbackClient, AsyncFeedbackClient])
def test_both_clients_wrap_a_stream_that_fails_as_it_starts(client_class: Any) -> None:
    client = client_class(channel=FailingStreamsChannel())
    with pytest.raises(UnavailableError) as raised:
        client.stream_chat("hi")
    assert raised.value.code is grpc.StatusCode.UNAVAILABLE
    assert raised.value.retryable
    assert isinstance(raised.value.__cause__, _StartError)


async def test_both_clients_fail_a_stream_whose_channel_closes_with_cancelled(
    live_address: str,
) -> None:
    def use_sync_client() -> tuple[FeedbackError, list[str], str | None]:
        client = FeedbackClient(live_address)
        stream = client.stream_chat(HOLD)
        assert next(stream) == "echo"
        client.close()
        with pytest.raises(FeedbackError) as raised:
            next(stream)
        return raised.value, list(stream), stream.trace_id

    sync_error, sync_rest, sync_trace_id = await asyncio.to_thread(use_sync_client)

    client = AsyncFeedbackClient(live_address)
    stream = client.stream_chat(HOLD)
    assert await anext(stream) == "echo"
    await client.close()
    with pytest.raises(FeedbackError) as raised:
        await anext(stream)
    async_error = raised.value

    for error in (sync_error, async_error):
        assert error.code is grpc.StatusCode.CANCELLED
        assert error.trace_id == TRACE_ID
        assert not error.retryable
    assert sync_rest == [] == [delta async for delta in stream]
    assert sync_trace_id == TRACE_ID == stream.trace_id
    assert stream.completion is None


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_both_clients_fail_a_call_whose_channel_closes_with_cancelled(
    live_server: tuple[str, _Chat], flavour: str
) -> None:
    address, chat = live_server
    call: asyncio.Future[ChatResult]
    if flavour == "sync":
        sync_client = FeedbackClient(address)
        call = asyncio.ensure_future(asyncio.to_thread(sync_client.chat, HOLD))
        await chat.holding.wait()
        await asyncio.to_thread(sync_client.close)
    else:
        async_client = AsyncFeedbackClient(address)
        call = asyncio.ensure_future(async_client.chat(HOLD))
        await chat.holding.wait()
        await async_client.close()
    with pytest.raises(FeedbackError) as raised:
        await call
    assert raised.value.code is grpc.StatusCode.CANCELLED


async def test_async_client_lets_a_cancelled_task_unwind(live_address: str) -> None:
    # Only a call cancelled under the caller becomes a FeedbackError: cancelling the task
    # that awaits it raises CancelledError, as asyncio code expects.
    async with AsyncFeedbackClient(live_address) as client:
        stream = client.stream_chat(HOLD)
        assert await anext(stream) == "echo"
        reader = asyncio.ensure_future(anext(stream))
        done, _ = await asyncio.wait({reader}, timeout=0.1)
        assert not done
        assert inspect.getcoroutinestate(reader.get_coro()) == inspect.CORO_SUSPENDED
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
