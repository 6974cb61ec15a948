#!/usr/bin/env python3
"""`feedback-healthcheck`: asks `grpc.health.v1.Health/Check` of a feedback server.

Exit status: 0 SERVING, 1 any other status, 2 unreachable, failed call or bad usage, 3 a
certificate file cannot be read. `--wait S` asks again until SERVING, for up to S seconds.
Shipped in the image (/opt/feedback/bin/feedback-healthcheck). Kubernetes' built-in gRPC
probes speak plaintext only, so the chart uses this one as an exec probe when the server
terminates TLS itself; `deploy/build-local-image.sh` uses it to time a container's start.

Defaults come from the server's own settings: the port from `FEEDBACK_SERVER_PORT`, and
TLS from `FEEDBACK_TLS_CERT_FILE` (then `--ca` names the issuer to trust, by default the
certificate itself, for a self-signed one); with `FEEDBACK_TLS_CLIENT_CA_FILE` set, the
server wants a client certificate and the probe presents the server's own pair.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="feedback-healthcheck", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--addr", default=f"127.0.0.1:{env('FEEDBACK_SERVER_PORT', '50051')}")
    parser.add_argument("--service", default="", help='health service name (default "")')
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds (default 2)")
    parser.add_argument("--wait", type=float, default=0.0, help="retry until SERVING (seconds)")
    parser.add_argument("--tls", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--ca", help="PEM roots to verify the server with")
    parser.add_argument("--cert", default=env("FEEDBACK_TLS_CERT_FILE", ""))
    parser.add_argument("--key", default=env("FEEDBACK_TLS_KEY_FILE", ""))
    parser.add_argument(
        "--client-cert",
        action=argparse.BooleanOptionalAction,
        default=bool(env("FEEDBACK_TLS_CLIENT_CA_FILE")),
        help="present --cert/--key as the client certificate (mTLS)",
    )
    parser.add_argument("--server-name", default="", help="name to verify in the certificate")
    args = parser.parse_args(argv)
    if args.tls is None:
        args.tls = bool(args.cert)
    return args


def channel(args: argparse.Namespace) -> grpc.Channel:
    if not args.tls:
        return grpc.insecure_channel(args.addr)
    roots = Path(args.ca or args.cert).read_bytes()
    key = cert = None
    if args.client_cert:
        key, cert = Path(args.key).read_bytes(), Path(args.cert).read_bytes()
    credentials = grpc.ssl_channel_credentials(roots, key, cert)
    options = [("grpc.ssl_target_name_override", args.server_name)] if args.server_name else []
    return grpc.secure_channel(args.addr, credentials, options)


def check(stub: health_pb2_grpc.HealthStub, args: argparse.Namespace) -> tuple[int, str]:
    """One Check: (exit status, what to print)."""
    request = health_pb2.HealthCheckRequest(service=args.service)
    try:
        reply = stub.Check(request, timeout=args.timeout)
    except grpc.RpcError as exc:
        return 2, f"feedback-healthcheck: {args.addr}: {exc.code().name}"
    serving = reply.status == health_pb2.HealthCheckResponse.SERVING
    return (0 if serving else 1), health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = channel(args)
    except OSError as exc:
        print(f"feedback-healthcheck: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 3
    deadline = time.monotonic() + args.wait
    with target:
        stub = health_pb2_grpc.HealthStub(target)
        code, text = check(stub, args)
        while code != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
            code, text = check(stub, args)
    print(text, file=sys.stdout if code < 2 else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
