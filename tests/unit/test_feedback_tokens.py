"""End-user feedback tokens (edge/tokens.py), their rate limit (edge/limits.py) and the
rights they give (edge/auth.py): pure logic, no server."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from feedback.v1 import common_pb2, feedback_service_pb2
from feedback_server.edge.auth import FULL, Authenticator
from feedback_server.edge.limits import CallLimiter, TokenRateLimiter
from feedback_server.edge.tokens import AUDIENCE, ISSUER, FeedbackTokens
from feedback_server.errors import PermissionDenied, ResourceExhausted, Unauthenticated

SECRET = b"s" * 32
TRACE = "tr-" + "a" * 32
LOG = "/feedback.v1.FeedbackService/LogFeedback"


def tokens(**kwargs: object) -> FeedbackTokens:
    return FeedbackTokens(SECRET, ttl_s=600, **kwargs)  # type: ignore[arg-type]


def log_request(trace_id: str = TRACE, source_id: str = "", source_type: int = 0) -> object:
    return feedback_service_pb2.LogFeedbackRequest(
        target=common_pb2.TraceRef(trace_id=trace_id),
        value=common_pb2.FeedbackValue(boolean=True),
        source=common_pb2.Source(type=source_type, id=source_id),  # type: ignore[arg-type]
    )


def test_a_minted_token_is_a_jwt_bound_to_trace_user_and_rights() -> None:
    token, expires = tokens().mint(TRACE, "alice")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["tid"] == TRACE and claims["sub"] == "alice"
    assert claims["scp"] == "feedback:write"
    assert claims["exp"] == int(expires) and 590 <= expires - time.time() <= 610
    verified = tokens().verify(token)
    assert (verified.trace_id, verified.user_id) == (TRACE, "alice")
    assert verified.token_id == claims["jti"]


def test_a_turn_without_user_gets_a_pseudonymous_user_of_its_own() -> None:
    one, two = (tokens().verify(tokens().mint(TRACE, "")[0]) for _ in range(2))
    assert one.user_id.startswith("anon-") and two.user_id.startswith("anon-")
    assert one.user_id != two.user_id


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda t: FeedbackTokens(b"x" * 32, ttl_s=60).mint(TRACE, "a")[0], id="other-secret"
        ),
        pytest.param(
            lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), id="tampered-signature"
        ),
        pytest.param(lambda t: _with_claims(t, sub="mallory"), id="tampered-claims"),
        pytest.param(
            lambda t: jwt.encode({"tid": TRACE, "sub": "a"}, None, algorithm="none"), id="alg-none"
        ),
        pytest.param(
            lambda t: jwt.encode(
                {
                    "iss": ISSUER,
                    "aud": "other",
                    "sub": "a",
                    "tid": TRACE,
                    "scp": "feedback:write",
                    "iat": 0,
                    "exp": 2**40,
                    "jti": "j",
                },
                SECRET,
                algorithm="HS256",
            ),
            id="other-audience",
        ),
        pytest.param(
            lambda t: jwt.encode(
                {
                    "iss": ISSUER,
                    "aud": AUDIENCE,
                    "sub": "a",
                    "tid": TRACE,
                    "scp": "admin",
                    "iat": 0,
                    "exp": 2**40,
                    "jti": "j",
                },
                SECRET,
                algorithm="HS256",
            ),
            id="other-scope",
        ),
        pytest.param(lambda t: "not.a.token", id="garbage"),
        pytest.param(lambda t: "a." * 2000, id="huge"),
    ],
)
def test_a_forged_or_malformed_token_is_unauthenticated(make: object) -> None:
    good, _ = tokens().mint(TRACE, "alice")
    with pytest.raises(Unauthenticated) as info:
        tokens().verify(make(good))  # type: ignore[operator]
    assert (
        info.value.message == "the feedback token is not valid" or "malformed" in info.value.message
    )


def test_an_expired_token_says_so() -> None:
    an_hour_ago = tokens(clock=lambda: time.time() - 3600)
    token, _ = an_hour_ago.mint(TRACE, "alice", ttl_s=60)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens().verify(token)


def test_a_short_secret_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        FeedbackTokens(b"short", ttl_s=60)


def _with_claims(token: str, **changes: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(changes)
    data = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{data}.{signature}"


# --- rights -----------------------------------------------------------------------------


def authenticator(auth_token: str = "svc", rate: int = 60) -> Authenticator:
    return Authenticator(auth_token, tokens(), TokenRateLimiter(rate))


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_the_service_credential_keeps_every_right() -> None:
    auth = authenticator()
    assert auth.check("/feedback.v1.FeedbackService/CreateFeedbackToken", bearer("svc")) is FULL
    request = log_request(source_id="anyone", source_type=common_pb2.SOURCE_TYPE_CODE)
    FULL.authorize(request)
    assert request.source.id == "anyone"  # type: ignore[attr-defined]


def test_no_or_a_wrong_credential_is_unauthenticated_but_health_stays_open() -> None:
    auth = authenticator()
    for metadata in ({}, bearer("wrong"), {"authorization": "svc"}):
        with pytest.raises(Unauthenticated):
            auth.check(LOG, metadata)
    assert auth.check("/grpc.health.v1.Health/Check", {}) is FULL


def test_a_token_allows_the_feedback_writes_only() -> None:
    auth = authenticator()
    token, _ = tokens().mint(TRACE, "alice")
    for rpc in ("LogFeedback", "LogRatings", "RetractFeedback"):
        grant = auth.check(f"/feedback.v1.FeedbackService/{rpc}", bearer(token))
        assert grant.claims is not None and grant.claims.user_id == "alice"
    for other in (
        "/feedback.v1.FeedbackService/ListFeedback",
        "/feedback.v1.FeedbackService/LogExpectation",
        "/feedback.v1.FeedbackService/BatchLogFeedback",
        "/feedback.v1.FeedbackService/CreateFeedbackToken",
        "/feedback.v1.ChatService/Chat",
        "/feedback.v1.ReviewService/SubmitLabels",
    ):
        with pytest.raises(PermissionDenied):
            auth.check(other, bearer(token))


def test_a_token_is_checked_even_when_the_service_has_no_credential() -> None:
    auth = authenticator(auth_token="")
    assert auth.check(LOG, {}) is FULL
    with pytest.raises(Unauthenticated):
        auth.check(LOG, bearer("x.y.z"))
    token, _ = tokens().mint(TRACE, "alice")
    assert auth.check(LOG, bearer(token)).claims is not None


def test_a_token_writes_on_its_trace_as_its_user_only() -> None:
    auth = authenticator()
    token, _ = tokens().mint(TRACE, "alice")
    grant = auth.check(LOG, bearer(token))
    request = log_request()
    grant.authorize(request)  # an empty source becomes the token's user, a human
    assert request.source.id == "alice"  # type: ignore[attr-defined]
    assert request.source.type == common_pb2.SOURCE_TYPE_HUMAN  # type: ignore[attr-defined]
    grant.authorize(log_request(source_id="alice", source_type=common_pb2.SOURCE_TYPE_HUMAN))
    by_client_request_id = feedback_service_pb2.LogFeedbackRequest(
        target=common_pb2.TraceRef(client_request_id="req-1")
    )
    judge = common_pb2.SOURCE_TYPE_LLM_JUDGE
    cases = [
        ("another trace", log_request(trace_id="tr-" + "b" * 32)),
        ("another trace", by_client_request_id),
        ("another user", log_request(source_id="bob")),
        ("a human source", log_request(source_id="alice", source_type=judge)),
    ]
    for words, request in cases:
        with pytest.raises(PermissionDenied, match=words):
            grant.authorize(request)


def test_the_rate_limit_counts_per_token_with_a_retry_delay() -> None:
    now = [1000.0]
    limiter = TokenRateLimiter(3, clock=lambda: now[0])
    expires = time.time() + 600
    for _ in range(3):
        limiter.spend("t1", expires)
    with pytest.raises(ResourceExhausted) as info:
        limiter.spend("t1", expires)
    assert info.value.retry_after_s == pytest.approx(20.0)  # 3 a minute: one every 20 s
    limiter.spend("t2", expires)  # another token has its own bucket
    now[0] += 20.0
    limiter.spend("t1", expires)  # refilled
    with pytest.raises(ResourceExhausted):
        limiter.spend("t1", expires)


def test_buckets_are_bounded() -> None:
    limiter = TokenRateLimiter(1, max_buckets=10)
    for i in range(100):
        limiter.spend(f"t{i}", time.time() + 600)
    assert len(limiter._buckets) == 10


def test_the_call_limiter_refuses_past_its_maximum_with_a_retry_delay() -> None:
    limiter = CallLimiter(2)
    limiter.acquire()
    limiter.acquire()
    with pytest.raises(ResourceExhausted) as info:
        limiter.acquire()
    assert info.value.retry_after_s > 0
    limiter.release()
    limiter.acquire()


def test_a_verified_token_is_remembered_but_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = tokens()
    token, expires = issuer.mint(TRACE, "alice", ttl_s=30)
    assert issuer.verify(token).user_id == "alice"
    # Remembered: verifying again does not decode it again...
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: pytest.fail("decoded twice"))
    assert issuer.verify(token).user_id == "alice"
    # ...but its expiry still counts.
    monkeypatch.setattr(time, "time", lambda: expires + 1)
    with pytest.raises(Unauthenticated, match="expired"):
        issuer.verify(token)
