"""Feedback sent the instant Chat / StreamChat returns: how long until it is stored.

Start a server with FEEDBACK_ACK_WAIT_MS=20000 (the ack then comes back once the judgment
is STORED in MLflow), then: `.venv/bin/python bench/feedback_after_chat.py 127.0.0.1:50051`.
The figure is the worst-case wait for the trace's export plus the assessment write.
"""

from __future__ import annotations

import statistics
import sys
import time

import grpc
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import chat_service_pb2_grpc, common_pb2, feedback_service_pb2_grpc
from feedback.v1 import feedback_service_pb2 as fb_pb


def main(addr: str, turns: int = 40) -> None:
    channel = grpc.insecure_channel(addr)
    chat = chat_service_pb2_grpc.ChatServiceStub(channel)
    feedback = feedback_service_pb2_grpc.FeedbackServiceStub(channel)
    for rpc in ("Chat", "StreamChat"):
        waits = []
        for i in range(turns):
            if rpc == "Chat":
                trace_id = chat.Chat(chat_pb.ChatRequest(message=f"q{i}")).trace_id
            else:
                events = list(chat.StreamChat(chat_pb.StreamChatRequest(message=f"q{i}")))
                trace_id = events[-1].completion.trace_id
            start = time.perf_counter()
            ack = feedback.LogFeedback(
                fb_pb.LogFeedbackRequest(
                    target=common_pb2.TraceRef(trace_id=trace_id),
                    value=common_pb2.FeedbackValue(boolean=True),
                )
            )
            waits.append((time.perf_counter() - start) * 1000)
            if ack.state != common_pb2.INGESTION_STATE_STORED:
                raise SystemExit(f"not stored within FEEDBACK_ACK_WAIT_MS: {ack}")
        waits.sort()
        print(
            f"{rpc}: {turns} judgments sent 0 ms after the turn, all STORED; ack-to-stored ms "
            f"p50={statistics.median(waits):.0f} p95={waits[int(0.95 * turns) - 1]:.0f} "
            f"max={waits[-1]:.0f}"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051")
