"""Who may call what: the credential check every call passes before its request is read,
and the check of a feedback token's request once it is.

Protocol-neutral: it sees the method's full name (`/package.Service/Method`), the call's
metadata (gRPC metadata or HTTP headers, lower-case keys) and, for feedback tokens, the
decoded request (a `target` TraceRef and a `source` Source, as every RPC of
`tokens.FEEDBACK_RPCS` has).

Credentials (README "Trust model"):
- the service credential (`FEEDBACK_AUTH_TOKEN`): every RPC, any source;
- an end-user feedback token (tokens.py): its RPCs, on its trace, as its user, rate-limited;
- none: health and reflection always; everything when no service credential is set.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import PermissionDenied, Unauthenticated
from .limits import TokenRateLimiter
from .tokens import FEEDBACK_RPCS, FeedbackClaims, FeedbackTokens

# Probes and discovery stay open when auth is on.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
SOURCE_TYPE_HUMAN = 1  # feedback.v1.SourceType: UNSPECIFIED (0) means HUMAN too


@dataclass(frozen=True)
class Grant:
    """What one call may do: everything (`claims` None), or what its feedback token allows."""

    claims: FeedbackClaims | None = None

    def authorize(self, request: Any) -> None:
        """Checks (and completes) a decoded request against a feedback token's rights: the
        token's trace only, as the token's user only. An empty `source.id` becomes the
        user; the source type must be HUMAN (or unset). Raises `PermissionDenied`."""
        claims = self.claims
        if claims is None:
            return
        target = request.target
        if target.WhichOneof("ref") != "trace_id" or target.trace_id != claims.trace_id:
            raise PermissionDenied("the feedback token is for another trace")
        source = request.source
        if source.type not in (0, SOURCE_TYPE_HUMAN):
            raise PermissionDenied("a feedback token writes as a human source only")
        if source.id and source.id != claims.user_id:
            raise PermissionDenied("the feedback token is for another user")
        source.type = SOURCE_TYPE_HUMAN
        source.id = claims.user_id


FULL = Grant()


class Authenticator:
    """Decides from the method and the metadata whether a call may proceed, and with what
    rights. With a service token set, every method but the public ones needs
    `authorization: Bearer <token>` (the service token or a feedback token); without one,
    every call is allowed, and a call presenting a feedback token gets that token's rights."""

    def __init__(
        self,
        auth_token: str = "",
        tokens: FeedbackTokens | None = None,
        rate_limit: TokenRateLimiter | None = None,
        on_token_trace: Callable[[str], None] | None = None,
    ) -> None:
        self._expected = b"Bearer " + auth_token.encode() if auth_token else b""
        self._tokens = tokens
        self._rate = rate_limit
        self._on_token_trace = on_token_trace

    def check(self, method: str, metadata: Mapping[str, str]) -> Grant:
        """The call's rights; raises `Unauthenticated` (no valid credential) or
        `PermissionDenied` (a feedback token used for another RPC), or `ResourceExhausted`
        (the token's rate limit)."""
        if method.startswith(PUBLIC_PREFIXES):
            return FULL
        given = metadata.get("authorization", "")
        if self._expected and hmac.compare_digest(given.encode(), self._expected):
            return FULL
        scheme, _, credential = given.partition(" ")
        if self._tokens is not None and scheme.lower() == "bearer" and credential.count(".") == 2:
            return self._token_grant(method, credential.strip())
        if self._expected:
            raise Unauthenticated("missing or invalid bearer token")
        return FULL

    def _token_grant(self, method: str, token: str) -> Grant:
        assert self._tokens is not None
        claims = self._tokens.verify(token)
        if method not in FEEDBACK_RPCS:
            raise PermissionDenied(
                "a feedback token allows LogFeedback, LogRatings and RetractFeedback only"
            )
        if self._rate is not None:
            self._rate.spend(claims.token_id, claims.expires_at)
        return Grant(claims)

    def trust_token_trace(self, grant: Grant) -> None:
        """After `authorize`: the token's trace was produced or verified when the token was
        minted, so its writes need no lookup of the trace (another replica's export may not
        have reached MLflow yet)."""
        if grant.claims is not None and self._on_token_trace is not None:
            self._on_token_trace(grant.claims.trace_id)
