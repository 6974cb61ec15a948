"""FeedbackService's own converters: domain results -> response messages."""

from __future__ import annotations

from typing import TypeVar

from feedback.v1 import feedback_service_pb2 as pb

from ..domain.feedback import Accepted, Summary
from .convert import STATES_OUT, finite

R = TypeVar("R", pb.LogFeedbackResponse, pb.LogExpectationResponse)


def accepted_out(response_type: type[R], accepted: Accepted) -> R:
    """The answer to a single write (LogFeedback, LogExpectation)."""
    return response_type(
        assessment_id=accepted.assessment_ids[0],
        trace_id=accepted.trace_id or "",
        state=STATES_OUT[accepted.state],
        request_id=accepted.request_id,
    )


def log_ratings_out(
    accepted: Accepted, parts: list[tuple[str, str, float]]
) -> pb.LogRatingsResponse:
    """`parts`: (dimension, assessment name, stored value) per rating, in `accepted` order."""
    return pb.LogRatingsResponse(
        trace_id=accepted.trace_id or "",
        results=[
            pb.RatingResult(dimension=d, name=n, value=val, assessment_id=aid)
            for (d, n, val), aid in zip(parts, accepted.assessment_ids, strict=True)
        ],
        state=STATES_OUT[accepted.state],
        request_id=accepted.request_id,
    )


def summary_out(s: Summary) -> pb.SummarizeFeedbackResponse:
    out = pb.SummarizeFeedbackResponse(
        total_traces=s.total_traces,
        traces_with_feedback=s.traces_with_feedback,
        feedback_rate=s.feedback_rate,
        positive_count=s.positive_count,
        negative_count=s.negative_count,
        positive_rate=s.positive_rate,
        average_ratings={k: finite(x) for k, x in s.average_ratings.items()},
        truncated=s.truncated,
    )
    out.start_time.FromMilliseconds(s.start_ms)
    out.end_time.FromMilliseconds(s.end_ms)
    return out
