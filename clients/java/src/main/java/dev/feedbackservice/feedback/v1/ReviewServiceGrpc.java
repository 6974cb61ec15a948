package dev.feedbackservice.feedback.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Expert review of chat turns: label schemas (the questions experts answer),
 * review sessions (a set of traces, the schemas to fill in and the reviewers),
 * the reviewers' work loop, and evaluation of the application against the
 * experts' expectations.
 * Label schemas are MLflow label schemas and review sessions are MLflow review
 * queues of the service's experiment: they show in the MLflow UI next to the
 * traces. Labels are stored as MLflow assessments on the reviewed traces, with
 * the source `SOURCE_TYPE_HUMAN` and the reviewer's ID.
 * Reviewers are identified by the `reviewer` field of each request. Reviewer IDs
 * are compared case-insensitively (MLflow stores them in lower case).
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class ReviewServiceGrpc {

  private ReviewServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "feedback.v1.ReviewService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest,
      dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse> getCreateLabelSchemaMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateLabelSchema",
      requestType = dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest.class,
      responseType = dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest,
      dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse> getCreateLabelSchemaMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest, dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse> getCreateLabelSchemaMethod;
    if ((getCreateLabelSchemaMethod = ReviewServiceGrpc.getCreateLabelSchemaMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getCreateLabelSchemaMethod = ReviewServiceGrpc.getCreateLabelSchemaMethod) == null) {
          ReviewServiceGrpc.getCreateLabelSchemaMethod = getCreateLabelSchemaMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest, dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateLabelSchema"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("CreateLabelSchema"))
              .build();
        }
      }
    }
    return getCreateLabelSchemaMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetLabelSchemaRequest,
      dev.feedbackservice.feedback.v1.GetLabelSchemaResponse> getGetLabelSchemaMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetLabelSchema",
      requestType = dev.feedbackservice.feedback.v1.GetLabelSchemaRequest.class,
      responseType = dev.feedbackservice.feedback.v1.GetLabelSchemaResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetLabelSchemaRequest,
      dev.feedbackservice.feedback.v1.GetLabelSchemaResponse> getGetLabelSchemaMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetLabelSchemaRequest, dev.feedbackservice.feedback.v1.GetLabelSchemaResponse> getGetLabelSchemaMethod;
    if ((getGetLabelSchemaMethod = ReviewServiceGrpc.getGetLabelSchemaMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getGetLabelSchemaMethod = ReviewServiceGrpc.getGetLabelSchemaMethod) == null) {
          ReviewServiceGrpc.getGetLabelSchemaMethod = getGetLabelSchemaMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.GetLabelSchemaRequest, dev.feedbackservice.feedback.v1.GetLabelSchemaResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetLabelSchema"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.GetLabelSchemaRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.GetLabelSchemaResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("GetLabelSchema"))
              .build();
        }
      }
    }
    return getGetLabelSchemaMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ListLabelSchemasRequest,
      dev.feedbackservice.feedback.v1.ListLabelSchemasResponse> getListLabelSchemasMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListLabelSchemas",
      requestType = dev.feedbackservice.feedback.v1.ListLabelSchemasRequest.class,
      responseType = dev.feedbackservice.feedback.v1.ListLabelSchemasResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ListLabelSchemasRequest,
      dev.feedbackservice.feedback.v1.ListLabelSchemasResponse> getListLabelSchemasMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ListLabelSchemasRequest, dev.feedbackservice.feedback.v1.ListLabelSchemasResponse> getListLabelSchemasMethod;
    if ((getListLabelSchemasMethod = ReviewServiceGrpc.getListLabelSchemasMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getListLabelSchemasMethod = ReviewServiceGrpc.getListLabelSchemasMethod) == null) {
          ReviewServiceGrpc.getListLabelSchemasMethod = getListLabelSchemasMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.ListLabelSchemasRequest, dev.feedbackservice.feedback.v1.ListLabelSchemasResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListLabelSchemas"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.ListLabelSchemasRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.ListLabelSchemasResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("ListLabelSchemas"))
              .build();
        }
      }
    }
    return getListLabelSchemasMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest,
      dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse> getDeleteLabelSchemaMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteLabelSchema",
      requestType = dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest.class,
      responseType = dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest,
      dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse> getDeleteLabelSchemaMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest, dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse> getDeleteLabelSchemaMethod;
    if ((getDeleteLabelSchemaMethod = ReviewServiceGrpc.getDeleteLabelSchemaMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getDeleteLabelSchemaMethod = ReviewServiceGrpc.getDeleteLabelSchemaMethod) == null) {
          ReviewServiceGrpc.getDeleteLabelSchemaMethod = getDeleteLabelSchemaMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest, dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteLabelSchema"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("DeleteLabelSchema"))
              .build();
        }
      }
    }
    return getDeleteLabelSchemaMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.CreateReviewSessionRequest,
      dev.feedbackservice.feedback.v1.CreateReviewSessionResponse> getCreateReviewSessionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateReviewSession",
      requestType = dev.feedbackservice.feedback.v1.CreateReviewSessionRequest.class,
      responseType = dev.feedbackservice.feedback.v1.CreateReviewSessionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.CreateReviewSessionRequest,
      dev.feedbackservice.feedback.v1.CreateReviewSessionResponse> getCreateReviewSessionMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.CreateReviewSessionRequest, dev.feedbackservice.feedback.v1.CreateReviewSessionResponse> getCreateReviewSessionMethod;
    if ((getCreateReviewSessionMethod = ReviewServiceGrpc.getCreateReviewSessionMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getCreateReviewSessionMethod = ReviewServiceGrpc.getCreateReviewSessionMethod) == null) {
          ReviewServiceGrpc.getCreateReviewSessionMethod = getCreateReviewSessionMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.CreateReviewSessionRequest, dev.feedbackservice.feedback.v1.CreateReviewSessionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateReviewSession"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.CreateReviewSessionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.CreateReviewSessionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("CreateReviewSession"))
              .build();
        }
      }
    }
    return getCreateReviewSessionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetReviewSessionRequest,
      dev.feedbackservice.feedback.v1.GetReviewSessionResponse> getGetReviewSessionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetReviewSession",
      requestType = dev.feedbackservice.feedback.v1.GetReviewSessionRequest.class,
      responseType = dev.feedbackservice.feedback.v1.GetReviewSessionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetReviewSessionRequest,
      dev.feedbackservice.feedback.v1.GetReviewSessionResponse> getGetReviewSessionMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetReviewSessionRequest, dev.feedbackservice.feedback.v1.GetReviewSessionResponse> getGetReviewSessionMethod;
    if ((getGetReviewSessionMethod = ReviewServiceGrpc.getGetReviewSessionMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getGetReviewSessionMethod = ReviewServiceGrpc.getGetReviewSessionMethod) == null) {
          ReviewServiceGrpc.getGetReviewSessionMethod = getGetReviewSessionMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.GetReviewSessionRequest, dev.feedbackservice.feedback.v1.GetReviewSessionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetReviewSession"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.GetReviewSessionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.GetReviewSessionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("GetReviewSession"))
              .build();
        }
      }
    }
    return getGetReviewSessionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ListReviewSessionsRequest,
      dev.feedbackservice.feedback.v1.ListReviewSessionsResponse> getListReviewSessionsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListReviewSessions",
      requestType = dev.feedbackservice.feedback.v1.ListReviewSessionsRequest.class,
      responseType = dev.feedbackservice.feedback.v1.ListReviewSessionsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ListReviewSessionsRequest,
      dev.feedbackservice.feedback.v1.ListReviewSessionsResponse> getListReviewSessionsMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.ListReviewSessionsRequest, dev.feedbackservice.feedback.v1.ListReviewSessionsResponse> getListReviewSessionsMethod;
    if ((getListReviewSessionsMethod = ReviewServiceGrpc.getListReviewSessionsMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getListReviewSessionsMethod = ReviewServiceGrpc.getListReviewSessionsMethod) == null) {
          ReviewServiceGrpc.getListReviewSessionsMethod = getListReviewSessionsMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.ListReviewSessionsRequest, dev.feedbackservice.feedback.v1.ListReviewSessionsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListReviewSessions"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.ListReviewSessionsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.ListReviewSessionsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("ListReviewSessions"))
              .build();
        }
      }
    }
    return getListReviewSessionsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.AddSessionItemsRequest,
      dev.feedbackservice.feedback.v1.AddSessionItemsResponse> getAddSessionItemsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AddSessionItems",
      requestType = dev.feedbackservice.feedback.v1.AddSessionItemsRequest.class,
      responseType = dev.feedbackservice.feedback.v1.AddSessionItemsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.AddSessionItemsRequest,
      dev.feedbackservice.feedback.v1.AddSessionItemsResponse> getAddSessionItemsMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.AddSessionItemsRequest, dev.feedbackservice.feedback.v1.AddSessionItemsResponse> getAddSessionItemsMethod;
    if ((getAddSessionItemsMethod = ReviewServiceGrpc.getAddSessionItemsMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getAddSessionItemsMethod = ReviewServiceGrpc.getAddSessionItemsMethod) == null) {
          ReviewServiceGrpc.getAddSessionItemsMethod = getAddSessionItemsMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.AddSessionItemsRequest, dev.feedbackservice.feedback.v1.AddSessionItemsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AddSessionItems"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.AddSessionItemsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.AddSessionItemsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("AddSessionItems"))
              .build();
        }
      }
    }
    return getAddSessionItemsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetNextItemRequest,
      dev.feedbackservice.feedback.v1.GetNextItemResponse> getGetNextItemMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetNextItem",
      requestType = dev.feedbackservice.feedback.v1.GetNextItemRequest.class,
      responseType = dev.feedbackservice.feedback.v1.GetNextItemResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetNextItemRequest,
      dev.feedbackservice.feedback.v1.GetNextItemResponse> getGetNextItemMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetNextItemRequest, dev.feedbackservice.feedback.v1.GetNextItemResponse> getGetNextItemMethod;
    if ((getGetNextItemMethod = ReviewServiceGrpc.getGetNextItemMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getGetNextItemMethod = ReviewServiceGrpc.getGetNextItemMethod) == null) {
          ReviewServiceGrpc.getGetNextItemMethod = getGetNextItemMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.GetNextItemRequest, dev.feedbackservice.feedback.v1.GetNextItemResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetNextItem"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.GetNextItemRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.GetNextItemResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("GetNextItem"))
              .build();
        }
      }
    }
    return getGetNextItemMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.SubmitLabelsRequest,
      dev.feedbackservice.feedback.v1.SubmitLabelsResponse> getSubmitLabelsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SubmitLabels",
      requestType = dev.feedbackservice.feedback.v1.SubmitLabelsRequest.class,
      responseType = dev.feedbackservice.feedback.v1.SubmitLabelsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.SubmitLabelsRequest,
      dev.feedbackservice.feedback.v1.SubmitLabelsResponse> getSubmitLabelsMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.SubmitLabelsRequest, dev.feedbackservice.feedback.v1.SubmitLabelsResponse> getSubmitLabelsMethod;
    if ((getSubmitLabelsMethod = ReviewServiceGrpc.getSubmitLabelsMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getSubmitLabelsMethod = ReviewServiceGrpc.getSubmitLabelsMethod) == null) {
          ReviewServiceGrpc.getSubmitLabelsMethod = getSubmitLabelsMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.SubmitLabelsRequest, dev.feedbackservice.feedback.v1.SubmitLabelsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SubmitLabels"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.SubmitLabelsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.SubmitLabelsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("SubmitLabels"))
              .build();
        }
      }
    }
    return getSubmitLabelsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.DeclineItemRequest,
      dev.feedbackservice.feedback.v1.DeclineItemResponse> getDeclineItemMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeclineItem",
      requestType = dev.feedbackservice.feedback.v1.DeclineItemRequest.class,
      responseType = dev.feedbackservice.feedback.v1.DeclineItemResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.DeclineItemRequest,
      dev.feedbackservice.feedback.v1.DeclineItemResponse> getDeclineItemMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.DeclineItemRequest, dev.feedbackservice.feedback.v1.DeclineItemResponse> getDeclineItemMethod;
    if ((getDeclineItemMethod = ReviewServiceGrpc.getDeclineItemMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getDeclineItemMethod = ReviewServiceGrpc.getDeclineItemMethod) == null) {
          ReviewServiceGrpc.getDeclineItemMethod = getDeclineItemMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.DeclineItemRequest, dev.feedbackservice.feedback.v1.DeclineItemResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeclineItem"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.DeclineItemRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.DeclineItemResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("DeclineItem"))
              .build();
        }
      }
    }
    return getDeclineItemMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetSessionProgressRequest,
      dev.feedbackservice.feedback.v1.GetSessionProgressResponse> getGetSessionProgressMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetSessionProgress",
      requestType = dev.feedbackservice.feedback.v1.GetSessionProgressRequest.class,
      responseType = dev.feedbackservice.feedback.v1.GetSessionProgressResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetSessionProgressRequest,
      dev.feedbackservice.feedback.v1.GetSessionProgressResponse> getGetSessionProgressMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.GetSessionProgressRequest, dev.feedbackservice.feedback.v1.GetSessionProgressResponse> getGetSessionProgressMethod;
    if ((getGetSessionProgressMethod = ReviewServiceGrpc.getGetSessionProgressMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getGetSessionProgressMethod = ReviewServiceGrpc.getGetSessionProgressMethod) == null) {
          ReviewServiceGrpc.getGetSessionProgressMethod = getGetSessionProgressMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.GetSessionProgressRequest, dev.feedbackservice.feedback.v1.GetSessionProgressResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetSessionProgress"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.GetSessionProgressRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.GetSessionProgressResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("GetSessionProgress"))
              .build();
        }
      }
    }
    return getGetSessionProgressMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.EvaluateSessionRequest,
      dev.feedbackservice.feedback.v1.EvaluateSessionResponse> getEvaluateSessionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "EvaluateSession",
      requestType = dev.feedbackservice.feedback.v1.EvaluateSessionRequest.class,
      responseType = dev.feedbackservice.feedback.v1.EvaluateSessionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.EvaluateSessionRequest,
      dev.feedbackservice.feedback.v1.EvaluateSessionResponse> getEvaluateSessionMethod() {
    io.grpc.MethodDescriptor<dev.feedbackservice.feedback.v1.EvaluateSessionRequest, dev.feedbackservice.feedback.v1.EvaluateSessionResponse> getEvaluateSessionMethod;
    if ((getEvaluateSessionMethod = ReviewServiceGrpc.getEvaluateSessionMethod) == null) {
      synchronized (ReviewServiceGrpc.class) {
        if ((getEvaluateSessionMethod = ReviewServiceGrpc.getEvaluateSessionMethod) == null) {
          ReviewServiceGrpc.getEvaluateSessionMethod = getEvaluateSessionMethod =
              io.grpc.MethodDescriptor.<dev.feedbackservice.feedback.v1.EvaluateSessionRequest, dev.feedbackservice.feedback.v1.EvaluateSessionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "EvaluateSession"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.EvaluateSessionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.feedbackservice.feedback.v1.EvaluateSessionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ReviewServiceMethodDescriptorSupplier("EvaluateSession"))
              .build();
        }
      }
    }
    return getEvaluateSessionMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static ReviewServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ReviewServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ReviewServiceStub>() {
        @java.lang.Override
        public ReviewServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ReviewServiceStub(channel, callOptions);
        }
      };
    return ReviewServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static ReviewServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ReviewServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ReviewServiceBlockingV2Stub>() {
        @java.lang.Override
        public ReviewServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ReviewServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return ReviewServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static ReviewServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ReviewServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ReviewServiceBlockingStub>() {
        @java.lang.Override
        public ReviewServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ReviewServiceBlockingStub(channel, callOptions);
        }
      };
    return ReviewServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static ReviewServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ReviewServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ReviewServiceFutureStub>() {
        @java.lang.Override
        public ReviewServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ReviewServiceFutureStub(channel, callOptions);
        }
      };
    return ReviewServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Expert review of chat turns: label schemas (the questions experts answer),
   * review sessions (a set of traces, the schemas to fill in and the reviewers),
   * the reviewers' work loop, and evaluation of the application against the
   * experts' expectations.
   * Label schemas are MLflow label schemas and review sessions are MLflow review
   * queues of the service's experiment: they show in the MLflow UI next to the
   * traces. Labels are stored as MLflow assessments on the reviewed traces, with
   * the source `SOURCE_TYPE_HUMAN` and the reviewer's ID.
   * Reviewers are identified by the `reviewer` field of each request. Reviewer IDs
   * are compared case-insensitively (MLflow stores them in lower case).
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Creates a label schema. Creating a schema that already exists with the
     * same definition returns it unchanged; a different definition under an
     * existing name fails with `ALREADY_EXISTS`.
     * </pre>
     */
    default void createLabelSchema(dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateLabelSchemaMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one label schema by name, or `NOT_FOUND`.
     * </pre>
     */
    default void getLabelSchema(dev.feedbackservice.feedback.v1.GetLabelSchemaRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetLabelSchemaResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetLabelSchemaMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the label schemas of the experiment, including MLflow's built-in
     * `Feedback` question.
     * </pre>
     */
    default void listLabelSchemas(dev.feedbackservice.feedback.v1.ListLabelSchemasRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ListLabelSchemasResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListLabelSchemasMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes a label schema. Fails with `FAILED_PRECONDITION` while a review
     * session uses it, unless `force` is set, and for MLflow's built-in question.
     * </pre>
     */
    default void deleteLabelSchema(dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteLabelSchemaMethod(), responseObserver);
    }

    /**
     * <pre>
     * Creates a review session (an MLflow review queue). Creating a session that
     * already exists with the same schemas and reviewers returns it unchanged; a
     * different definition under an existing name fails with `ALREADY_EXISTS`.
     * </pre>
     */
    default void createReviewSession(dev.feedbackservice.feedback.v1.CreateReviewSessionRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.CreateReviewSessionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateReviewSessionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one review session by name, or `NOT_FOUND`.
     * </pre>
     */
    default void getReviewSession(dev.feedbackservice.feedback.v1.GetReviewSessionRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetReviewSessionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetReviewSessionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists review sessions, newest first, optionally only those of one reviewer.
     * </pre>
     */
    default void listReviewSessions(dev.feedbackservice.feedback.v1.ListReviewSessionsRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ListReviewSessionsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListReviewSessionsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Adds traces to a session, given by reference or selected by a query (for
     * example every trace with a negative `user_feedback` in the last 24 hours).
     * Adding a trace that is already in the session changes nothing.
     * </pre>
     */
    default void addSessionItems(dev.feedbackservice.feedback.v1.AddSessionItemsRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.AddSessionItemsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAddSessionItemsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Gives a reviewer the next pending item of a session with what they need to
     * label it, and leases it to them: until the lease expires no other reviewer
     * gets that item. Calling again before submitting returns the same item and
     * renews its lease.
     * </pre>
     */
    default void getNextItem(dev.feedbackservice.feedback.v1.GetNextItemRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetNextItemResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetNextItemMethod(), responseObserver);
    }

    /**
     * <pre>
     * Records a reviewer's labels of one item, validated against the session's
     * label schemas, as MLflow assessments (through the service's durable write
     * path), then marks the item complete in MLflow. A retry with the same
     * `request_id` returns the same result.
     * </pre>
     */
    default void submitLabels(dev.feedbackservice.feedback.v1.SubmitLabelsRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.SubmitLabelsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSubmitLabelsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Declines an item: the reviewer will not label it, and it leaves the
     * pending items of the session.
     * </pre>
     */
    default void declineItem(dev.feedbackservice.feedback.v1.DeclineItemRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.DeclineItemResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeclineItemMethod(), responseObserver);
    }

    /**
     * <pre>
     * Counts the session's items by status, overall and per reviewer.
     * </pre>
     */
    default void getSessionProgress(dev.feedbackservice.feedback.v1.GetSessionProgressRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetSessionProgressResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetSessionProgressMethod(), responseObserver);
    }

    /**
     * <pre>
     * Evaluates the application against the session's expectations: for every
     * completed item with an expected response, the chat backend answers the
     * item's request again as a new traced turn, a scorer compares the new
     * answer with the expected response, and the score is recorded as feedback
     * on the new trace. Streams zero or more `progress` messages, then exactly
     * one `result` (always last on success).
     * </pre>
     */
    default void evaluateSession(dev.feedbackservice.feedback.v1.EvaluateSessionRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.EvaluateSessionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getEvaluateSessionMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service ReviewService.
   * <pre>
   * Expert review of chat turns: label schemas (the questions experts answer),
   * review sessions (a set of traces, the schemas to fill in and the reviewers),
   * the reviewers' work loop, and evaluation of the application against the
   * experts' expectations.
   * Label schemas are MLflow label schemas and review sessions are MLflow review
   * queues of the service's experiment: they show in the MLflow UI next to the
   * traces. Labels are stored as MLflow assessments on the reviewed traces, with
   * the source `SOURCE_TYPE_HUMAN` and the reviewer's ID.
   * Reviewers are identified by the `reviewer` field of each request. Reviewer IDs
   * are compared case-insensitively (MLflow stores them in lower case).
   * </pre>
   */
  public static abstract class ReviewServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return ReviewServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service ReviewService.
   * <pre>
   * Expert review of chat turns: label schemas (the questions experts answer),
   * review sessions (a set of traces, the schemas to fill in and the reviewers),
   * the reviewers' work loop, and evaluation of the application against the
   * experts' expectations.
   * Label schemas are MLflow label schemas and review sessions are MLflow review
   * queues of the service's experiment: they show in the MLflow UI next to the
   * traces. Labels are stored as MLflow assessments on the reviewed traces, with
   * the source `SOURCE_TYPE_HUMAN` and the reviewer's ID.
   * Reviewers are identified by the `reviewer` field of each request. Reviewer IDs
   * are compared case-insensitively (MLflow stores them in lower case).
   * </pre>
   */
  public static final class ReviewServiceStub
      extends io.grpc.stub.AbstractAsyncStub<ReviewServiceStub> {
    private ReviewServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ReviewServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ReviewServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a label schema. Creating a schema that already exists with the
     * same definition returns it unchanged; a different definition under an
     * existing name fails with `ALREADY_EXISTS`.
     * </pre>
     */
    public void createLabelSchema(dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateLabelSchemaMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one label schema by name, or `NOT_FOUND`.
     * </pre>
     */
    public void getLabelSchema(dev.feedbackservice.feedback.v1.GetLabelSchemaRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetLabelSchemaResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetLabelSchemaMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the label schemas of the experiment, including MLflow's built-in
     * `Feedback` question.
     * </pre>
     */
    public void listLabelSchemas(dev.feedbackservice.feedback.v1.ListLabelSchemasRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ListLabelSchemasResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListLabelSchemasMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes a label schema. Fails with `FAILED_PRECONDITION` while a review
     * session uses it, unless `force` is set, and for MLflow's built-in question.
     * </pre>
     */
    public void deleteLabelSchema(dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteLabelSchemaMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Creates a review session (an MLflow review queue). Creating a session that
     * already exists with the same schemas and reviewers returns it unchanged; a
     * different definition under an existing name fails with `ALREADY_EXISTS`.
     * </pre>
     */
    public void createReviewSession(dev.feedbackservice.feedback.v1.CreateReviewSessionRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.CreateReviewSessionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateReviewSessionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one review session by name, or `NOT_FOUND`.
     * </pre>
     */
    public void getReviewSession(dev.feedbackservice.feedback.v1.GetReviewSessionRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetReviewSessionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetReviewSessionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists review sessions, newest first, optionally only those of one reviewer.
     * </pre>
     */
    public void listReviewSessions(dev.feedbackservice.feedback.v1.ListReviewSessionsRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ListReviewSessionsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListReviewSessionsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Adds traces to a session, given by reference or selected by a query (for
     * example every trace with a negative `user_feedback` in the last 24 hours).
     * Adding a trace that is already in the session changes nothing.
     * </pre>
     */
    public void addSessionItems(dev.feedbackservice.feedback.v1.AddSessionItemsRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.AddSessionItemsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAddSessionItemsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Gives a reviewer the next pending item of a session with what they need to
     * label it, and leases it to them: until the lease expires no other reviewer
     * gets that item. Calling again before submitting returns the same item and
     * renews its lease.
     * </pre>
     */
    public void getNextItem(dev.feedbackservice.feedback.v1.GetNextItemRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetNextItemResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetNextItemMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Records a reviewer's labels of one item, validated against the session's
     * label schemas, as MLflow assessments (through the service's durable write
     * path), then marks the item complete in MLflow. A retry with the same
     * `request_id` returns the same result.
     * </pre>
     */
    public void submitLabels(dev.feedbackservice.feedback.v1.SubmitLabelsRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.SubmitLabelsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSubmitLabelsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Declines an item: the reviewer will not label it, and it leaves the
     * pending items of the session.
     * </pre>
     */
    public void declineItem(dev.feedbackservice.feedback.v1.DeclineItemRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.DeclineItemResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeclineItemMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Counts the session's items by status, overall and per reviewer.
     * </pre>
     */
    public void getSessionProgress(dev.feedbackservice.feedback.v1.GetSessionProgressRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetSessionProgressResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetSessionProgressMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Evaluates the application against the session's expectations: for every
     * completed item with an expected response, the chat backend answers the
     * item's request again as a new traced turn, a scorer compares the new
     * answer with the expected response, and the score is recorded as feedback
     * on the new trace. Streams zero or more `progress` messages, then exactly
     * one `result` (always last on success).
     * </pre>
     */
    public void evaluateSession(dev.feedbackservice.feedback.v1.EvaluateSessionRequest request,
        io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.EvaluateSessionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getEvaluateSessionMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service ReviewService.
   * <pre>
   * Expert review of chat turns: label schemas (the questions experts answer),
   * review sessions (a set of traces, the schemas to fill in and the reviewers),
   * the reviewers' work loop, and evaluation of the application against the
   * experts' expectations.
   * Label schemas are MLflow label schemas and review sessions are MLflow review
   * queues of the service's experiment: they show in the MLflow UI next to the
   * traces. Labels are stored as MLflow assessments on the reviewed traces, with
   * the source `SOURCE_TYPE_HUMAN` and the reviewer's ID.
   * Reviewers are identified by the `reviewer` field of each request. Reviewer IDs
   * are compared case-insensitively (MLflow stores them in lower case).
   * </pre>
   */
  public static final class ReviewServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<ReviewServiceBlockingV2Stub> {
    private ReviewServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ReviewServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ReviewServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a label schema. Creating a schema that already exists with the
     * same definition returns it unchanged; a different definition under an
     * existing name fails with `ALREADY_EXISTS`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse createLabelSchema(dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateLabelSchemaMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one label schema by name, or `NOT_FOUND`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.GetLabelSchemaResponse getLabelSchema(dev.feedbackservice.feedback.v1.GetLabelSchemaRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetLabelSchemaMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the label schemas of the experiment, including MLflow's built-in
     * `Feedback` question.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.ListLabelSchemasResponse listLabelSchemas(dev.feedbackservice.feedback.v1.ListLabelSchemasRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListLabelSchemasMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a label schema. Fails with `FAILED_PRECONDITION` while a review
     * session uses it, unless `force` is set, and for MLflow's built-in question.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse deleteLabelSchema(dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteLabelSchemaMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Creates a review session (an MLflow review queue). Creating a session that
     * already exists with the same schemas and reviewers returns it unchanged; a
     * different definition under an existing name fails with `ALREADY_EXISTS`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.CreateReviewSessionResponse createReviewSession(dev.feedbackservice.feedback.v1.CreateReviewSessionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateReviewSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one review session by name, or `NOT_FOUND`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.GetReviewSessionResponse getReviewSession(dev.feedbackservice.feedback.v1.GetReviewSessionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetReviewSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists review sessions, newest first, optionally only those of one reviewer.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.ListReviewSessionsResponse listReviewSessions(dev.feedbackservice.feedback.v1.ListReviewSessionsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListReviewSessionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Adds traces to a session, given by reference or selected by a query (for
     * example every trace with a negative `user_feedback` in the last 24 hours).
     * Adding a trace that is already in the session changes nothing.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.AddSessionItemsResponse addSessionItems(dev.feedbackservice.feedback.v1.AddSessionItemsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAddSessionItemsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Gives a reviewer the next pending item of a session with what they need to
     * label it, and leases it to them: until the lease expires no other reviewer
     * gets that item. Calling again before submitting returns the same item and
     * renews its lease.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.GetNextItemResponse getNextItem(dev.feedbackservice.feedback.v1.GetNextItemRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetNextItemMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records a reviewer's labels of one item, validated against the session's
     * label schemas, as MLflow assessments (through the service's durable write
     * path), then marks the item complete in MLflow. A retry with the same
     * `request_id` returns the same result.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.SubmitLabelsResponse submitLabels(dev.feedbackservice.feedback.v1.SubmitLabelsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSubmitLabelsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Declines an item: the reviewer will not label it, and it leaves the
     * pending items of the session.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.DeclineItemResponse declineItem(dev.feedbackservice.feedback.v1.DeclineItemRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeclineItemMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Counts the session's items by status, overall and per reviewer.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.GetSessionProgressResponse getSessionProgress(dev.feedbackservice.feedback.v1.GetSessionProgressRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetSessionProgressMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Evaluates the application against the session's expectations: for every
     * completed item with an expected response, the chat backend answers the
     * item's request again as a new traced turn, a scorer compares the new
     * answer with the expected response, and the score is recorded as feedback
     * on the new trace. Streams zero or more `progress` messages, then exactly
     * one `result` (always last on success).
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, dev.feedbackservice.feedback.v1.EvaluateSessionResponse>
        evaluateSession(dev.feedbackservice.feedback.v1.EvaluateSessionRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getEvaluateSessionMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service ReviewService.
   * <pre>
   * Expert review of chat turns: label schemas (the questions experts answer),
   * review sessions (a set of traces, the schemas to fill in and the reviewers),
   * the reviewers' work loop, and evaluation of the application against the
   * experts' expectations.
   * Label schemas are MLflow label schemas and review sessions are MLflow review
   * queues of the service's experiment: they show in the MLflow UI next to the
   * traces. Labels are stored as MLflow assessments on the reviewed traces, with
   * the source `SOURCE_TYPE_HUMAN` and the reviewer's ID.
   * Reviewers are identified by the `reviewer` field of each request. Reviewer IDs
   * are compared case-insensitively (MLflow stores them in lower case).
   * </pre>
   */
  public static final class ReviewServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<ReviewServiceBlockingStub> {
    private ReviewServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ReviewServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ReviewServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a label schema. Creating a schema that already exists with the
     * same definition returns it unchanged; a different definition under an
     * existing name fails with `ALREADY_EXISTS`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse createLabelSchema(dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateLabelSchemaMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one label schema by name, or `NOT_FOUND`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.GetLabelSchemaResponse getLabelSchema(dev.feedbackservice.feedback.v1.GetLabelSchemaRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetLabelSchemaMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the label schemas of the experiment, including MLflow's built-in
     * `Feedback` question.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.ListLabelSchemasResponse listLabelSchemas(dev.feedbackservice.feedback.v1.ListLabelSchemasRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListLabelSchemasMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a label schema. Fails with `FAILED_PRECONDITION` while a review
     * session uses it, unless `force` is set, and for MLflow's built-in question.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse deleteLabelSchema(dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteLabelSchemaMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Creates a review session (an MLflow review queue). Creating a session that
     * already exists with the same schemas and reviewers returns it unchanged; a
     * different definition under an existing name fails with `ALREADY_EXISTS`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.CreateReviewSessionResponse createReviewSession(dev.feedbackservice.feedback.v1.CreateReviewSessionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateReviewSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one review session by name, or `NOT_FOUND`.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.GetReviewSessionResponse getReviewSession(dev.feedbackservice.feedback.v1.GetReviewSessionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetReviewSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists review sessions, newest first, optionally only those of one reviewer.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.ListReviewSessionsResponse listReviewSessions(dev.feedbackservice.feedback.v1.ListReviewSessionsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListReviewSessionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Adds traces to a session, given by reference or selected by a query (for
     * example every trace with a negative `user_feedback` in the last 24 hours).
     * Adding a trace that is already in the session changes nothing.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.AddSessionItemsResponse addSessionItems(dev.feedbackservice.feedback.v1.AddSessionItemsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAddSessionItemsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Gives a reviewer the next pending item of a session with what they need to
     * label it, and leases it to them: until the lease expires no other reviewer
     * gets that item. Calling again before submitting returns the same item and
     * renews its lease.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.GetNextItemResponse getNextItem(dev.feedbackservice.feedback.v1.GetNextItemRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetNextItemMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records a reviewer's labels of one item, validated against the session's
     * label schemas, as MLflow assessments (through the service's durable write
     * path), then marks the item complete in MLflow. A retry with the same
     * `request_id` returns the same result.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.SubmitLabelsResponse submitLabels(dev.feedbackservice.feedback.v1.SubmitLabelsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSubmitLabelsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Declines an item: the reviewer will not label it, and it leaves the
     * pending items of the session.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.DeclineItemResponse declineItem(dev.feedbackservice.feedback.v1.DeclineItemRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeclineItemMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Counts the session's items by status, overall and per reviewer.
     * </pre>
     */
    public dev.feedbackservice.feedback.v1.GetSessionProgressResponse getSessionProgress(dev.feedbackservice.feedback.v1.GetSessionProgressRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetSessionProgressMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Evaluates the application against the session's expectations: for every
     * completed item with an expected response, the chat backend answers the
     * item's request again as a new traced turn, a scorer compares the new
     * answer with the expected response, and the score is recorded as feedback
     * on the new trace. Streams zero or more `progress` messages, then exactly
     * one `result` (always last on success).
     * </pre>
     */
    public java.util.Iterator<dev.feedbackservice.feedback.v1.EvaluateSessionResponse> evaluateSession(
        dev.feedbackservice.feedback.v1.EvaluateSessionRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getEvaluateSessionMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service ReviewService.
   * <pre>
   * Expert review of chat turns: label schemas (the questions experts answer),
   * review sessions (a set of traces, the schemas to fill in and the reviewers),
   * the reviewers' work loop, and evaluation of the application against the
   * experts' expectations.
   * Label schemas are MLflow label schemas and review sessions are MLflow review
   * queues of the service's experiment: they show in the MLflow UI next to the
   * traces. Labels are stored as MLflow assessments on the reviewed traces, with
   * the source `SOURCE_TYPE_HUMAN` and the reviewer's ID.
   * Reviewers are identified by the `reviewer` field of each request. Reviewer IDs
   * are compared case-insensitively (MLflow stores them in lower case).
   * </pre>
   */
  public static final class ReviewServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<ReviewServiceFutureStub> {
    private ReviewServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ReviewServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ReviewServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a label schema. Creating a schema that already exists with the
     * same definition returns it unchanged; a different definition under an
     * existing name fails with `ALREADY_EXISTS`.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse> createLabelSchema(
        dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateLabelSchemaMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one label schema by name, or `NOT_FOUND`.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.GetLabelSchemaResponse> getLabelSchema(
        dev.feedbackservice.feedback.v1.GetLabelSchemaRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetLabelSchemaMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the label schemas of the experiment, including MLflow's built-in
     * `Feedback` question.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.ListLabelSchemasResponse> listLabelSchemas(
        dev.feedbackservice.feedback.v1.ListLabelSchemasRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListLabelSchemasMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes a label schema. Fails with `FAILED_PRECONDITION` while a review
     * session uses it, unless `force` is set, and for MLflow's built-in question.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse> deleteLabelSchema(
        dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteLabelSchemaMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Creates a review session (an MLflow review queue). Creating a session that
     * already exists with the same schemas and reviewers returns it unchanged; a
     * different definition under an existing name fails with `ALREADY_EXISTS`.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.CreateReviewSessionResponse> createReviewSession(
        dev.feedbackservice.feedback.v1.CreateReviewSessionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateReviewSessionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one review session by name, or `NOT_FOUND`.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.GetReviewSessionResponse> getReviewSession(
        dev.feedbackservice.feedback.v1.GetReviewSessionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetReviewSessionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists review sessions, newest first, optionally only those of one reviewer.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.ListReviewSessionsResponse> listReviewSessions(
        dev.feedbackservice.feedback.v1.ListReviewSessionsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListReviewSessionsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Adds traces to a session, given by reference or selected by a query (for
     * example every trace with a negative `user_feedback` in the last 24 hours).
     * Adding a trace that is already in the session changes nothing.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.AddSessionItemsResponse> addSessionItems(
        dev.feedbackservice.feedback.v1.AddSessionItemsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAddSessionItemsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Gives a reviewer the next pending item of a session with what they need to
     * label it, and leases it to them: until the lease expires no other reviewer
     * gets that item. Calling again before submitting returns the same item and
     * renews its lease.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.GetNextItemResponse> getNextItem(
        dev.feedbackservice.feedback.v1.GetNextItemRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetNextItemMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Records a reviewer's labels of one item, validated against the session's
     * label schemas, as MLflow assessments (through the service's durable write
     * path), then marks the item complete in MLflow. A retry with the same
     * `request_id` returns the same result.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.SubmitLabelsResponse> submitLabels(
        dev.feedbackservice.feedback.v1.SubmitLabelsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSubmitLabelsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Declines an item: the reviewer will not label it, and it leaves the
     * pending items of the session.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.DeclineItemResponse> declineItem(
        dev.feedbackservice.feedback.v1.DeclineItemRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeclineItemMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Counts the session's items by status, overall and per reviewer.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.feedbackservice.feedback.v1.GetSessionProgressResponse> getSessionProgress(
        dev.feedbackservice.feedback.v1.GetSessionProgressRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetSessionProgressMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_LABEL_SCHEMA = 0;
  private static final int METHODID_GET_LABEL_SCHEMA = 1;
  private static final int METHODID_LIST_LABEL_SCHEMAS = 2;
  private static final int METHODID_DELETE_LABEL_SCHEMA = 3;
  private static final int METHODID_CREATE_REVIEW_SESSION = 4;
  private static final int METHODID_GET_REVIEW_SESSION = 5;
  private static final int METHODID_LIST_REVIEW_SESSIONS = 6;
  private static final int METHODID_ADD_SESSION_ITEMS = 7;
  private static final int METHODID_GET_NEXT_ITEM = 8;
  private static final int METHODID_SUBMIT_LABELS = 9;
  private static final int METHODID_DECLINE_ITEM = 10;
  private static final int METHODID_GET_SESSION_PROGRESS = 11;
  private static final int METHODID_EVALUATE_SESSION = 12;

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
        case METHODID_CREATE_LABEL_SCHEMA:
          serviceImpl.createLabelSchema((dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse>) responseObserver);
          break;
        case METHODID_GET_LABEL_SCHEMA:
          serviceImpl.getLabelSchema((dev.feedbackservice.feedback.v1.GetLabelSchemaRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetLabelSchemaResponse>) responseObserver);
          break;
        case METHODID_LIST_LABEL_SCHEMAS:
          serviceImpl.listLabelSchemas((dev.feedbackservice.feedback.v1.ListLabelSchemasRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ListLabelSchemasResponse>) responseObserver);
          break;
        case METHODID_DELETE_LABEL_SCHEMA:
          serviceImpl.deleteLabelSchema((dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse>) responseObserver);
          break;
        case METHODID_CREATE_REVIEW_SESSION:
          serviceImpl.createReviewSession((dev.feedbackservice.feedback.v1.CreateReviewSessionRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.CreateReviewSessionResponse>) responseObserver);
          break;
        case METHODID_GET_REVIEW_SESSION:
          serviceImpl.getReviewSession((dev.feedbackservice.feedback.v1.GetReviewSessionRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetReviewSessionResponse>) responseObserver);
          break;
        case METHODID_LIST_REVIEW_SESSIONS:
          serviceImpl.listReviewSessions((dev.feedbackservice.feedback.v1.ListReviewSessionsRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.ListReviewSessionsResponse>) responseObserver);
          break;
        case METHODID_ADD_SESSION_ITEMS:
          serviceImpl.addSessionItems((dev.feedbackservice.feedback.v1.AddSessionItemsRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.AddSessionItemsResponse>) responseObserver);
          break;
        case METHODID_GET_NEXT_ITEM:
          serviceImpl.getNextItem((dev.feedbackservice.feedback.v1.GetNextItemRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetNextItemResponse>) responseObserver);
          break;
        case METHODID_SUBMIT_LABELS:
          serviceImpl.submitLabels((dev.feedbackservice.feedback.v1.SubmitLabelsRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.SubmitLabelsResponse>) responseObserver);
          break;
        case METHODID_DECLINE_ITEM:
          serviceImpl.declineItem((dev.feedbackservice.feedback.v1.DeclineItemRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.DeclineItemResponse>) responseObserver);
          break;
        case METHODID_GET_SESSION_PROGRESS:
          serviceImpl.getSessionProgress((dev.feedbackservice.feedback.v1.GetSessionProgressRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.GetSessionProgressResponse>) responseObserver);
          break;
        case METHODID_EVALUATE_SESSION:
          serviceImpl.evaluateSession((dev.feedbackservice.feedback.v1.EvaluateSessionRequest) request,
              (io.grpc.stub.StreamObserver<dev.feedbackservice.feedback.v1.EvaluateSessionResponse>) responseObserver);
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
          getCreateLabelSchemaMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.CreateLabelSchemaRequest,
              dev.feedbackservice.feedback.v1.CreateLabelSchemaResponse>(
                service, METHODID_CREATE_LABEL_SCHEMA)))
        .addMethod(
          getGetLabelSchemaMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.GetLabelSchemaRequest,
              dev.feedbackservice.feedback.v1.GetLabelSchemaResponse>(
                service, METHODID_GET_LABEL_SCHEMA)))
        .addMethod(
          getListLabelSchemasMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.ListLabelSchemasRequest,
              dev.feedbackservice.feedback.v1.ListLabelSchemasResponse>(
                service, METHODID_LIST_LABEL_SCHEMAS)))
        .addMethod(
          getDeleteLabelSchemaMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.DeleteLabelSchemaRequest,
              dev.feedbackservice.feedback.v1.DeleteLabelSchemaResponse>(
                service, METHODID_DELETE_LABEL_SCHEMA)))
        .addMethod(
          getCreateReviewSessionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.CreateReviewSessionRequest,
              dev.feedbackservice.feedback.v1.CreateReviewSessionResponse>(
                service, METHODID_CREATE_REVIEW_SESSION)))
        .addMethod(
          getGetReviewSessionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.GetReviewSessionRequest,
              dev.feedbackservice.feedback.v1.GetReviewSessionResponse>(
                service, METHODID_GET_REVIEW_SESSION)))
        .addMethod(
          getListReviewSessionsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.ListReviewSessionsRequest,
              dev.feedbackservice.feedback.v1.ListReviewSessionsResponse>(
                service, METHODID_LIST_REVIEW_SESSIONS)))
        .addMethod(
          getAddSessionItemsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.AddSessionItemsRequest,
              dev.feedbackservice.feedback.v1.AddSessionItemsResponse>(
                service, METHODID_ADD_SESSION_ITEMS)))
        .addMethod(
          getGetNextItemMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.GetNextItemRequest,
              dev.feedbackservice.feedback.v1.GetNextItemResponse>(
                service, METHODID_GET_NEXT_ITEM)))
        .addMethod(
          getSubmitLabelsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.SubmitLabelsRequest,
              dev.feedbackservice.feedback.v1.SubmitLabelsResponse>(
                service, METHODID_SUBMIT_LABELS)))
        .addMethod(
          getDeclineItemMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.DeclineItemRequest,
              dev.feedbackservice.feedback.v1.DeclineItemResponse>(
                service, METHODID_DECLINE_ITEM)))
        .addMethod(
          getGetSessionProgressMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.GetSessionProgressRequest,
              dev.feedbackservice.feedback.v1.GetSessionProgressResponse>(
                service, METHODID_GET_SESSION_PROGRESS)))
        .addMethod(
          getEvaluateSessionMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              dev.feedbackservice.feedback.v1.EvaluateSessionRequest,
              dev.feedbackservice.feedback.v1.EvaluateSessionResponse>(
                service, METHODID_EVALUATE_SESSION)))
        .build();
  }

  private static abstract class ReviewServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    ReviewServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.feedbackservice.feedback.v1.ReviewServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("ReviewService");
    }
  }

  private static final class ReviewServiceFileDescriptorSupplier
      extends ReviewServiceBaseDescriptorSupplier {
    ReviewServiceFileDescriptorSupplier() {}
  }

  private static final class ReviewServiceMethodDescriptorSupplier
      extends ReviewServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    ReviewServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (ReviewServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new ReviewServiceFileDescriptorSupplier())
              .addMethod(getCreateLabelSchemaMethod())
              .addMethod(getGetLabelSchemaMethod())
              .addMethod(getListLabelSchemasMethod())
              .addMethod(getDeleteLabelSchemaMethod())
              .addMethod(getCreateReviewSessionMethod())
              .addMethod(getGetReviewSessionMethod())
              .addMethod(getListReviewSessionsMethod())
              .addMethod(getAddSessionItemsMethod())
              .addMethod(getGetNextItemMethod())
              .addMethod(getSubmitLabelsMethod())
              .addMethod(getDeclineItemMethod())
              .addMethod(getGetSessionProgressMethod())
              .addMethod(getEvaluateSessionMethod())
              .build();
        }
      }
    }
    return result;
  }
}
