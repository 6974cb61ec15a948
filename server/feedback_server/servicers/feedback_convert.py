"""FeedbackService's own converters: domain results -> response messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from feedback.v1 import feedback_service_pb2 as pb

from ..domain.feedback import Accepted
from ..domain.summaries import Figures, Summary
from ..edge.request_id import REQUEST_ID
from ..edge.status import to_status
from ..errors import ServiceError
from .convert import STATES_OUT, finite

R = TypeVar("R", pb.LogFeedbackResponse, pb.LogExpectationResponse)


def accepted_out(response_type: type[R], accepted: Accepted) -> R:
    """The answer to a single write (LogFeedback, LogExpectation)."""
    return response_type(
        assessment_id=accepted.assessment_ids[0],
        trace_id=accepted.trace_id or "",
        state=STATES_OUT[accepted.state],
        request_id=accepted.request_id,
        superseded_assessment_id=accepted.superseded[0],
    )


def log_ratings_out(
    accepted: Accepted, parts: list[tuple[str, str, float]]
) -> pb.LogRatingsResponse:
    """`parts`: (dimension, assessment name, stored value) per rating, in `accepted` order."""
    return pb.LogRatingsResponse(
        trace_id=accepted.trace_id or "",
        results=[
            pb.RatingResult(
                dimension=d, name=n, value=val, assessment_id=aid, superseded_assessment_id=old
            )
            for (d, n, val), aid, old in zip(
                parts, accepted.assessment_ids, accepted.superseded, strict=True
            )
        ],
        state=STATES_OUT[accepted.state],
        request_id=accepted.request_id,
    )


def retract_out(accepted: Accepted) -> pb.RetractFeedbackResponse:
    return pb.RetractFeedbackResponse(
        assessment_id=accepted.assessment_ids[0],
        trace_id=accepted.trace_id or "",
        state=STATES_OUT[accepted.state],
        request_id=accepted.request_id,
    )


def batch_out(results: Sequence[Accepted | ServiceError]) -> pb.BatchLogFeedbackResponse:
    """Each item's answer, or its error as the `google.rpc.Status` a single LogFeedback
    would have ended with (the one table, edge/status.py)."""
    request_id = REQUEST_ID.get()
    out = pb.BatchLogFeedbackResponse()
    for result in results:
        item = out.results.add()
        if isinstance(result, ServiceError):
            item.error.CopyFrom(to_status(result, request_id))
        else:
            item.response.CopyFrom(accepted_out(pb.LogFeedbackResponse, result))
    return out


def _figures_into(msg: pb.SummarizeFeedbackResponse | pb.SummaryBucket, f: Figures) -> None:
    msg.total_traces = f.total_traces
    msg.traces_with_feedback = f.traces_with_feedback
    msg.feedback_rate = f.feedback_rate
    msg.positive_count = f.positive_count
    msg.negative_count = f.negative_count
    msg.positive_rate = f.positive_rate
    msg.average_ratings.update({k: finite(x) for k, x in f.average_ratings.items()})


def summary_out(s: Summary) -> pb.SummarizeFeedbackResponse:
    out = pb.SummarizeFeedbackResponse(truncated=False)
    _figures_into(out, s.figures)
    out.start_time.FromMilliseconds(s.start_ms)
    out.end_time.FromMilliseconds(s.end_ms)
    for b in s.buckets:
        bucket = out.buckets.add()
        _figures_into(bucket, b.figures)
        bucket.start_time.FromMilliseconds(b.start_ms)
        bucket.end_time.FromMilliseconds(b.end_ms)
    return out
