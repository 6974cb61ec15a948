"""Property-based: arbitrary requests to every RPC never produce INTERNAL or UNKNOWN,
never crash the server, and rejected input writes nothing."""

from __future__ import annotations

import string
from typing import Any

import grpc
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb_pb
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.service import Service

pytestmark = pytest.mark.integration

FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
REJECTED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Strings that probe the rules: IDs near their bounds, quotes, path tricks, control
# characters, non-ASCII, and sometimes something long.
tricky = st.one_of(
    st.text(max_size=70),
    st.sampled_from(
        [
            "",
            "tr-" + "0" * 32,
            "tr-../../experiments",
            "x' OR '1'='1",
            "req-" + "a" * 46,
            "req-" + "a" * 47,
            "user_feedback",
            "mlflow.user",
            "\x00",
            "a\nb",
        ]
    ),
    st.text(alphabet=string.ascii_letters + string.digits + "._:-", min_size=1, max_size=80),
    st.builds(lambda n: "x" * n, st.integers(min_value=1000, max_value=70_000)),
)
maps = st.dictionaries(tricky, tricky, max_size=40)


def trace_refs(real: list[str]) -> st.SearchStrategy[common_pb2.TraceRef | None]:
    return st.one_of(
        st.none(),
        st.builds(
            lambda t, s: common_pb2.TraceRef(trace_id=t, span_id=s),
            st.one_of(tricky, st.sampled_from(real)),
            tricky,
        ),
        st.builds(lambda c: common_pb2.TraceRef(client_request_id=c), tricky),
        st.just(common_pb2.TraceRef()),
    )


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(allow_nan=True), st.text(max_size=30)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


def to_value(obj: Any) -> struct_pb2.Value:
    value = struct_pb2.Value()
    if obj is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(obj, bool):
        value.bool_value = obj
    elif isinstance(obj, float):
        value.number_value = obj
    elif isinstance(obj, str):
        value.string_value = obj
    elif isinstance(obj, list):
        value.list_value.values.extend(to_value(x) for x in obj)
    else:
        for k, v in obj.items():
            value.struct_value.fields[k].CopyFrom(to_value(v))
    return value


feedback_values = st.one_of(
    st.none(),
    st.builds(lambda b: common_pb2.FeedbackValue(boolean=b), st.booleans()),
    st.builds(
        lambda x: common_pb2.FeedbackValue(number=x), st.floats(allow_nan=True, allow_infinity=True)
    ),
    st.builds(lambda s: common_pb2.FeedbackValue(category=s), tricky),
    st.builds(lambda s: common_pb2.FeedbackValue(text=s), tricky),
    st.builds(lambda v: common_pb2.FeedbackValue(structured=to_value(v)), json_values),
)
sources = st.one_of(
    st.none(), st.builds(lambda t, i: common_pb2.Source(type=t, id=i), st.integers(-3, 6), tricky)
)


async def check(service: Service, call: Any) -> None:
    depth = service.app.spool.depth()
    try:
        await call
    except grpc.aio.AioRpcError as err:
        assert err.code() not in FORBIDDEN, (err.code(), err.details())
        if err.code() in REJECTED:
            assert service.app.spool.depth() == depth, "a rejected request was spooled"
    health = health_pb2_grpc.HealthStub(service.channel)
    reply = await health.Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.fixture(scope="module")
async def real_traces(service: Service) -> list[str]:
    reply = await service.chat.Chat(chat_pb.ChatRequest(message="property"))
    return [reply.trace_id]


@PROPERTY_SETTINGS
@given(data=st.data())
async def test_log_feedback_any_input(service: Service, real_traces: list[str], data: Any) -> None:
    request = fb_pb.LogFeedbackRequest(
        name=data.draw(tricky), rationale=data.draw(tricky), request_id=data.draw(tricky)
    )
    ref, value, source = (
        data.draw(trace_refs(real_traces)),
        data.draw(feedback_values),
        data.draw(sources),
    )
    if ref is not None:
        request.target.CopyFrom(ref)
    if value is not None:
        request.value.CopyFrom(value)
    if source is not None:
        request.source.CopyFrom(source)
    request.metadata.update(data.draw(maps))
    await check(service, service.feedback.LogFeedback(request))


@PROPERTY_SETTINGS
@given(data=st.data())
async def test_log_ratings_any_input(service: Service, real_traces: list[str], data: Any) -> None:
    request = fb_pb.LogRatingsRequest(
        scale_max=data.draw(st.integers(-(2**31), 2**31 - 1)),
        rationale=data.draw(tricky),
        request_id=data.draw(tricky),
    )
    ref = data.draw(trace_refs(real_traces))
    if ref is not None:
        request.target.CopyFrom(ref)
    request.ratings.update(
        data.draw(st.dictionaries(tricky, st.integers(-(2**31), 2**31 - 1), max_size=20))
    )
    await check(service, service.feedback.LogRatings(request))


@PROPERTY_SETTINGS
@given(data=st.data())
async def test_log_expectation_any_input(
    service: Service, real_traces: list[str], data: Any
) -> None:
    request = fb_pb.LogExpectationRequest(name=data.draw(tricky), request_id=data.draw(tricky))
    ref = data.draw(trace_refs(real_traces))
    if ref is not None:
        request.target.CopyFrom(ref)
    if data.draw(st.booleans()):
        request.value.CopyFrom(to_value(data.draw(json_values)))
    request.metadata.update(data.draw(maps))
    await check(service, service.feedback.LogExpectation(request))


@PROPERTY_SETTINGS
@given(data=st.data())
async def test_reads_any_input(service: Service, real_traces: list[str], data: Any) -> None:
    ref = data.draw(trace_refs(real_traces))
    listing = fb_pb.ListFeedbackRequest()
    if ref is not None:
        listing.target.CopyFrom(ref)
    await check(service, service.feedback.ListFeedback(listing))
    summary = fb_pb.SummarizeFeedbackRequest(feedback_name=data.draw(tricky))
    if data.draw(st.booleans()):
        summary.start_time.seconds = data.draw(st.integers(-(2**40), 2**40))
        summary.start_time.nanos = data.draw(st.integers(-(2**31), 2**31 - 1))
    if data.draw(st.booleans()):
        summary.end_time.seconds = data.draw(st.integers(-(2**40), 2**40))
    await check(service, service.feedback.SummarizeFeedback(summary))


@PROPERTY_SETTINGS
@given(data=st.data())
async def test_chat_any_input(service: Service, data: Any) -> None:
    kwargs = dict(
        message=data.draw(tricky),
        client_request_id=data.draw(tricky),
        user_id=data.draw(tricky),
        session_id=data.draw(tricky),
    )
    metadata = data.draw(maps)
    await check(service, service.chat.Chat(chat_pb.ChatRequest(**kwargs, metadata=metadata)))

    async def stream() -> None:
        async for _ in service.chat.StreamChat(
            chat_pb.StreamChatRequest(**kwargs, metadata=metadata)
        ):
            pass

    await check(service, stream())
