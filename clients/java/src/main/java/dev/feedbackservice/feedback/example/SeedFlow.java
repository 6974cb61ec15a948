package dev.feedbackservice.feedback.example;

import com.google.rpc.BadRequest;
import dev.feedbackservice.feedback.client.FeedbackClient;
import dev.feedbackservice.feedback.v1.Assessment;
import dev.feedbackservice.feedback.v1.ChatCompletion;
import dev.feedbackservice.feedback.v1.ChatRequest;
import dev.feedbackservice.feedback.v1.ChatResponse;
import dev.feedbackservice.feedback.v1.FeedbackValue;
import dev.feedbackservice.feedback.v1.ListFeedbackResponse;
import dev.feedbackservice.feedback.v1.LogFeedbackRequest;
import dev.feedbackservice.feedback.v1.LogFeedbackResponse;
import dev.feedbackservice.feedback.v1.LogRatingsRequest;
import dev.feedbackservice.feedback.v1.LogRatingsResponse;
import dev.feedbackservice.feedback.v1.RatingResult;
import dev.feedbackservice.feedback.v1.SourceType;
import dev.feedbackservice.feedback.v1.StreamChatRequest;
import dev.feedbackservice.feedback.v1.TraceRef;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The feedback service's seed flow against {@code $FEEDBACK_ADDR} (default
 * 127.0.0.1:50051): Chat + thumbs-down by trace ID; StreamChat + ratings by
 * client request ID; ListFeedback on both; a malformed call's typed error.
 * Prints KEY=VALUE lines for machine checks; exits 1 on any failure.
 */
public final class SeedFlow {
  private static final String USER_ID = "enduser_123";
  private static final String RATIONALE =
      "Missing details about MLflow's key features like Projects and Model Registry";
  private static final SecureRandom RANDOM = new SecureRandom();

  private SeedFlow() {}

  public static void main(String[] args) {
    int exit = 0;
    try (FeedbackClient client = FeedbackClient.fromEnv()) {
      run(client);
      System.out.println("RESULT=OK");
    } catch (StatusRuntimeException e) {
      System.err.println("seedflow: FAILED: " + FeedbackClient.describe(e));
      exit = 1;
    } catch (RuntimeException e) {
      System.err.println("seedflow: FAILED: " + e.getMessage());
      exit = 1;
    }
    if (exit != 0) {
      System.out.println("RESULT=FAILED");
    }
    System.out.flush();
    System.exit(exit);
  }

  private static void run(FeedbackClient client) {
    System.out.println("LANG=java");
    System.out.println("ADDR=" + FeedbackClient.addrFromEnv());
    String session = "java-session-" + randomHex(8);

    // 1. A unary chat turn, judged thumbs-down by its trace ID.
    ChatResponse chat = client.chat(ChatRequest.newBuilder()
        .setMessage("What is MLflow?").setUserId(USER_ID).setSessionId(session).build());
    System.out.println("chat: \"" + chat.getResponse() + "\"");
    System.out.println("TRACE_ID=" + chat.getTraceId());
    System.out.println("CHAT_CLIENT_REQUEST_ID=" + chat.getClientRequestId());
    LogFeedbackResponse feedback = client.feedback().logFeedback(LogFeedbackRequest.newBuilder()
        .setTarget(FeedbackClient.byTraceId(chat.getTraceId()))
        .setName("user_feedback")
        .setValue(FeedbackClient.bool(false))
        .setRationale(RATIONALE)
        .setSource(FeedbackClient.human(USER_ID))
        .setRequestId("java-" + randomHex(16))
        .build());
    System.out.println("feedback: thumbs-down stored as " + feedback.getAssessmentId()
        + " (" + feedback.getState() + ")");
    System.out.println("FEEDBACK_ASSESSMENT_ID=" + feedback.getAssessmentId());
    System.out.println("FEEDBACK_STATE=" + feedback.getState());
    changeBatchRetract(client, chat.getTraceId(), feedback.getAssessmentId());

    // 2. A streamed chat turn with our own client request ID, rated by that ID.
    String clientRequestId = "java-" + randomHex(16);
    StringBuilder text = new StringBuilder();
    int[] deltas = {0};
    ChatCompletion completion = client.streamChat(StreamChatRequest.newBuilder()
        .setMessage("What is MLflow?").setClientRequestId(clientRequestId)
        .setUserId(USER_ID).setSessionId(session).build(),
        delta -> {
          deltas[0]++;
          text.append(delta);
        });
    System.out.println("stream: " + deltas[0] + " deltas, \"" + completion.getResponse() + "\"");
    System.out.println("CLIENT_REQUEST_ID=" + clientRequestId);
    System.out.println("STREAM_TRACE_ID=" + completion.getTraceId());
    System.out.println("STREAM_DELTAS=" + deltas[0]);
    check(completion.getClientRequestId().equals(clientRequestId),
        "StreamChat: completion has client_request_id " + completion.getClientRequestId());
    check(text.toString().equals(completion.getResponse()),
        "StreamChat: the deltas do not add up to the completion");
    LogRatingsResponse ratings = client.feedback().logRatings(LogRatingsRequest.newBuilder()
        .setTarget(FeedbackClient.byClientRequestId(clientRequestId))
        .putRatings("accuracy", 4)
        .putRatings("helpfulness", 5)
        .setScaleMax(5)
        .setRationale("Accurate and helpful overview")
        .setSource(FeedbackClient.human(USER_ID))
        .setRequestId("java-" + randomHex(16))
        .build());
    for (RatingResult r : ratings.getResultsList()) {
      System.out.println("rating: " + r.getName() + " = " + r.getValue()
          + " stored as " + r.getAssessmentId());
    }
    System.out.println("RATINGS_ASSESSMENT_IDS=" + ratings.getResultsList().stream()
        .map(RatingResult::getAssessmentId).collect(Collectors.joining(",")));
    System.out.println("RATINGS_STATE=" + ratings.getState());

    // 3. Both traces list every judgment (stored or still queued).
    checkList(client, FeedbackClient.byTraceId(chat.getTraceId()), chat.getTraceId(),
        Map.of("user_feedback", FeedbackClient.bool(false)));
    Map<String, FeedbackValue> rated = new LinkedHashMap<>();
    rated.put("user_accuracy", FeedbackClient.number(0.8));
    rated.put("user_helpfulness", FeedbackClient.number(1.0));
    checkList(client, FeedbackClient.byClientRequestId(clientRequestId),
        completion.getTraceId(), rated);

    // 4. Errors are typed: a malformed trace ID is INVALID_ARGUMENT with a
    // google.rpc.BadRequest naming the field.
    try {
      client.logThumbs(FeedbackClient.byTraceId("not-a-trace-id"), true, "",
          FeedbackClient.human(USER_ID));
      throw new IllegalStateException("LogFeedback with a malformed trace ID succeeded");
    } catch (StatusRuntimeException e) {
      check(e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT,
          "LogFeedback with a malformed trace ID: " + FeedbackClient.describe(e));
      List<BadRequest.FieldViolation> violations = FeedbackClient.fieldViolations(e);
      check(!violations.isEmpty(),
          "LogFeedback with a malformed trace ID: no google.rpc.BadRequest in "
              + FeedbackClient.describe(e));
      System.out.println("error: " + FeedbackClient.describe(e));
      System.out.println("ERROR_CODE=" + e.getStatus().getCode().name());
      System.out.println("ERROR_FIELDS=" + violations.stream()
          .map(BadRequest.FieldViolation::getField).collect(Collectors.joining(",")));
    }
  }

  /**
   * The user's vote changed (no request ID given: the client sets one), a batch
   * with one bad item, then the changed vote retracted.
   */
  private static void changeBatchRetract(FeedbackClient client, String traceId, String downId) {
    LogFeedbackResponse up =
        client.logThumbs(FeedbackClient.byTraceId(traceId), true, "", FeedbackClient.human(USER_ID));
    check(up.getSupersededAssessmentId().equals(downId),
        "changed vote supersedes " + up.getSupersededAssessmentId() + ", want " + downId);
    System.out.println("CHANGED_ASSESSMENT_ID=" + up.getAssessmentId());
    List<FeedbackClient.BatchResult> results = client.logBatch(List.of(
        LogFeedbackRequest.newBuilder().setTarget(FeedbackClient.byTraceId(traceId))
            .setName("interop_batch").setValue(FeedbackClient.category("clear"))
            .setSource(FeedbackClient.human(USER_ID)).build(),
        LogFeedbackRequest.newBuilder().setTarget(FeedbackClient.byTraceId("tr-bad"))
            .setValue(FeedbackClient.bool(true)).build()));
    check(results.size() == 2 && results.get(0).ok(), "BatchLogFeedback: first item refused");
    check(!results.get(1).ok()
        && results.get(1).error().getStatus().getCode() == Status.Code.INVALID_ARGUMENT,
        "BatchLogFeedback: second item not INVALID_ARGUMENT");
    System.out.println("BATCH_ASSESSMENT_ID=" + results.get(0).response().getAssessmentId());
    System.out.println("BATCH_ERROR=" + FeedbackClient.describe(results.get(1).error()));
    var retracted = client.retract(FeedbackClient.byTraceId(traceId),
        FeedbackClient.DEFAULT_FEEDBACK_NAME, FeedbackClient.human(USER_ID));
    check(retracted.getAssessmentId().equals(up.getAssessmentId()),
        "retracted " + retracted.getAssessmentId() + ", want " + up.getAssessmentId());
    System.out.println("RETRACTED_ASSESSMENT_ID=" + retracted.getAssessmentId());
  }

  private static void checkList(FeedbackClient client, TraceRef target, String wantTraceId,
      Map<String, FeedbackValue> want) {
    ListFeedbackResponse list = client.listFeedback(target);
    check(list.getTraceId().equals(wantTraceId),
        "ListFeedback: trace_id " + list.getTraceId() + ", want " + wantTraceId);
    System.out.println("list " + list.getTraceId() + ": " + list.getAssessmentsCount()
        + " assessments");
    Map<String, Boolean> found = new LinkedHashMap<>();
    for (Assessment a : list.getAssessmentsList()) {
      System.out.println("  " + a.getAssessmentId() + " " + a.getName() + " = "
          + FeedbackClient.format(a.getFeedback()) + " by " + a.getSource().getType() + ":"
          + a.getSource().getId() + " (" + a.getState() + ")");
      FeedbackValue expected = want.get(a.getName());
      if (expected != null && a.getSource().getId().equals(USER_ID)
          && a.getSource().getType() == SourceType.SOURCE_TYPE_HUMAN && same(a.getFeedback(), expected)) {
        found.put(a.getName(), true);
      }
    }
    for (Map.Entry<String, FeedbackValue> e : want.entrySet()) {
      check(found.containsKey(e.getKey()), "ListFeedback " + wantTraceId + ": no " + e.getKey()
          + " = " + FeedbackClient.format(e.getValue()) + " from " + USER_ID);
    }
    System.out.println("LIST_OK=" + list.getTraceId());
  }

  private static boolean same(FeedbackValue got, FeedbackValue want) {
    if (got.getKindCase() != want.getKindCase()) {
      return false;
    }
    return switch (want.getKindCase()) {
      case NUMBER -> Math.abs(got.getNumber() - want.getNumber()) < 1e-9;
      default -> got.equals(want);
    };
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalStateException(message);
    }
  }

  private static String randomHex(int chars) {
    byte[] bytes = new byte[chars / 2];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }
}
