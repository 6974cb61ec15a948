"""Arbitrary input to the review RPCs never fails internally and never spools a rejected
request.
"""

from __future__ import annotations

import string
from typing import Any

import grpc
import pytest
from feedback.v1 import common_pb2
from feedback.v1 import review_service_pb2 as rv
from google.protobuf import duration_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.review.support import Review, seed_session

pytestmark = pytest.mark.integration


_texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", "Feedback", "feedback", "x' OR '1'='1", "tr-../../x", "\x00", "a b", "A" * 300]
    ),
    st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=70),
)
_values = st.one_of(
    st.builds(common_pb2.FeedbackValue),
    st.builds(lambda b: common_pb2.FeedbackValue(boolean=b), st.booleans()),
    st.builds(lambda x: common_pb2.FeedbackValue(number=x), st.floats(allow_nan=True)),
    st.builds(lambda s: common_pb2.FeedbackValue(category=s), _texts),
    st.builds(lambda s: common_pb2.FeedbackValue(text=s), _texts),
    st.builds(
        lambda xs: common_pb2.FeedbackValue(
            structured={"list_value": {"values": [{"string_value": x} for x in xs]}}
        ),
        st.lists(_texts, max_size=3),
    ),
)


@pytest.fixture(scope="module")
async def seeded(review: Review) -> tuple[str, str, str, list[str]]:
    return await seed_session(review, ["alice", "bob"], items=2)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_review_rpcs_never_fail_internally(
    review: Review, seeded: tuple[str, str, str, list[str]], data: Any
) -> None:
    session, accuracy, expected, trace_ids = seeded
    name = data.draw(st.one_of(st.just(session), _texts))
    reviewer = data.draw(st.one_of(st.sampled_from(["alice", "BOB", "mallory"]), _texts))
    trace_id = data.draw(st.one_of(st.sampled_from(trace_ids), _texts))
    label_names = st.one_of(st.sampled_from([accuracy, expected]), _texts)
    calls = [
        lambda: review.stub.SubmitLabels(
            rv.SubmitLabelsRequest(
                session=name,
                reviewer=reviewer,
                trace_id=trace_id,
                labels={
                    k: rv.Label(value=v, comment=c)
                    for k, v, c in data.draw(
                        st.lists(st.tuples(label_names, _values, _texts), max_size=3)
                    )
                },
                request_id=data.draw(_texts),
            )
        ),
        lambda: review.stub.GetNextItem(
            rv.GetNextItemRequest(
                session=name,
                reviewer=reviewer,
                lease_duration=duration_pb2.Duration(seconds=data.draw(st.integers(-5, 10_000))),
            )
        ),
        lambda: review.stub.DeclineItem(
            rv.DeclineItemRequest(session=name, reviewer=reviewer, trace_id=trace_id)
        ),
        lambda: review.stub.CreateLabelSchema(
            rv.CreateLabelSchemaRequest(
                label_schema=rv.LabelSchema(
                    name="prop_" + data.draw(_texts),
                    type=data.draw(st.integers(-1, 3)),
                    input=rv.LabelInput(
                        categorical=rv.CategoricalInput(
                            options=data.draw(st.lists(_texts, max_size=12))
                        )
                    ),
                    instructions=data.draw(_texts),
                )
            )
        ),
        lambda: review.stub.ListReviewSessions(
            rv.ListReviewSessionsRequest(
                reviewer=reviewer,
                page_size=data.draw(st.integers(-1, 600)),
                page_token=data.draw(_texts),
            )
        ),
        lambda: review.stub.AddSessionItems(
            rv.AddSessionItemsRequest(
                session=name,
                traces=[
                    common_pb2.TraceRef(trace_id=t) for t in data.draw(st.lists(_texts, max_size=3))
                ],
            )
        ),
    ]
    depth = review.service.app.spool.depth()
    try:
        await data.draw(st.sampled_from(calls))()
    except grpc.aio.AioRpcError as err:
        assert err.code() not in {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}, (
            err.code(),
            err.details(),
        )
        if err.code() in {
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.PERMISSION_DENIED,
        }:
            # Not more (the drainer may store earlier judgments meanwhile).
            assert review.service.app.spool.depth() <= depth, "a rejected request was spooled"
