"""The transport floor of the streaming benchmark: a bare grpc.aio StreamChat.

It streams the EchoBackend's pieces as deltas and ends with a completion, like
the service, but with no validation, interceptor, trace or export: the
difference between the service and this server is what the service's own code
adds to a stream; the difference between this server and calling EchoBackend
in-process is what gRPC itself costs.

    python -m bench.echo_server --port 0 --port-file FILE
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from feedback.v1 import chat_service_pb2 as pb
from feedback.v1 import chat_service_pb2_grpc
from feedback_server.backends.base import ChatTurn
from feedback_server.backends.echo import EchoBackend

from .common import serve_until_signalled


class BareChat(chat_service_pb2_grpc.ChatServiceServicer):
    def __init__(self) -> None:
        self._backend = EchoBackend(0.0)

    async def StreamChat(
        self, request: pb.StreamChatRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamChatResponse]:
        turn = ChatTurn(request.message, request.client_request_id or "bare", "", "", {})
        parts = []
        async for piece in self._backend.stream(turn):
            parts.append(piece)
            yield pb.StreamChatResponse(delta=pb.ChatDelta(content=piece))
        yield pb.StreamChatResponse(
            completion=pb.ChatCompletion(
                trace_id="", client_request_id=turn.client_request_id, response="".join(parts)
            )
        )


async def serve(port: int, port_file: Path | None) -> None:
    await serve_until_signalled(
        port,
        port_file,
        lambda server: chat_service_pb2_grpc.add_ChatServiceServicer_to_server(BareChat(), server),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_server")
    parser.add_argument("--port", type=int, required=True, help="0: a port the system picks")
    parser.add_argument("--port-file", type=Path, help="where to write the port once serving")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.port_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
