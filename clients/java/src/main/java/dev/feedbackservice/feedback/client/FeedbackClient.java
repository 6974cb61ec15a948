package dev.feedbackservice.feedback.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest;
import dev.feedbackservice.feedback.v1.BatchLogFeedbackResult;
import dev.feedbackservice.feedback.v1.ChatCompletion;
import dev.feedbackservice.feedback.v1.ChatRequest;
import dev.feedbackservice.feedback.v1.ChatResponse;
import dev.feedbackservice.feedback.v1.ChatServiceGrpc;
import dev.feedbackservice.feedback.v1.FeedbackServiceGrpc;
import dev.feedbackservice.feedback.v1.FeedbackValue;
import dev.feedbackservice.feedback.v1.ListFeedbackRequest;
import dev.feedbackservice.feedback.v1.ListFeedbackResponse;
import dev.feedbackservice.feedback.v1.LogFeedbackRequest;
import dev.feedbackservice.feedback.v1.LogFeedbackResponse;
import dev.feedbackservice.feedback.v1.RetractFeedbackRequest;
import dev.feedbackservice.feedback.v1.RetractFeedbackResponse;
import dev.feedbackservice.feedback.v1.Source;
import dev.feedbackservice.feedback.v1.SourceType;
import dev.feedbackservice.feedback.v1.StreamChatRequest;
import dev.feedbackservice.feedback.v1.StreamChatResponse;
import dev.feedbackservice.feedback.v1.TraceRef;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.protobuf.StatusProto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A small client of the feedback service over the generated grpc-java stubs
 * ({@code dev.feedbackservice.feedback.v1}).
 *
 * <p>It owns one channel; the generated blocking stubs are available through
 * {@link #chat()} and {@link #feedback()} (with this client's deadline
 * applied), and a few helpers cover the common calls. Failed calls throw
 * {@link StatusRuntimeException}; {@link #fieldViolations(Throwable)} returns
 * the {@code google.rpc.BadRequest} details of an {@code INVALID_ARGUMENT}.
 * Every write gets a fresh {@code request_id} when it has none
 * ({@link RequestIds}), kept across the channel's retries. A judgment from a
 * named source supersedes that source's previous one of the same name on the
 * trace: changing a vote is another {@link #logThumbs}; {@link #retract} takes
 * it back. Instances are thread-safe; close them when done.
 */
public final class FeedbackClient implements AutoCloseable {
  /** The service's address when {@code FEEDBACK_ADDR} is not set. */
  public static final String DEFAULT_ADDR = "127.0.0.1:50051";

  /** Metadata carrying the MLflow trace ID of a StreamChat call. */
  public static final Metadata.Key<String> TRACE_ID_KEY =
      Metadata.Key.of("x-mlflow-trace-id", Metadata.ASCII_STRING_MARSHALLER);

  /** The name the service gives a feedback without one. */
  public static final String DEFAULT_FEEDBACK_NAME = "user_feedback";

  private final ManagedChannel channel;
  private final Duration timeout;
  private final ChatServiceGrpc.ChatServiceBlockingStub chatStub;
  private final FeedbackServiceGrpc.FeedbackServiceBlockingStub feedbackStub;

  /**
   * A plaintext client of {@code target} (such as {@code 127.0.0.1:50051}, or
   * {@code dns:///feedback-headless.ns.svc.cluster.local:50051} for every
   * replica), 30 s per call, with the {@link ServiceConfig} (writes retried on
   * UNAVAILABLE, round_robin).
   */
  public FeedbackClient(String target) {
    this(Grpc.newChannelBuilder(target, InsecureChannelCredentials.create())
            .defaultServiceConfig(ServiceConfig.asMap())
            .enableRetry()
            .build(),
        Duration.ofSeconds(30));
  }

  /**
   * A client over an existing channel (for other credentials, interceptors, load balancing),
   * with {@code timeout} as every call's deadline. Closing the client shuts
   * the channel down.
   */
  public FeedbackClient(ManagedChannel channel, Duration timeout) {
    this.channel = channel;
    this.timeout = timeout;
    this.chatStub = ChatServiceGrpc.newBlockingStub(channel).withInterceptors(new RequestIds());
    this.feedbackStub =
        FeedbackServiceGrpc.newBlockingStub(channel).withInterceptors(new RequestIds());
  }

  /**
   * A TLS client of {@code target}, 30 s per call: the server verified against the PEM
   * certificates of {@code caFile} (null: the system's roots), this client's certificate
   * {@code certFile} and key {@code keyFile} presented when given (mTLS; both or neither),
   * and {@code serverName} checked in the server's certificate instead of the target's
   * host when it is not null.
   */
  public static FeedbackClient withTls(
      String target, Path caFile, Path certFile, Path keyFile, String serverName)
      throws IOException {
    if ((certFile == null) != (keyFile == null)) {
      throw new IllegalArgumentException("certFile and keyFile go together");
    }
    TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
    if (caFile != null) {
      tls.trustManager(caFile.toFile());
    }
    if (certFile != null) {
      tls.keyManager(certFile.toFile(), keyFile.toFile());
    }
    ManagedChannelBuilder<?> builder = Grpc.newChannelBuilder(target, tls.build());
    if (serverName != null && !serverName.isEmpty()) {
      builder.overrideAuthority(serverName);
    }
    return new FeedbackClient(builder.build(), Duration.ofSeconds(30));
  }

  /**
   * A client of {@code $FEEDBACK_ADDR} (or {@link #DEFAULT_ADDR}): over TLS when
   * {@code $FEEDBACK_CA_FILE}, {@code $FEEDBACK_CLIENT_CERT_FILE} /
   * {@code $FEEDBACK_CLIENT_KEY_FILE} or {@code $FEEDBACK_SERVER_NAME} is set, else plaintext.
   */
  public static FeedbackClient fromEnv() {
    Path ca = envPath("FEEDBACK_CA_FILE");
    Path cert = envPath("FEEDBACK_CLIENT_CERT_FILE");
    Path key = envPath("FEEDBACK_CLIENT_KEY_FILE");
    String name = System.getenv("FEEDBACK_SERVER_NAME");
    if (ca == null && cert == null && key == null && (name == null || name.isEmpty())) {
      return new FeedbackClient(addrFromEnv());
    }
    try {
      return withTls(addrFromEnv(), ca, cert, key, name);
    } catch (IOException e) {
      throw new UncheckedIOException("reading the TLS files", e);
    }
  }

  private static Path envPath(String name) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? null : Path.of(value);
  }

  /** {@code $FEEDBACK_ADDR}, or {@link #DEFAULT_ADDR} when unset or empty. */
  public static String addrFromEnv() {
    String addr = System.getenv("FEEDBACK_ADDR");
    return addr == null || addr.isEmpty() ? DEFAULT_ADDR : addr;
  }

  /** The generated ChatService stub, with this client's deadline. */
  public ChatServiceGrpc.ChatServiceBlockingStub chat() {
    return chatStub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The generated FeedbackService stub, with this client's deadline. */
  public FeedbackServiceGrpc.FeedbackServiceBlockingStub feedback() {
    return feedbackStub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** One chat turn. */
  public ChatResponse chat(ChatRequest request) {
    return chat().chat(request);
  }

  /**
   * Runs StreamChat, passes each piece of the answer to {@code onDelta} in
   * order, and returns the terminal completion. A failed stream throws the
   * {@link StatusRuntimeException}; {@link #traceId(StatusRuntimeException)}
   * reads the trace ID from its trailers.
   */
  public ChatCompletion streamChat(StreamChatRequest request, Consumer<String> onDelta) {
    ChatCompletion completion = null;
    Iterator<StreamChatResponse> stream = chat().streamChat(request);
    while (stream.hasNext()) {
      StreamChatResponse event = stream.next();
      switch (event.getEventCase()) {
        case DELTA -> onDelta.accept(event.getDelta().getContent());
        case COMPLETION -> completion = event.getCompletion();
        default -> { }
      }
    }
    if (completion == null) {
      throw Status.INTERNAL
          .withDescription("stream ended without a completion")
          .asRuntimeException();
    }
    return completion;
  }

  /** Records a thumbs up ({@code true}) or down as the boolean feedback "user_feedback". */
  public LogFeedbackResponse logThumbs(TraceRef target, boolean up, String rationale, Source source) {
    return feedback().logFeedback(LogFeedbackRequest.newBuilder()
        .setTarget(target)
        .setName(DEFAULT_FEEDBACK_NAME)
        .setValue(bool(up))
        .setRationale(rationale)
        .setSource(source)
        .build());
  }

  /**
   * Takes back {@code source}'s current judgment {@code name} on {@code target}:
   * it stops counting and stays in MLflow, invalid. Throws NOT_FOUND when the
   * source has none.
   */
  public RetractFeedbackResponse retract(TraceRef target, String name, Source source) {
    return feedback().retractFeedback(RetractFeedbackRequest.newBuilder()
        .setTarget(target).setName(name).setSource(source).build());
  }

  /** One item of {@link #logBatch}: its response, or the error it was refused with. */
  public record BatchResult(LogFeedbackResponse response, StatusRuntimeException error) {
    /** Whether the item was recorded. */
    public boolean ok() {
      return error == null;
    }
  }

  /**
   * Records 1 to 500 judgments in one call and one durable transaction; each
   * result, in request order, is the item's response or its own error (field
   * paths relative to the item).
   */
  public List<BatchResult> logBatch(List<LogFeedbackRequest> items) {
    List<BatchResult> out = new ArrayList<>();
    for (BatchLogFeedbackResult r : feedback().batchLogFeedback(
        BatchLogFeedbackRequest.newBuilder().addAllRequests(items).build()).getResultsList()) {
      out.add(r.hasResponse()
          ? new BatchResult(r.getResponse(), null)
          : new BatchResult(null, StatusProto.toStatusRuntimeException(r.getError())));
    }
    return out;
  }

  /** Every assessment of the trace {@code target} refers to. */
  public ListFeedbackResponse listFeedback(TraceRef target) {
    return feedback().listFeedback(ListFeedbackRequest.newBuilder().setTarget(target).build());
  }

  /** A trace by its MLflow trace ID. */
  public static TraceRef byTraceId(String traceId) {
    return TraceRef.newBuilder().setTraceId(traceId).build();
  }

  /** A trace by the caller's client request ID. */
  public static TraceRef byClientRequestId(String clientRequestId) {
    return TraceRef.newBuilder().setClientRequestId(clientRequestId).build();
  }

  /** A person as the source of a judgment. */
  public static Source human(String id) {
    return Source.newBuilder().setType(SourceType.SOURCE_TYPE_HUMAN).setId(id).build();
  }

  /** An LLM judge as the source of a judgment. */
  public static Source llmJudge(String id) {
    return Source.newBuilder().setType(SourceType.SOURCE_TYPE_LLM_JUDGE).setId(id).build();
  }

  /** A binary feedback value: {@code true} is thumbs up. */
  public static FeedbackValue bool(boolean value) {
    return FeedbackValue.newBuilder().setBoolean(value).build();
  }

  /** A categorical feedback value. */
  public static FeedbackValue category(String value) {
    return FeedbackValue.newBuilder().setCategory(value).build();
  }

  /** A numeric feedback value. */
  public static FeedbackValue number(double value) {
    return FeedbackValue.newBuilder().setNumber(value).build();
  }

  /** Renders a feedback value for logs. */
  public static String format(FeedbackValue value) {
    return switch (value.getKindCase()) {
      case BOOLEAN -> Boolean.toString(value.getBoolean());
      case NUMBER -> Double.toString(value.getNumber());
      case CATEGORY -> '"' + value.getCategory() + '"';
      case TEXT -> '"' + value.getText() + '"';
      case STRUCTURED -> value.getStructured().toString().strip();
      default -> "<unset>";
    };
  }

  /**
   * The {@code google.rpc.BadRequest} field violations of a failed call
   * (sent with {@code INVALID_ARGUMENT}), or an empty list.
   */
  public static List<BadRequest.FieldViolation> fieldViolations(Throwable error) {
    List<BadRequest.FieldViolation> out = new ArrayList<>();
    com.google.rpc.Status status = StatusProto.fromThrowable(error);
    if (status == null) {
      return out;
    }
    for (com.google.protobuf.Any detail : status.getDetailsList()) {
      if (detail.is(BadRequest.class)) {
        try {
          out.addAll(detail.unpack(BadRequest.class).getFieldViolationsList());
        } catch (InvalidProtocolBufferException e) {
          // A malformed detail is ignored, like an unknown one.
        }
      }
    }
    return out;
  }

  /** The trace ID in a failed StreamChat's trailers, if the service sent one. */
  public static Optional<String> traceId(StatusRuntimeException error) {
    Metadata trailers = error.getTrailers();
    return trailers == null ? Optional.empty() : Optional.ofNullable(trailers.get(TRACE_ID_KEY));
  }

  /** Renders a failed call as "CODE: message [field: description; ...]". */
  public static String describe(Throwable error) {
    Status status = Status.fromThrowable(error);
    StringBuilder s = new StringBuilder(status.getCode().name());
    if (status.getDescription() != null) {
      s.append(": ").append(status.getDescription());
    }
    List<BadRequest.FieldViolation> violations = fieldViolations(error);
    if (!violations.isEmpty()) {
      s.append(" [");
      for (int i = 0; i < violations.size(); i++) {
        s.append(i == 0 ? "" : "; ")
            .append(violations.get(i).getField()).append(": ")
            .append(violations.get(i).getDescription());
      }
      s.append(']');
    }
    return s.toString();
  }

  /** Shuts the channel down, waiting up to 5 s for calls in flight. */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
