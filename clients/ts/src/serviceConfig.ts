// The gRPC service config every client of the feedback service ships (the same
// in every language: clients/service_config.json). FeedbackClient applies it
// unless its channelOptions set "grpc.service_config":
//
// - writes are retried on UNAVAILABLE (up to 5 attempts, 0.2 s doubling to 5 s,
//   with gRPC's retry throttling): safe because every write carries a
//   request_id, so a retry of a write that did land is answered with the same
//   result and stores nothing twice; reads are retried too, chat turns are not
//   (a retry would be a second turn);
// - round_robin over every address the name resolves to: with a dns:/// target
//   naming all replicas (a headless Kubernetes Service), calls spread over
//   them, and a replica that goes away is left for the others.
import type { ChannelOptions } from "@grpc/grpc-js";

// service-config:begin
export const SERVICE_CONFIG = {
  "loadBalancingConfig": [
    {
      "round_robin": {}
    }
  ],
  "methodConfig": [
    {
      "name": [
        {
          "service": "feedback.v1.FeedbackService"
        },
        {
          "service": "feedback.v1.ReviewService",
          "method": "SubmitLabels"
        },
        {
          "service": "feedback.v1.ReviewService",
          "method": "GetLabelSchema"
        },
        {
          "service": "feedback.v1.ReviewService",
          "method": "ListLabelSchemas"
        },
        {
          "service": "feedback.v1.ReviewService",
          "method": "GetReviewSession"
        },
        {
          "service": "feedback.v1.ReviewService",
          "method": "ListReviewSessions"
        },
        {
          "service": "feedback.v1.ReviewService",
          "method": "GetSessionProgress"
        }
      ],
      "retryPolicy": {
        "maxAttempts": 5,
        "initialBackoff": "0.2s",
        "maxBackoff": "5s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": [
          "UNAVAILABLE"
        ]
      }
    }
  ],
  "retryThrottling": {
    "maxTokens": 10,
    "tokenRatio": 0.1
  }
};
// service-config:end

/** grpc-js channel options carrying SERVICE_CONFIG (and turning retries on). */
export const SERVICE_CONFIG_OPTIONS: ChannelOptions = {
  "grpc.service_config": JSON.stringify(SERVICE_CONFIG),
  "grpc.enable_retries": 1,
};
