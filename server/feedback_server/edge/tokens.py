"""End-user feedback tokens: signed, expiring JWTs (RFC 7519, HS256, made by PyJWT).

A token lets its holder judge one trace as one user, through the feedback RPCs of
`FEEDBACK_RPCS` only. It is minted for every chat answer and by `CreateFeedbackToken`, and
checked by the edge before the request is parsed (auth.py). Claims:

    iss  "feedback-service"              who signed it
    aud  "feedback.v1.FeedbackService"   where it is accepted
    sub  the end user (the judgments' source id, source type HUMAN)
    tid  the MLflow trace ID it is bound to
    scp  "feedback:write": the rights (LogFeedback, LogRatings, RetractFeedback)
    iat, exp                             issued, expires (TTL `FEEDBACK_TOKEN_TTL_S`)
    jti  a random ID: the key of its rate limit

Protocol-neutral: no gRPC, no HTTP.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from ..errors import Unauthenticated

ISSUER = "feedback-service"
AUDIENCE = "feedback.v1.FeedbackService"
SCOPE = "feedback:write"
ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash
MAX_TOKEN_CHARS = 2_048
#: Tokens verified lately, by their exact text (a token's signature makes its text unique):
#: a browser voting again is not verified again. Their expiry is still checked on each use.
VERIFIED_CACHE_SIZE = 10_000
# The RPCs a feedback token allows (on its trace, as its user).
FEEDBACK_RPCS = frozenset(
    f"/feedback.v1.FeedbackService/{name}"
    for name in ("LogFeedback", "LogRatings", "RetractFeedback")
)
#: A chat turn without `user_id` gets a token for a pseudonymous user of this form, made
#: for that turn: its votes then still supersede each other (anonymous ones never do).
ANONYMOUS_PREFIX = "anon-"


@dataclass(frozen=True)
class FeedbackClaims:
    """What a verified token allows: judging `trace_id` as `user_id` until `expires_at`."""

    trace_id: str
    user_id: str
    token_id: str
    expires_at: float


class FeedbackTokens:
    """Mints and verifies feedback tokens with one shared secret (the same on every replica)."""

    def __init__(
        self, secret: bytes, *, ttl_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(
                f"the feedback token secret must be at least {MIN_SECRET_BYTES} bytes"
                f" (got {len(secret)}); make one with `openssl rand -hex 32`"
            )
        self._secret = secret
        self.ttl_s = ttl_s
        self._clock = clock
        self._verified: OrderedDict[str, FeedbackClaims] = OrderedDict()

    def mint(self, trace_id: str, user_id: str, ttl_s: float | None = None) -> tuple[str, float]:
        """A token for `trace_id` and `user_id` (empty: a pseudonymous user of its own);
        returns it with its expiry (seconds since the epoch)."""
        now = int(self._clock())
        expires = now + max(1, int(self.ttl_s if ttl_s is None else ttl_s))
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id or ANONYMOUS_PREFIX + secrets.token_hex(8),
            "tid": trace_id,
            "scp": SCOPE,
            "iat": now,
            "exp": expires,
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), float(expires)

    def verify(self, token: str) -> FeedbackClaims:
        """The claims of a valid token; `Unauthenticated` for a forged, expired or malformed
        one (the reason says which, never the library's text)."""
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at <= time.time():
                del self._verified[token]
                raise Unauthenticated("the feedback token has expired")
            self._verified.move_to_end(token)
            return known
        claims = self._decode(token)
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def _decode(self, token: str) -> FeedbackClaims:
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated("the feedback token is malformed")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "tid", "scp"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the feedback token has expired") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("the feedback token is not valid") from None
        if not all(isinstance(claims[k], str) for k in ("sub", "tid", "jti", "scp")):
            raise Unauthenticated("the feedback token is not valid")
        if claims["scp"] != SCOPE:
            raise Unauthenticated("the feedback token is not valid")
        return FeedbackClaims(
            trace_id=claims["tid"],
            user_id=claims["sub"],
            token_id=claims["jti"],
            expires_at=float(claims["exp"]),
        )
