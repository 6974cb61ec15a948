"""One-shot health checks of the servers the tests and benchmarks start (for `poll`)."""

from __future__ import annotations

import urllib.error
import urllib.request

__all__ = ["grpc_serving", "http_get"]

#: Loopback requests never go through an HTTP proxy from the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def grpc_serving(
    address: str, timeout_s: float = 1.0, tls: tuple[bytes, bytes, bytes] | None = None
) -> bool:
    """True when the standard gRPC health service at `address` answers SERVING now;
    over TLS with `tls` = (CA, client certificate, client key) PEM bytes."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    if tls is None:
        channel = grpc.insecure_channel(address)
    else:
        ca, cert, key = tls
        channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(ca, key, cert))
    try:
        with channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout_s
            )
    except grpc.RpcError:
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_get(url: str, timeout_s: float = 2.0) -> bytes | None:
    """The body of a 200 answer to ``GET url``, or None (refused, timed out, another status)."""
    try:
        with _NO_PROXY.open(url, timeout=timeout_s) as resp:
            return resp.read() if resp.status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None
