package dev.feedbackservice.feedback.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Serves chat turns of a generative-AI application. Every turn is recorded as
 * one MLflow trace, whose ID is returned so that judgments can be attached to
 * it with `FeedbackService`.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class ChatServiceGrpc {

  private ChatServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "feedback.v1.ChatService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ChatRequest,
      dev.feedbackservice.feedback.v1.ChatResponse> getChatMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Chat",
      requestType = dev.feedbackservice.feedback.v1.ChatRequest.class,
      responseType = dev.feedbackservice.feedback.v1.ChatResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ChatRequest,
      dev.feedbackservice.feedback.v1.ChatResponse> getChatMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ChatRequest, dev.feedbackservice.feedback.v1.ChatResponse> getChatMethod;
    if ((getChatMethod = ChatServiceGrpc.getChatMethod) == null) {
      synchronized (ChatServiceGrpc.class) {
        if ((getChatMethod = ChatServiceGrpc.getChatMethod) == null) {
          ChatServiceGrpc.getChatMethod = getChatMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.ChatRequest, dev.feedbackservice.feedback.v1.ChatResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Chat"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.ChatRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.ChatResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ChatServiceMethodDescriptorSupplier("Chat"))
              .build();
        }
      }
    }
    return getChatMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.StreamChatRequest,
      dev.feedbackservice.feedback.v1.StreamChatResponse> getStreamChatMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "StreamChat",
      requestType = dev.feedbackservice.feedback.v1.StreamChatRequest.class,
      responseType = dev.feedbackservice.feedback.v1.StreamChatResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.StreamChatRequest,
      dev.feedbackservice.feedback.v1.StreamChatResponse> getStreamChatMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.StreamChatRequest, dev.feedbackservice.feedback.v1.StreamChatResponse> getStreamChatMethod;
    if ((getStreamChatMethod = ChatServiceGrpc.getStreamChatMethod) == null) {
      synchronized (ChatServiceGrpc.class) {
        if ((getStreamChatMethod = ChatServiceGrpc.getStreamChatMethod) == null) {
          ChatServiceGrpc.getStreamChatMethod = getStreamChatMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.StreamChatRequest, dev.feedbackservice.feedback.v1.StreamChatResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "StreamChat"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.StreamChatRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.StreamChatResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ChatServiceMethodDescriptorSupplier("StreamChat"))
              .build();
        }
      }
    }
    return getStreamChatMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static ChatServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ChatServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ChatServiceStub>() {
        @java.lang.Override
        public ChatServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ChatServiceStub(channel, callOptions);
        }
      };
    return ChatServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static ChatServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ChatServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ChatServiceBlockingV2Stub>() {
        @java.lang.Override
        public ChatServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ChatServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return ChatServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static ChatServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ChatServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ChatServiceBlockingStub>() {
        @java.lang.Override
        public ChatServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ChatServiceBlockingStub(channel, callOptions);
        }
      };
    return ChatServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static ChatServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ChatServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ChatServiceFutureStub>() {
        @java.lang.Override
        public ChatServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ChatServiceFutureStub(channel, callOptions);
        }
      };
    return ChatServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Serves chat turns of a generative-AI application. Every turn is recorded as
   * one MLflow trace, whose ID is returned so that judgments can be attached to
   * it with `FeedbackService`.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Answers one message. The response carries the MLflow trace ID and the
     * client request ID of the turn. On failure the status's trailing metadata
     * carries the trace ID under `x-mlflow-trace-id`.
     * </pre>
     */
    default void chat(dev.feedbackservice.feedback.v1.ChatRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ChatResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getChatMethod(), responseObserver);
    }

    /**
     * <pre>
     * Answers one message as a stream: zero or more `delta` messages, then
     * exactly one `completion` (always last on success) carrying the trace ID,
     * the client request ID and the full text. The trace ID is also sent in the
     * initial metadata under `x-mlflow-trace-id` (and the client request ID under
     * `x-client-request-id`), before the first delta, so a client can correlate
     * from the first byte. On failure the stream ends with a non-OK status and the
     * trace ID in the trailing metadata under `x-mlflow-trace-id`.
     * </pre>
     */
    default void streamChat(dev.feedbackservice.feedback.v1.StreamChatRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.StreamChatResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getStreamChatMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service ChatService.
   * <pre>
   * Serves chat turns of a generative-AI application. Every turn is recorded as
   * one MLflow trace, whose ID is returned so that judgments can be attached to
   * it with `FeedbackService`.
   * </pre>
   */
  public static abstract class ChatServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return ChatServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service ChatService.
   * <pre>
   * Serves chat turns of a generative-AI application. Every turn is recorded as
   * one MLflow trace, whose ID is returned so that judgments can be attached to
   * it with `FeedbackService`.
   * </pre>
   */
  public static final class ChatServiceStub
      extends io.grpc.stub.AbstractAsyncStub<ChatServiceStub> {
    private ChatServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ChatServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ChatServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Answers one message. The response carries the MLflow trace ID and the
     * client request ID of the turn. On failure the status's trailing metadata
     * carries the trace ID under `x-mlflow-trace-id`.
     * </pre>
     */
    public void chat(dev.feedbackservice.feedback.v1.ChatRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ChatResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getChatMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Answers one message as a stream: zero or more `delta` messages, then
     * exactly one `completion` (always last on success) carrying the trace ID,
     * the client request ID and the full text. The trace ID is also sent in the
     * initial metadata under `x-mlflow-trace-id` (and the client request ID under
     * `x-client-request-id`), before the first delta, so a client can correlate
     * from the first byte. On failure the stream ends with a non-OK status and the
     * trace ID in the trailing metadata under `x-mlflow-trace-id`.
     * </pre>
     */
    public void streamChat(dev.feedbackservice.feedback.v1.StreamChatRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.StreamChatResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getStreamChatMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service ChatService.
   * <pre>
   * Serves chat turns of a generative-AI application. Every turn is recorded as
   * one MLflow trace, whose ID is returned so that judgments can be attached to
   * it with `FeedbackService`.
   * </pre>
   */
  public static final class ChatServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<ChatServiceBlockingV2Stub> {
    private ChatServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ChatServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ChatServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Answers one message. The response carries the MLflow trace ID and the
     * client request ID of the turn. On failure the status's trailing metadata
     * carries the trace ID under `x-mlflow-trace-id`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.ChatResponse chat(dev.feedbackservice.feedback.v1.ChatRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getChatMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Answers one message as a stream: zero or more `delta` messages, then
     * exactly one `completion` (always last on success) carrying the trace ID,
     * the client request ID and the full text. The trace ID is also sent in the
     * initial metadata under `x-mlflow-trace-id` (and the client request ID under
     * `x-client-request-id`), before the first delta, so a client can correlate
     * from the first byte. On failure the stream ends with a non-OK status and the
     * trace ID in the trailing metadata under `x-mlflow-trace-id`.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, dev.feedbackservice.feedback.v1.StreamChatResponse>
        streamChat(dev.feedbackservice.feedback.v1.StreamChatRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getStreamChatMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service ChatService.
   * <pre>
   * Serves chat turns of a generative-AI application. Every turn is recorded as
   * one MLflow trace, whose ID is returned so that judgments can be attached to
   * it with `FeedbackService`.
   * </pre>
   */
  public static final class ChatServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<ChatServiceBlockingStub> {
    private ChatServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ChatServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ChatServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Answers one message. The response carries the MLflow trace ID and the
     * client request ID of the turn. On failure the status's trailing metadata
     * carries the trace ID under `x-mlflow-trace-id`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.ChatResponse chat(dev.feedbackservice.feedback.v1.ChatRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getChatMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Answers one message as a stream: zero or more `delta` messages, then
     * exactly one `completion` (always last on success) carrying the trace ID,
     * the client request ID and the full text. The trace ID is also sent in the
     * initial metadata under `x-mlflow-trace-id` (and the client request ID under
     * `x-client-request-id`), before the first delta, so a client can correlate
     * from the first byte. On failure the stream ends with a non-OK status and the
     * trace ID in the trailing metadata under `x-mlflow-trace-id`.
     * </pre>
     */
    public java.util.Iterator<dev.feedbackservice.feedback.v1.StreamChatResponse> streamChat(
        dev.feedbackservice.feedback.v1.StreamChatRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getStreamChatMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service ChatService.
   * <pre>
   * Serves chat turns of a generative-AI application. Every turn is recorded as
   * one MLflow trace, whose ID is returned so that judgments can be attached to
   * it with `FeedbackService`.
   * </pre>
   */
  public static final class ChatServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<ChatServiceFutureStub> {
    private ChatServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ChatServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ChatServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Answers one message. The response carries the MLflow trace ID and the
     * client request ID of the turn. On failure the status's trailing metadata
     * carries the trace ID under `x-mlflow-trace-id`.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.ChatResponse> chat(
        dev.feedbackservice.feedback.v1.ChatRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getChatMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CHAT = 0;
  private static final int METHODID_STREAM_CHAT = 1;

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
        case METHODID_CHAT:
          serviceImpl.chat((dev.feedbackservice.feedback.v1.ChatRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ChatResponse>) responseObserver);
          break;
        case METHODID_STREAM_CHAT:
          serviceImpl.streamChat((dev.feedbackservice.feedback.v1.StreamChatRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.StreamChatResponse>) responseObserver);
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
          getChatMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.ChatRequest,
              dev.feedbackservice.feedback.v1.ChatResponse>(
                service, METHODID_CHAT)))
        .addMethod(
          getStreamChatMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.StreamChatRequest,
              dev.feedbackservice.feedback.v1.StreamChatResponse>(
                service, METHODID_STREAM_CHAT)))
        .build();
  }

  private static abstract class ChatServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    ChatServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.feedbackservice.feedback.v1.ChatServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("ChatService");
    }
  }

  private static final class ChatServiceFileDescriptorSupplier
      extends ChatServiceBaseDescriptorSupplier {
    ChatServiceFileDescriptorSupplier() {}
  }

  private static final class ChatServiceMethodDescriptorSupplier
      extends ChatServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    ChatServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (ChatServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new ChatServiceFileDescriptorSupplier())
              .addMethod(getChatMethod())
              .addMethod(getStreamChatMethod())
              .build();
        }
      }
    }
    return result;
  }
}
