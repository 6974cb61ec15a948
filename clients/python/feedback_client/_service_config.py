"""The gRPC service config the client's channel ships (the same in every language:
clients/service_config.json).

- Writes are retried on `UNAVAILABLE` (up to 5 attempts, 0.2 s doubling to 5 s, with
  gRPC's retry throttling): safe because every write carries a `request_id`, so a retry of
  a write that did land is answered with the same result and stores nothing twice. Reads
  are retried too. Chat turns are not (a retry would be a second turn).
- `round_robin` over every address the name resolves to: with a `dns:///` target naming
  all replicas (a headless Kubernetes Service), calls spread over them, and a replica that
  goes away (SIGTERM, its connection aged out) is left for the others.

Pass `CHANNEL_OPTIONS` to a channel of your own (TLS, interceptors) to keep them.
"""

from __future__ import annotations

import json
from typing import Any, Final

SERVICE_CONFIG: Final[dict[str, Any]] = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [
        {
            "name": [
                {"service": "feedback.v1.FeedbackService"},
                {"service": "feedback.v1.ReviewService", "method": "SubmitLabels"},
                {"service": "feedback.v1.ReviewService", "method": "GetLabelSchema"},
                {"service": "feedback.v1.ReviewService", "method": "ListLabelSchemas"},
                {"service": "feedback.v1.ReviewService", "method": "GetReviewSession"},
                {"service": "feedback.v1.ReviewService", "method": "ListReviewSessions"},
                {"service": "feedback.v1.ReviewService", "method": "GetSessionProgress"},
            ],
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.2s",
                "maxBackoff": "5s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
    "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
}

#: gRPC channel options carrying `SERVICE_CONFIG` (and turning retries on).
CHANNEL_OPTIONS: Final = (
    ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
    ("grpc.enable_retries", 1),
)
