package dev.feedbackservice.feedback.client;

import dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest;
import dev.feedbackservice.feedback.v1.LogExpectationRequest;
import dev.feedbackservice.feedback.v1.LogFeedbackRequest;
import dev.feedbackservice.feedback.v1.LogRatingsRequest;
import dev.feedbackservice.feedback.v1.RetractFeedbackRequest;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.MethodDescriptor;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Gives every write (LogFeedback, LogRatings, LogExpectation, RetractFeedback,
 * each item of BatchLogFeedback) a fresh {@code request_id} when it has none,
 * before its first attempt: the channel's retries send the same message, so
 * the service stores nothing twice (AIP-155). A set one is left alone.
 */
public final class RequestIds implements ClientInterceptor {
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A fresh idempotency key (32 hexadecimal characters). */
  public static String newRequestId() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /** {@code message} with a fresh request_id where a write has none. */
  @SuppressWarnings("unchecked")
  public static <T> T fill(T message) {
    if (message instanceof LogFeedbackRequest r && r.getRequestId().isEmpty()) {
      return (T) r.toBuilder().setRequestId(newRequestId()).build();
    }
    if (message instanceof LogRatingsRequest r && r.getRequestId().isEmpty()) {
      return (T) r.toBuilder().setRequestId(newRequestId()).build();
    }
    if (message instanceof LogExpectationRequest r && r.getRequestId().isEmpty()) {
      return (T) r.toBuilder().setRequestId(newRequestId()).build();
    }
    if (message instanceof RetractFeedbackRequest r && r.getRequestId().isEmpty()) {
      return (T) r.toBuilder().setRequestId(newRequestId()).build();
    }
    if (message instanceof BatchLogFeedbackRequest r) {
      BatchLogFeedbackRequest.Builder b = r.toBuilder().clearRequests();
      for (LogFeedbackRequest item : r.getRequestsList()) {
        b.addRequests(fill(item));
      }
      return (T) b.build();
    }
    return message;
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void sendMessage(ReqT message) {
        super.sendMessage(fill(message));
      }
    };
  }
}
