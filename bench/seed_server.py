"""The seed's design, as the baseline of the ingestion benchmark.

A minimal grpc.aio server whose LogFeedback handler calls `mlflow.log_feedback`
in a thread and answers when MLflow has stored the judgment (what the seed
document does inside its request handler). It serves the same proto, so the
same ghz command drives it and the service. To be generous to the baseline the
handler's thread pool has as many threads as the highest benchmark concurrency
(`--threads`, default 64), instead of asyncio's default of min(32, cpus + 4).

    python -m bench.seed_server --port 0 --port-file FILE --tracking-uri URL --experiment NAME
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")

import grpc
from feedback.v1 import common_pb2, feedback_service_pb2, feedback_service_pb2_grpc

from .common import serve_until_signalled


class SeedFeedback(feedback_service_pb2_grpc.FeedbackServiceServicer):
    def __init__(self) -> None:
        import mlflow
        from mlflow.entities import AssessmentSource

        self._mlflow = mlflow
        self._source_cls = AssessmentSource

    async def LogFeedback(
        self, request: feedback_service_pb2.LogFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> feedback_service_pb2.LogFeedbackResponse:
        kind = request.value.WhichOneof("kind")
        value = getattr(request.value, kind) if kind and kind != "structured" else True
        source = self._source_cls(source_type="HUMAN", source_id=request.source.id or "anonymous")
        feedback = await asyncio.to_thread(
            self._mlflow.log_feedback,
            trace_id=request.target.trace_id,
            name=request.name or "user_feedback",
            value=value,
            rationale=request.rationale or None,
            source=source,
        )
        return feedback_service_pb2.LogFeedbackResponse(
            assessment_id=feedback.assessment_id or "",
            trace_id=request.target.trace_id,
            state=common_pb2.INGESTION_STATE_STORED,
            request_id=request.request_id,
        )


async def serve(
    port: int, port_file: Path | None, tracking_uri: str, experiment: str, threads: int
) -> None:
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(threads, thread_name_prefix="seed")
    )
    await serve_until_signalled(
        port,
        port_file,
        lambda server: feedback_service_pb2_grpc.add_FeedbackServiceServicer_to_server(
            SeedFeedback(), server
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed_server")
    parser.add_argument("--port", type=int, required=True, help="0: a port the system picks")
    parser.add_argument("--port-file", type=Path, help="where to write the port once serving")
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--threads", type=int, default=64)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    asyncio.run(serve(args.port, args.port_file, args.tracking_uri, args.experiment, args.threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
