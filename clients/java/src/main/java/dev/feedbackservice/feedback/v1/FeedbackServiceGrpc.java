package dev.feedbackservice.feedback.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Records judgments of chat turns as MLflow assessments on their traces and
 * summarizes them.
 * Every write is acknowledged only once it is durably recorded: its response
 * says whether the judgment is already stored in MLflow or queued for storage.
 * Every write is idempotent by `request_id` (AIP-155): a retry with the same
 * `request_id` and the same request returns the same answer and never stores a
 * second assessment; the same `request_id` with a different request is refused
 * with `ALREADY_EXISTS` (reason `REQUEST_ID_REUSED`).
 * One current judgment per (trace, span, name, source): a new judgment from a
 * known source (non-empty `source.id`) supersedes that source's previous one
 * through MLflow's override, which keeps the old assessment, marked invalid.
 * Anonymous judgments are never merged.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class FeedbackServiceGrpc {

  private FeedbackServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "feedback.v1.FeedbackService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.LogFeedbackRequest,
      dev.feedbackservice.feedback.v1.LogFeedbackResponse> getLogFeedbackMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "LogFeedback",
      requestType = dev.feedbackservice.feedback.v1.LogFeedbackRequest.class,
      responseType = dev.feedbackservice.feedback.v1.LogFeedbackResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.LogFeedbackRequest,
      dev.feedbackservice.feedback.v1.LogFeedbackResponse> getLogFeedbackMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.LogFeedbackRequest, dev.feedbackservice.feedback.v1.LogFeedbackResponse> getLogFeedbackMethod;
    if ((getLogFeedbackMethod = FeedbackServiceGrpc.getLogFeedbackMethod) == null) {
      synchronized (FeedbackServiceGrpc.class) {
        if ((getLogFeedbackMethod = FeedbackServiceGrpc.getLogFeedbackMethod) == null) {
          FeedbackServiceGrpc.getLogFeedbackMethod = getLogFeedbackMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.LogFeedbackRequest, dev.feedbackservice.feedback.v1.LogFeedbackResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "LogFeedback"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.LogFeedbackRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.LogFeedbackResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FeedbackServiceMethodDescriptorSupplier("LogFeedback"))
              .build();
        }
      }
    }
    return getLogFeedbackMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.LogRatingsRequest,
      dev.feedbackservice.feedback.v1.LogRatingsResponse> getLogRatingsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "LogRatings",
      requestType = dev.feedbackservice.feedback.v1.LogRatingsRequest.class,
      responseType = dev.feedbackservice.feedback.v1.LogRatingsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.LogRatingsRequest,
      dev.feedbackservice.feedback.v1.LogRatingsResponse> getLogRatingsMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.LogRatingsRequest, dev.feedbackservice.feedback.v1.LogRatingsResponse> getLogRatingsMethod;
    if ((getLogRatingsMethod = FeedbackServiceGrpc.getLogRatingsMethod) == null) {
      synchronized (FeedbackServiceGrpc.class) {
        if ((getLogRatingsMethod = FeedbackServiceGrpc.getLogRatingsMethod) == null) {
          FeedbackServiceGrpc.getLogRatingsMethod = getLogRatingsMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.LogRatingsRequest, dev.feedbackservice.feedback.v1.LogRatingsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "LogRatings"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.LogRatingsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.LogRatingsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FeedbackServiceMethodDescriptorSupplier("LogRatings"))
              .build();
        }
      }
    }
    return getLogRatingsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.LogExpectationRequest,
      dev.feedbackservice.feedback.v1.LogExpectationResponse> getLogExpectationMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "LogExpectation",
      requestType = dev.feedbackservice.feedback.v1.LogExpectationRequest.class,
      responseType = dev.feedbackservice.feedback.v1.LogExpectationResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.LogExpectationRequest,
      dev.feedbackservice.feedback.v1.LogExpectationResponse> getLogExpectationMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.LogExpectationRequest, dev.feedbackservice.feedback.v1.LogExpectationResponse> getLogExpectationMethod;
    if ((getLogExpectationMethod = FeedbackServiceGrpc.getLogExpectationMethod) == null) {
      synchronized (FeedbackServiceGrpc.class) {
        if ((getLogExpectationMethod = FeedbackServiceGrpc.getLogExpectationMethod) == null) {
          FeedbackServiceGrpc.getLogExpectationMethod = getLogExpectationMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.LogExpectationRequest, dev.feedbackservice.feedback.v1.LogExpectationResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "LogExpectation"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.LogExpectationRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.LogExpectationResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FeedbackServiceMethodDescriptorSupplier("LogExpectation"))
              .build();
        }
      }
    }
    return getLogExpectationMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ListFeedbackRequest,
      dev.feedbackservice.feedback.v1.ListFeedbackResponse> getListFeedbackMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListFeedback",
      requestType = dev.feedbackservice.feedback.v1.ListFeedbackRequest.class,
      responseType = dev.feedbackservice.feedback.v1.ListFeedbackResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ListFeedbackRequest,
      dev.feedbackservice.feedback.v1.ListFeedbackResponse> getListFeedbackMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ListFeedbackRequest, dev.feedbackservice.feedback.v1.ListFeedbackResponse> getListFeedbackMethod;
    if ((getListFeedbackMethod = FeedbackServiceGrpc.getListFeedbackMethod) == null) {
      synchronized (FeedbackServiceGrpc.class) {
        if ((getListFeedbackMethod = FeedbackServiceGrpc.getListFeedbackMethod) == null) {
          FeedbackServiceGrpc.getListFeedbackMethod = getListFeedbackMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.ListFeedbackRequest, dev.feedbackservice.feedback.v1.ListFeedbackResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListFeedback"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.ListFeedbackRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.ListFeedbackResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FeedbackServiceMethodDescriptorSupplier("ListFeedback"))
              .build();
        }
      }
    }
    return getListFeedbackMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest,
      dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse> getSummarizeFeedbackMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SummarizeFeedback",
      requestType = dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest.class,
      responseType = dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest,
      dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse> getSummarizeFeedbackMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest, dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse> getSummarizeFeedbackMethod;
    if ((getSummarizeFeedbackMethod = FeedbackServiceGrpc.getSummarizeFeedbackMethod) == null) {
      synchronized (FeedbackServiceGrpc.class) {
        if ((getSummarizeFeedbackMethod = FeedbackServiceGrpc.getSummarizeFeedbackMethod) == null) {
          FeedbackServiceGrpc.getSummarizeFeedbackMethod = getSummarizeFeedbackMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest, dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SummarizeFeedback"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FeedbackServiceMethodDescriptorSupplier("SummarizeFeedback"))
              .build();
        }
      }
    }
    return getSummarizeFeedbackMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.RetractFeedbackRequest,
      dev.feedbackservice.feedback.v1.RetractFeedbackResponse> getRetractFeedbackMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RetractFeedback",
      requestType = dev.feedbackservice.feedback.v1.RetractFeedbackRequest.class,
      responseType = dev.feedbackservice.feedback.v1.RetractFeedbackResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.RetractFeedbackRequest,
      dev.feedbackservice.feedback.v1.RetractFeedbackResponse> getRetractFeedbackMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.RetractFeedbackRequest, dev.feedbackservice.feedback.v1.RetractFeedbackResponse> getRetractFeedbackMethod;
    if ((getRetractFeedbackMethod = FeedbackServiceGrpc.getRetractFeedbackMethod) == null) {
      synchronized (FeedbackServiceGrpc.class) {
        if ((getRetractFeedbackMethod = FeedbackServiceGrpc.getRetractFeedbackMethod) == null) {
          FeedbackServiceGrpc.getRetractFeedbackMethod = getRetractFeedbackMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.RetractFeedbackRequest, dev.feedbackservice.feedback.v1.RetractFeedbackResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RetractFeedback"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.RetractFeedbackRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.RetractFeedbackResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FeedbackServiceMethodDescriptorSupplier("RetractFeedback"))
              .build();
        }
      }
    }
    return getRetractFeedbackMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest,
      dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse> getBatchLogFeedbackMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "BatchLogFeedback",
      requestType = dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest.class,
      responseType = dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest,
      dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse> getBatchLogFeedbackMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest, dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse> getBatchLogFeedbackMethod;
    if ((getBatchLogFeedbackMethod = FeedbackServiceGrpc.getBatchLogFeedbackMethod) == null) {
      synchronized (FeedbackServiceGrpc.class) {
        if ((getBatchLogFeedbackMethod = FeedbackServiceGrpc.getBatchLogFeedbackMethod) == null) {
          FeedbackServiceGrpc.getBatchLogFeedbackMethod = getBatchLogFeedbackMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest, dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "BatchLogFeedback"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FeedbackServiceMethodDescriptorSupplier("BatchLogFeedback"))
              .build();
        }
      }
    }
    return getBatchLogFeedbackMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest,
      dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse> getCreateFeedbackTokenMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateFeedbackToken",
      requestType = dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest.class,
      responseType = dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest,
      dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse> getCreateFeedbackTokenMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest, dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse> getCreateFeedbackTokenMethod;
    if ((getCreateFeedbackTokenMethod = FeedbackServiceGrpc.getCreateFeedbackTokenMethod) == null) {
      synchronized (FeedbackServiceGrpc.class) {
        if ((getCreateFeedbackTokenMethod = FeedbackServiceGrpc.getCreateFeedbackTokenMethod) == null) {
          FeedbackServiceGrpc.getCreateFeedbackTokenMethod = getCreateFeedbackTokenMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest, dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateFeedbackToken"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FeedbackServiceMethodDescriptorSupplier("CreateFeedbackToken"))
              .build();
        }
      }
    }
    return getCreateFeedbackTokenMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static FeedbackServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<FeedbackServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<FeedbackServiceStub>() {
        @java.lang.Override
        public FeedbackServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new FeedbackServiceStub(channel, callOptions);
        }
      };
    return FeedbackServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static FeedbackServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<FeedbackServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<FeedbackServiceBlockingV2Stub>() {
        @java.lang.Override
        public FeedbackServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new FeedbackServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return FeedbackServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static FeedbackServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<FeedbackServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<FeedbackServiceBlockingStub>() {
        @java.lang.Override
        public FeedbackServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new FeedbackServiceBlockingStub(channel, callOptions);
        }
      };
    return FeedbackServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static FeedbackServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<FeedbackServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<FeedbackServiceFutureStub>() {
        @java.lang.Override
        public FeedbackServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new FeedbackServiceFutureStub(channel, callOptions);
        }
      };
    return FeedbackServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Records judgments of chat turns as MLflow assessments on their traces and
   * summarizes them.
   * Every write is acknowledged only once it is durably recorded: its response
   * says whether the judgment is already stored in MLflow or queued for storage.
   * Every write is idempotent by `request_id` (AIP-155): a retry with the same
   * `request_id` and the same request returns the same answer and never stores a
   * second assessment; the same `request_id` with a different request is refused
   * with `ALREADY_EXISTS` (reason `REQUEST_ID_REUSED`).
   * One current judgment per (trace, span, name, source): a new judgment from a
   * known source (non-empty `source.id`) supersedes that source's previous one
   * through MLflow's override, which keeps the old assessment, marked invalid.
   * Anonymous judgments are never merged.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Records one typed judgment (thumbs up or down, a score, a category, a
     * comment or a structured value) on a trace or span.
     * </pre>
     */
    default void logFeedback(dev.feedbackservice.feedback.v1.LogFeedbackRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.LogFeedbackResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getLogFeedbackMethod(), responseObserver);
    }

    /**
     * <pre>
     * Records several rating dimensions at once. Each dimension is stored as the
     * feedback `user_&lt;dimension&gt;` with the value `rating / scale_max`.
     * </pre>
     */
    default void logRatings(dev.feedbackservice.feedback.v1.LogRatingsRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.LogRatingsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getLogRatingsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Records a ground-truth expectation, such as `expected_response`.
     * </pre>
     */
    default void logExpectation(dev.feedbackservice.feedback.v1.LogExpectationRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.LogExpectationResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getLogExpectationMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists every assessment of a trace, typed, including judgments that are
     * acknowledged but not yet stored in MLflow.
     * </pre>
     */
    default void listFeedback(dev.feedbackservice.feedback.v1.ListFeedbackRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ListFeedbackResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListFeedbackMethod(), responseObserver);
    }

    /**
     * <pre>
     * Summarizes the feedback of the traces created in a time window, counting
     * current judgments only; computed by the MLflow tracking server, exact at
     * any scale.
     * </pre>
     */
    default void summarizeFeedback(dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSummarizeFeedbackMethod(), responseObserver);
    }

    /**
     * <pre>
     * Takes back a source's current judgment of one name on a trace: it stops
     * counting and stays in MLflow, marked invalid. `NOT_FOUND` when that source
     * has no current judgment of that name there; `UNAVAILABLE` when MLflow cannot
     * be reached and the service holds no judgment of that source on the trace
     * (it cannot tell). Applied in order with the trace's other judgments, so it
     * also takes back a judgment that is still queued.
     * </pre>
     */
    default void retractFeedback(dev.feedbackservice.feedback.v1.RetractFeedbackRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.RetractFeedbackResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRetractFeedbackMethod(), responseObserver);
    }

    /**
     * <pre>
     * Records 1 to 500 feedback judgments in one call and one durable
     * transaction. Each item succeeds or fails on its own; bad items never stop
     * good ones.
     * </pre>
     */
    default void batchLogFeedback(dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getBatchLogFeedbackMethod(), responseObserver);
    }

    /**
     * <pre>
     * Mints an end-user feedback token for one trace and one user, such as for
     * a trace produced by another application. Needs the service credential.
     * </pre>
     */
    default void createFeedbackToken(dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateFeedbackTokenMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service FeedbackService.
   * <pre>
   * Records judgments of chat turns as MLflow assessments on their traces and
   * summarizes them.
   * Every write is acknowledged only once it is durably recorded: its response
   * says whether the judgment is already stored in MLflow or queued for storage.
   * Every write is idempotent by `request_id` (AIP-155): a retry with the same
   * `request_id` and the same request returns the same answer and never stores a
   * second assessment; the same `request_id` with a different request is refused
   * with `ALREADY_EXISTS` (reason `REQUEST_ID_REUSED`).
   * One current judgment per (trace, span, name, source): a new judgment from a
   * known source (non-empty `source.id`) supersedes that source's previous one
   * through MLflow's override, which keeps the old assessment, marked invalid.
   * Anonymous judgments are never merged.
   * </pre>
   */
  public static abstract class FeedbackServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return FeedbackServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service FeedbackService.
   * <pre>
   * Records judgments of chat turns as MLflow assessments on their traces and
   * summarizes them.
   * Every write is acknowledged only once it is durably recorded: its response
   * says whether the judgment is already stored in MLflow or queued for storage.
   * Every write is idempotent by `request_id` (AIP-155): a retry with the same
   * `request_id` and the same request returns the same answer and never stores a
   * second assessment; the same `request_id` with a different request is refused
   * with `ALREADY_EXISTS` (reason `REQUEST_ID_REUSED`).
   * One current judgment per (trace, span, name, source): a new judgment from a
   * known source (non-empty `source.id`) supersedes that source's previous one
   * through MLflow's override, which keeps the old assessment, marked invalid.
   * Anonymous judgments are never merged.
   * </pre>
   */
  public static final class FeedbackServiceStub
      extends io.grpc.stub.AbstractAsyncStub<FeedbackServiceStub> {
    private FeedbackServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected FeedbackServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new FeedbackServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Records one typed judgment (thumbs up or down, a score, a category, a
     * comment or a structured value) on a trace or span.
     * </pre>
     */
    public void logFeedback(dev.feedbackservice.feedback.v1.LogFeedbackRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.LogFeedbackResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getLogFeedbackMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Records several rating dimensions at once. Each dimension is stored as the
     * feedback `user_&lt;dimension&gt;` with the value `rating / scale_max`.
     * </pre>
     */
    public void logRatings(dev.feedbackservice.feedback.v1.LogRatingsRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.LogRatingsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getLogRatingsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Records a ground-truth expectation, such as `expected_response`.
     * </pre>
     */
    public void logExpectation(dev.feedbackservice.feedback.v1.LogExpectationRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.LogExpectationResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getLogExpectationMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists every assessment of a trace, typed, including judgments that are
     * acknowledged but not yet stored in MLflow.
     * </pre>
     */
    public void listFeedback(dev.feedbackservice.feedback.v1.ListFeedbackRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ListFeedbackResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListFeedbackMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Summarizes the feedback of the traces created in a time window, counting
     * current judgments only; computed by the MLflow tracking server, exact at
     * any scale.
     * </pre>
     */
    public void summarizeFeedback(dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSummarizeFeedbackMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Takes back a source's current judgment of one name on a trace: it stops
     * counting and stays in MLflow, marked invalid. `NOT_FOUND` when that source
     * has no current judgment of that name there; `UNAVAILABLE` when MLflow cannot
     * be reached and the service holds no judgment of that source on the trace
     * (it cannot tell). Applied in order with the trace's other judgments, so it
     * also takes back a judgment that is still queued.
     * </pre>
     */
    public void retractFeedback(dev.feedbackservice.feedback.v1.RetractFeedbackRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.RetractFeedbackResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRetractFeedbackMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Records 1 to 500 feedback judgments in one call and one durable
     * transaction. Each item succeeds or fails on its own; bad items never stop
     * good ones.
     * </pre>
     */
    public void batchLogFeedback(dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getBatchLogFeedbackMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Mints an end-user feedback token for one trace and one user, such as for
     * a trace produced by another application. Needs the service credential.
     * </pre>
     */
    public void createFeedbackToken(dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateFeedbackTokenMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service FeedbackService.
   * <pre>
   * Records judgments of chat turns as MLflow assessments on their traces and
   * summarizes them.
   * Every write is acknowledged only once it is durably recorded: its response
   * says whether the judgment is already stored in MLflow or queued for storage.
   * Every write is idempotent by `request_id` (AIP-155): a retry with the same
   * `request_id` and the same request returns the same answer and never stores a
   * second assessment; the same `request_id` with a different request is refused
   * with `ALREADY_EXISTS` (reason `REQUEST_ID_REUSED`).
   * One current judgment per (trace, span, name, source): a new judgment from a
   * known source (non-empty `source.id`) supersedes that source's previous one
   * through MLflow's override, which keeps the old assessment, marked invalid.
   * Anonymous judgments are never merged.
   * </pre>
   */
  public static final class FeedbackServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<FeedbackServiceBlockingV2Stub> {
    private FeedbackServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected FeedbackServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new FeedbackServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Records one typed judgment (thumbs up or down, a score, a category, a
     * comment or a structured value) on a trace or span.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.LogFeedbackResponse logFeedback(dev.feedbackservice.feedback.v1.LogFeedbackRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getLogFeedbackMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records several rating dimensions at once. Each dimension is stored as the
     * feedback `user_&lt;dimension&gt;` with the value `rating / scale_max`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.LogRatingsResponse logRatings(dev.feedbackservice.feedback.v1.LogRatingsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getLogRatingsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records a ground-truth expectation, such as `expected_response`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.LogExpectationResponse logExpectation(dev.feedbackservice.feedback.v1.LogExpectationRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getLogExpectationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists every assessment of a trace, typed, including judgments that are
     * acknowledged but not yet stored in MLflow.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.ListFeedbackResponse listFeedback(dev.feedbackservice.feedback.v1.ListFeedbackRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListFeedbackMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Summarizes the feedback of the traces created in a time window, counting
     * current judgments only; computed by the MLflow tracking server, exact at
     * any scale.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse summarizeFeedback(dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSummarizeFeedbackMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Takes back a source's current judgment of one name on a trace: it stops
     * counting and stays in MLflow, marked invalid. `NOT_FOUND` when that source
     * has no current judgment of that name there; `UNAVAILABLE` when MLflow cannot
     * be reached and the service holds no judgment of that source on the trace
     * (it cannot tell). Applied in order with the trace's other judgments, so it
     * also takes back a judgment that is still queued.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.RetractFeedbackResponse retractFeedback(dev.feedbackservice.feedback.v1.RetractFeedbackRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRetractFeedbackMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records 1 to 500 feedback judgments in one call and one durable
     * transaction. Each item succeeds or fails on its own; bad items never stop
     * good ones.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse batchLogFeedback(dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getBatchLogFeedbackMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Mints an end-user feedback token for one trace and one user, such as for
     * a trace produced by another application. Needs the service credential.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse createFeedbackToken(dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateFeedbackTokenMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service FeedbackService.
   * <pre>
   * Records judgments of chat turns as MLflow assessments on their traces and
   * summarizes them.
   * Every write is acknowledged only once it is durably recorded: its response
   * says whether the judgment is already stored in MLflow or queued for storage.
   * Every write is idempotent by `request_id` (AIP-155): a retry with the same
   * `request_id` and the same request returns the same answer and never stores a
   * second assessment; the same `request_id` with a different request is refused
   * with `ALREADY_EXISTS` (reason `REQUEST_ID_REUSED`).
   * One current judgment per (trace, span, name, source): a new judgment from a
   * known source (non-empty `source.id`) supersedes that source's previous one
   * through MLflow's override, which keeps the old assessment, marked invalid.
   * Anonymous judgments are never merged.
   * </pre>
   */
  public static final class FeedbackServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<FeedbackServiceBlockingStub> {
    private FeedbackServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected FeedbackServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new FeedbackServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Records one typed judgment (thumbs up or down, a score, a category, a
     * comment or a structured value) on a trace or span.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.LogFeedbackResponse logFeedback(dev.feedbackservice.feedback.v1.LogFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getLogFeedbackMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records several rating dimensions at once. Each dimension is stored as the
     * feedback `user_&lt;dimension&gt;` with the value `rating / scale_max`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.LogRatingsResponse logRatings(dev.feedbackservice.feedback.v1.LogRatingsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getLogRatingsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records a ground-truth expectation, such as `expected_response`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.LogExpectationResponse logExpectation(dev.feedbackservice.feedback.v1.LogExpectationRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getLogExpectationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists every assessment of a trace, typed, including judgments that are
     * acknowledged but not yet stored in MLflow.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.ListFeedbackResponse listFeedback(dev.feedbackservice.feedback.v1.ListFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListFeedbackMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Summarizes the feedback of the traces created in a time window, counting
     * current judgments only; computed by the MLflow tracking server, exact at
     * any scale.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse summarizeFeedback(dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSummarizeFeedbackMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Takes back a source's current judgment of one name on a trace: it stops
     * counting and stays in MLflow, marked invalid. `NOT_FOUND` when that source
     * has no current judgment of that name there; `UNAVAILABLE` when MLflow cannot
     * be reached and the service holds no judgment of that source on the trace
     * (it cannot tell). Applied in order with the trace's other judgments, so it
     * also takes back a judgment that is still queued.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.RetractFeedbackResponse retractFeedback(dev.feedbackservice.feedback.v1.RetractFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRetractFeedbackMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records 1 to 500 feedback judgments in one call and one durable
     * transaction. Each item succeeds or fails on its own; bad items never stop
     * good ones.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse batchLogFeedback(dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getBatchLogFeedbackMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Mints an end-user feedback token for one trace and one user, such as for
     * a trace produced by another application. Needs the service credential.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse createFeedbackToken(dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateFeedbackTokenMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service FeedbackService.
   * <pre>
   * Records judgments of chat turns as MLflow assessments on their traces and
   * summarizes them.
   * Every write is acknowledged only once it is durably recorded: its response
   * says whether the judgment is already stored in MLflow or queued for storage.
   * Every write is idempotent by `request_id` (AIP-155): a retry with the same
   * `request_id` and the same request returns the same answer and never stores a
   * second assessment; the same `request_id` with a different request is refused
   * with `ALREADY_EXISTS` (reason `REQUEST_ID_REUSED`).
   * One current judgment per (trace, span, name, source): a new judgment from a
   * known source (non-empty `source.id`) supersedes that source's previous one
   * through MLflow's override, which keeps the old assessment, marked invalid.
   * Anonymous judgments are never merged.
   * </pre>
   */
  public static final class FeedbackServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<FeedbackServiceFutureStub> {
    private FeedbackServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected FeedbackServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new FeedbackServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Records one typed judgment (thumbs up or down, a score, a category, a
     * comment or a structured value) on a trace or span.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.LogFeedbackResponse> logFeedback(
        dev.feedbackservice.feedback.v1.LogFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getLogFeedbackMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Records several rating dimensions at once. Each dimension is stored as the
     * feedback `user_&lt;dimension&gt;` with the value `rating / scale_max`.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.LogRatingsResponse> logRatings(
        dev.feedbackservice.feedback.v1.LogRatingsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getLogRatingsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Records a ground-truth expectation, such as `expected_response`.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.LogExpectationResponse> logExpectation(
        dev.feedbackservice.feedback.v1.LogExpectationRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getLogExpectationMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists every assessment of a trace, typed, including judgments that are
     * acknowledged but not yet stored in MLflow.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.ListFeedbackResponse> listFeedback(
        dev.feedbackservice.feedback.v1.ListFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListFeedbackMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Summarizes the feedback of the traces created in a time window, counting
     * current judgments only; computed by the MLflow tracking server, exact at
     * any scale.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse> summarizeFeedback(
        dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSummarizeFeedbackMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Takes back a source's current judgment of one name on a trace: it stops
     * counting and stays in MLflow, marked invalid. `NOT_FOUND` when that source
     * has no current judgment of that name there; `UNAVAILABLE` when MLflow cannot
     * be reached and the service holds no judgment of that source on the trace
     * (it cannot tell). Applied in order with the trace's other judgments, so it
     * also takes back a judgment that is still queued.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.RetractFeedbackResponse> retractFeedback(
        dev.feedbackservice.feedback.v1.RetractFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRetractFeedbackMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Records 1 to 500 feedback judgments in one call and one durable
     * transaction. Each item succeeds or fails on its own; bad items never stop
     * good ones.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse> batchLogFeedback(
        dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getBatchLogFeedbackMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Mints an end-user feedback token for one trace and one user, such as for
     * a trace produced by another application. Needs the service credential.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse> createFeedbackToken(
        dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateFeedbackTokenMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_LOG_FEEDBACK = 0;
  private static final int METHODID_LOG_RATINGS = 1;
  private static final int METHODID_LOG_EXPECTATION = 2;
  private static final int METHODID_LIST_FEEDBACK = 3;
  private static final int METHODID_SUMMARIZE_FEEDBACK = 4;
  private static final int METHODID_RETRACT_FEEDBACK = 5;
  private static final int METHODID_BATCH_LOG_FEEDBACK = 6;
  private static final int METHODID_CREATE_FEEDBACK_TOKEN = 7;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_LOG_FEEDBACK:
          serviceImpl.logFeedback((dev.feedbackservice.feedback.v1.LogFeedbackRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.LogFeedbackResponse>) responseObserver);
          break;
        case METHODID_LOG_RATINGS:
          serviceImpl.logRatings((dev.feedbackservice.feedback.v1.LogRatingsRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.LogRatingsResponse>) responseObserver);
          break;
        case METHODID_LOG_EXPECTATION:
          serviceImpl.logExpectation((dev.feedbackservice.feedback.v1.LogExpectationRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.LogExpectationResponse>) responseObserver);
          break;
        case METHODID_LIST_FEEDBACK:
          serviceImpl.listFeedback((dev.feedbackservice.feedback.v1.ListFeedbackRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ListFeedbackResponse>) responseObserver);
          break;
        case METHODID_SUMMARIZE_FEEDBACK:
          serviceImpl.summarizeFeedback((dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse>) responseObserver);
          break;
        case METHODID_RETRACT_FEEDBACK:
          serviceImpl.retractFeedback((dev.feedbackservice.feedback.v1.RetractFeedbackRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.RetractFeedbackResponse>) responseObserver);
          break;
        case METHODID_BATCH_LOG_FEEDBACK:
          serviceImpl.batchLogFeedback((dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse>) responseObserver);
          break;
        case METHODID_CREATE_FEEDBACK_TOKEN:
          serviceImpl.createFeedbackToken((dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getLogFeedbackMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.LogFeedbackRequest,
              dev.feedbackservice.feedback.v1.LogFeedbackResponse>(
                service, METHODID_LOG_FEEDBACK)))
        .addMethod(
          getLogRatingsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.LogRatingsRequest,
              dev.feedbackservice.feedback.v1.LogRatingsResponse>(
                service, METHODID_LOG_RATINGS)))
        .addMethod(
          getLogExpectationMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.LogExpectationRequest,
              dev.feedbackservice.feedback.v1.LogExpectationResponse>(
                service, METHODID_LOG_EXPECTATION)))
        .addMethod(
          getListFeedbackMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.ListFeedbackRequest,
              dev.feedbackservice.feedback.v1.ListFeedbackResponse>(
                service, METHODID_LIST_FEEDBACK)))
        .addMethod(
          getSummarizeFeedbackMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.SummarizeFeedbackRequest,
              dev.feedbackservice.feedback.v1.SummarizeFeedbackResponse>(
                service, METHODID_SUMMARIZE_FEEDBACK)))
        .addMethod(
          getRetractFeedbackMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.RetractFeedbackRequest,
              dev.feedbackservice.feedback.v1.RetractFeedbackResponse>(
                service, METHODID_RETRACT_FEEDBACK)))
        .addMethod(
          getBatchLogFeedbackMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.BatchLogFeedbackRequest,
              dev.feedbackservice.feedback.v1.BatchLogFeedbackResponse>(
                service, METHODID_BATCH_LOG_FEEDBACK)))
        .addMethod(
          getCreateFeedbackTokenMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.CreateFeedbackTokenRequest,
              dev.feedbackservice.feedback.v1.CreateFeedbackTokenResponse>(
                service, METHODID_CREATE_FEEDBACK_TOKEN)))
        .build();
  }

  private static abstract class FeedbackServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    FeedbackServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.feedbackservice.feedback.v1.FeedbackServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("FeedbackService");
    }
  }

  private static final class FeedbackServiceFileDescriptorSupplier
      extends FeedbackServiceBaseDescriptorSupplier {
    FeedbackServiceFileDescriptorSupplier() {}
  }

  private static final class FeedbackServiceMethodDescriptorSupplier
      extends FeedbackServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    FeedbackServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (FeedbackServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new FeedbackServiceFileDescriptorSupplier())
              .addMethod(getLogFeedbackMethod())
              .addMethod(getLogRatingsMethod())
              .addMethod(getLogExpectationMethod())
              .addMethod(getListFeedbackMethod())
              .addMethod(getSummarizeFeedbackMethod())
              .addMethod(getRetractFeedbackMethod())
              .addMethod(getBatchLogFeedbackMethod())
              .addMethod(getCreateFeedbackTokenMethod())
              .build();
        }
      }
    }
    return result;
  }
}
