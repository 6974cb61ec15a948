package dev.feedbackservice.feedback.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The gRPC service config every client of the feedback service ships (the
 * same in every language: {@code clients/service_config.json}). {@link
 * FeedbackClient#FeedbackClient(String)} applies it; pass {@link #asMap()} to
 * {@code ManagedChannelBuilder.defaultServiceConfig} (with {@code
 * enableRetry()}) for a channel of your own.
 *
 * <ul>
 *   <li>Writes are retried on {@code UNAVAILABLE} (up to 5 attempts, 0.2 s
 *       doubling to 5 s, with gRPC's retry throttling): safe because every
 *       write carries a {@code request_id}, so a retry of a write that did land
 *       is answered with the same result and stores nothing twice. Reads are
 *       retried too; chat turns are not (a retry would be a second turn).
 *   <li>{@code round_robin} over every address the name resolves to: with a
 *       {@code dns:///} target naming all replicas (a headless Kubernetes
 *       Service), calls spread over them, and a replica that goes away is left
 *       for the others.
 * </ul>
 */
public final class ServiceConfig {
  // service-config:begin
  /** The service config, as JSON. */
  public static final String JSON =
      """
      {
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
      }
      """;
  // service-config:end

  private ServiceConfig() {}

  /** The service config in the shape grpc-java takes (numbers as doubles). */
  public static Map<String, ?> asMap() {
    @SuppressWarnings("unchecked")
    Map<String, ?> map = (Map<String, ?>) new Parser(JSON).value();
    return map;
  }

  /** Just enough JSON for the service config: objects, arrays, strings, numbers. */
  private static final class Parser {
    private final String text;
    private int at;

    Parser(String text) {
      this.text = text;
    }

    Object value() {
      skip();
      char c = text.charAt(at);
      if (c == '{') {
        Map<String, Object> map = new LinkedHashMap<>();
        at++;
        while (peek() != '}') {
          String key = (String) value();
          expect(':');
          map.put(key, value());
          if (peek() == ',') {
            at++;
          }
        }
        at++;
        return map;
      }
      if (c == '[') {
        List<Object> list = new ArrayList<>();
        at++;
        while (peek() != ']') {
          list.add(value());
          if (peek() == ',') {
            at++;
          }
        }
        at++;
        return list;
      }
      if (c == '"') {
        int end = text.indexOf('"', at + 1);
        String s = text.substring(at + 1, end);
        at = end + 1;
        return s;
      }
      int start = at;
      while (at < text.length() && "+-.0123456789eE".indexOf(text.charAt(at)) >= 0) {
        at++;
      }
      return Double.parseDouble(text.substring(start, at));
    }

    private char peek() {
      skip();
      return text.charAt(at);
    }

    private void expect(char c) {
      if (peek() != c) {
        throw new IllegalStateException("service config: '" + c + "' expected at " + at);
      }
      at++;
    }

    private void skip() {
      while (Character.isWhitespace(text.charAt(at))) {
        at++;
      }
    }
  }
}
