"""Who may call what: the credential check every call passes before its request is read.

Protocol-neutral: it sees the method's full name (`/package.Service/Method`) and the
call's metadata (gRPC metadata or HTTP headers, lower-case keys).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from ..errors import Unauthenticated

# Probes and discovery stay open when auth is on.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class Authenticator:
    """With a service token set, every method but the public ones needs
    `authorization: Bearer <token>`; without one, every call is allowed."""

    def __init__(self, auth_token: str = "") -> None:
        self._expected = b"Bearer " + auth_token.encode() if auth_token else b""

    def check(self, method: str, metadata: Mapping[str, str]) -> None:
        """Raises `Unauthenticated` unless the call may proceed."""
        if not self._expected or method.startswith(PUBLIC_PREFIXES):
            return
        given = metadata.get("authorization", "")
        if not hmac.compare_digest(given.encode(), self._expected):
            raise Unauthenticated("missing or invalid bearer token")
