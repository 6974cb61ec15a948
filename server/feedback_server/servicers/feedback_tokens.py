"""FeedbackService.CreateFeedbackToken: validate -> resolve the trace -> mint (edge/tokens.py).

Only the service credential reaches it (a feedback token is refused at the edge for any
RPC but the feedback writes). The trace must exist in the service's experiment: a token
is then proof enough of its trace for the writes made with it.
"""

from __future__ import annotations

import grpc
from feedback.v1 import feedback_service_pb2 as pb

from ..domain.feedback import FeedbackService
from ..domain.validation import Violations
from ..edge.tokens import FeedbackTokens
from ..errors import FailedPrecondition
from . import convert

MAX_TOKEN_USER_CHARS = 250  # MLflow's source_id column
MIN_TTL_S, MAX_TTL_S = 1, 7 * 86_400


class FeedbackTokenMethods:
    """The token RPC of `FeedbackServicer`."""

    _service: FeedbackService
    _tokens: FeedbackTokens | None

    async def CreateFeedbackToken(
        self, request: pb.CreateFeedbackTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateFeedbackTokenResponse:
        v = Violations()
        target = convert.target_in(v, request.target, request.HasField("target"))
        v.text("user_id", request.user_id, max_chars=MAX_TOKEN_USER_CHARS, required=True)
        ttl_s = ttl_in(v, request)
        v.raise_if_any()
        if self._tokens is None:
            raise FailedPrecondition(
                "feedback tokens are off: the server has no FEEDBACK_TOKEN_SECRET"
            )
        trace_id = await self._service.resolve(target, for_write=False)
        assert trace_id is not None
        token, expires = self._tokens.mint(trace_id, request.user_id, ttl_s)
        response = pb.CreateFeedbackTokenResponse(token=token, trace_id=trace_id)
        response.expire_time.FromSeconds(int(expires))
        return response


def ttl_in(v: Violations, request: pb.CreateFeedbackTokenRequest) -> float | None:
    """The requested lifetime in seconds (None: the service's default)."""
    if not request.HasField("ttl"):
        return None
    ttl = request.ttl
    seconds = ttl.seconds + ttl.nanos / 1e9
    if not MIN_TTL_S <= seconds <= MAX_TTL_S or ttl.nanos < 0 or ttl.nanos >= 1_000_000_000:
        v.add("ttl", f"must be from {MIN_TTL_S} second to {MAX_TTL_S // 86_400} days")
        return None
    return seconds


def turn_token(tokens: FeedbackTokens | None, trace_id: str, user_id: str) -> str:
    """The feedback token of a chat answer ("" when tokens are off)."""
    return "" if tokens is None else tokens.mint(trace_id, user_id)[0]
