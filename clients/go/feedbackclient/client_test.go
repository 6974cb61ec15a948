package feedbackclient_test

import (
	"context"
	"errors"
	"net"
	"testing"

	feedbackv1 "github.com/feedback-service/feedback/clients/go/feedback/v1"
	fc "github.com/feedback-service/feedback/clients/go/feedbackclient"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

const traceID = "tr-0123456789abcdef0123456789abcdef"

type fakeChat struct {
	feedbackv1.UnimplementedChatServiceServer
	fail bool
}

func (f *fakeChat) StreamChat(req *feedbackv1.StreamChatRequest, stream grpc.ServerStreamingServer[feedbackv1.StreamChatResponse]) error {
	if err := stream.SendHeader(metadata.Pairs(fc.TraceIDHeader, traceID)); err != nil {
		return err
	}
	for _, piece := range []string{"Hello, ", "world"} {
		if err := stream.Send(&feedbackv1.StreamChatResponse{Event: &feedbackv1.StreamChatResponse_Delta{
			Delta: &feedbackv1.ChatDelta{Content: piece}}}); err != nil {
			return err
		}
	}
	if f.fail {
		stream.SetTrailer(metadata.Pairs(fc.TraceIDHeader, traceID))
		return status.Error(codes.Unavailable, "backend went away")
	}
	return stream.Send(&feedbackv1.StreamChatResponse{Event: &feedbackv1.StreamChatResponse_Completion{
		Completion: &feedbackv1.ChatCompletion{TraceId: traceID, ClientRequestId: req.GetClientRequestId(), Response: "Hello, world"}}})
}

type fakeFeedback struct {
	feedbackv1.UnimplementedFeedbackServiceServer
	requestIDs chan string
}

func (f *fakeFeedback) BatchLogFeedback(_ context.Context, req *feedbackv1.BatchLogFeedbackRequest) (*feedbackv1.BatchLogFeedbackResponse, error) {
	bad, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "value", Description: "is required"}},
	})
	out := &feedbackv1.BatchLogFeedbackResponse{}
	for _, item := range req.GetRequests() {
		f.requestIDs <- item.GetRequestId()
		if item.GetValue() == nil {
			out.Results = append(out.Results, &feedbackv1.BatchLogFeedbackResult{Result: &feedbackv1.BatchLogFeedbackResult_Error{Error: bad.Proto()}})
		} else {
			out.Results = append(out.Results, &feedbackv1.BatchLogFeedbackResult{Result: &feedbackv1.BatchLogFeedbackResult_Response{
				Response: &feedbackv1.LogFeedbackResponse{AssessmentId: "a-1", RequestId: item.GetRequestId()}}})
		}
	}
	return out, nil
}

func (f *fakeFeedback) LogFeedback(_ context.Context, req *feedbackv1.LogFeedbackRequest) (*feedbackv1.LogFeedbackResponse, error) {
	f.requestIDs <- req.GetRequestId()
	st, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "target.trace_id", Description: "must match ^tr-[0-9a-f]{32}$"}},
	})
	return nil, st.Err()
}

func start(t *testing.T, chat *fakeChat) *fc.Client {
	client, _ := startWith(t, chat)
	return client
}

func startWith(t *testing.T, chat *fakeChat) (*fc.Client, *fakeFeedback) {
	t.Helper()
	feedback := &fakeFeedback{requestIDs: make(chan string, 16)}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	feedbackv1.RegisterChatServiceServer(srv, chat)
	feedbackv1.RegisterFeedbackServiceServer(srv, feedback)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	client, err := fc.New("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client, feedback
}

func TestEveryWriteGetsAFreshRequestIDUnlessItHasOne(t *testing.T) {
	client, feedback := startWith(t, &fakeChat{})
	ctx := context.Background()
	req := &feedbackv1.LogFeedbackRequest{Target: fc.ByTraceID(traceID), Value: fc.Bool(true)}
	_, _ = client.Feedback.LogFeedback(ctx, req)
	first := <-feedback.requestIDs
	if len(first) != 32 || req.GetRequestId() != first {
		t.Fatalf("request_id %q sent, %q on the message", first, req.GetRequestId())
	}
	_, _ = client.Feedback.LogFeedback(ctx, req) // a retry of the same message: the same key
	if again := <-feedback.requestIDs; again != first {
		t.Fatalf("retry sent %q, want %q", again, first)
	}
	_, _ = client.LogThumbs(ctx, fc.ByTraceID(traceID), false, "", fc.Human("u"))
	if other := <-feedback.requestIDs; other == first || len(other) != 32 {
		t.Fatalf("a new write sent %q", other)
	}
}

func TestLogBatchAnswersEachItem(t *testing.T) {
	client, feedback := startWith(t, &fakeChat{})
	results, err := client.LogBatch(context.Background(), []*feedbackv1.LogFeedbackRequest{
		{Target: fc.ByTraceID(traceID), Value: fc.Bool(true), RequestId: "mine"},
		{Target: fc.ByTraceID(traceID)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ids := []string{<-feedback.requestIDs, <-feedback.requestIDs}; ids[0] != "mine" || len(ids[1]) != 32 {
		t.Fatalf("request IDs %v", ids)
	}
	if len(results) != 2 || results[0].Response.GetAssessmentId() != "a-1" || results[0].Err != nil {
		t.Fatalf("first result %+v", results[0])
	}
	if status.Code(results[1].Err) != codes.InvalidArgument || fc.FieldViolations(results[1].Err)[0].GetField() != "value" {
		t.Fatalf("second result: %s", fc.Describe(results[1].Err))
	}
}

func TestStreamChatCollectsDeltasAndCompletion(t *testing.T) {
	client := start(t, &fakeChat{})
	var got string
	completion, err := client.StreamChat(context.Background(),
		&feedbackv1.StreamChatRequest{Message: "hi", ClientRequestId: "go-1"}, func(s string) { got += s })
	if err != nil {
		t.Fatal(err)
	}
	if got != "Hello, world" || completion.GetResponse() != got || completion.GetClientRequestId() != "go-1" {
		t.Fatalf("deltas %q, completion %v", got, completion)
	}
}

func TestStreamChatFailureCarriesStatusAndTraceID(t *testing.T) {
	client := start(t, &fakeChat{fail: true})
	_, err := client.StreamChat(context.Background(), &feedbackv1.StreamChatRequest{Message: "hi"}, nil)
	var streamErr *fc.StreamError
	if !errors.As(err, &streamErr) || streamErr.TraceID != traceID {
		t.Fatalf("want a StreamError with trace %s, got %v", traceID, err)
	}
	if status.Code(err) != codes.Unavailable || fc.CodeName(err) != "UNAVAILABLE" {
		t.Fatalf("want UNAVAILABLE, got %s", fc.Describe(err))
	}
}

func TestFieldViolations(t *testing.T) {
	client := start(t, &fakeChat{})
	_, err := client.LogThumbs(context.Background(), fc.ByTraceID("nope"), true, "", fc.Human("u"))
	violations := fc.FieldViolations(err)
	if status.Code(err) != codes.InvalidArgument || len(violations) != 1 || violations[0].GetField() != "target.trace_id" {
		t.Fatalf("got %s", fc.Describe(err))
	}
	if want := "INVALID_ARGUMENT: invalid request [target.trace_id: must match ^tr-[0-9a-f]{32}$]"; fc.Describe(err) != want {
		t.Fatalf("Describe: %q, want %q", fc.Describe(err), want)
	}
}

func TestValueHelpers(t *testing.T) {
	cases := map[string]*feedbackv1.FeedbackValue{
		"false": fc.Bool(false), "0.8": fc.Number(0.8), `"ok"`: fc.Category("ok"), `"x y"`: fc.Text("x y"),
	}
	for want, v := range cases {
		if got := fc.FormatValue(v); got != want {
			t.Errorf("FormatValue: %q, want %q", got, want)
		}
	}
	if fc.ByClientRequestID("abc").GetClientRequestId() != "abc" || fc.ByTraceID(traceID).GetTraceId() != traceID {
		t.Error("TraceRef helpers")
	}
}

func TestTLSOptionsNeedReadableFilesAndAPair(t *testing.T) {
	if _, err := (fc.TLSOptions{CAFile: "/nonexistent/ca.pem"}).DialOption(); err == nil {
		t.Fatal("a missing CA file must be an error")
	}
	if _, err := (fc.TLSOptions{CertFile: "client.pem"}).DialOption(); err == nil {
		t.Fatal("a certificate without its key must be an error")
	}
	if _, err := (fc.TLSOptions{}).DialOption(); err != nil {
		t.Fatalf("the system roots need no file: %v", err)
	}
	t.Setenv("FEEDBACK_CA_FILE", "")
	t.Setenv("FEEDBACK_CLIENT_CERT_FILE", "")
	t.Setenv("FEEDBACK_CLIENT_KEY_FILE", "")
	t.Setenv("FEEDBACK_SERVER_NAME", "")
	if fc.TLSFromEnv() != nil {
		t.Fatal("no variable set: plaintext")
	}
	t.Setenv("FEEDBACK_CA_FILE", "ca.pem")
	if got := fc.TLSFromEnv(); got == nil || got.CAFile != "ca.pem" {
		t.Fatalf("TLSFromEnv() = %+v", got)
	}
}
