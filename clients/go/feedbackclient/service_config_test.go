package feedbackclient_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	feedbackv1 "github.com/feedback-service/feedback/clients/go/feedback/v1"
	fc "github.com/feedback-service/feedback/clients/go/feedbackclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// A replica that answers UNAVAILABLE to the first calls of each method (restarting).
type flaky struct {
	feedbackv1.UnimplementedFeedbackServiceServer
	feedbackv1.UnimplementedChatServiceServer
	feedbackCalls, chatCalls atomic.Int32
}

func (f *flaky) LogFeedback(context.Context, *feedbackv1.LogFeedbackRequest) (*feedbackv1.LogFeedbackResponse, error) {
	if f.feedbackCalls.Add(1) <= 2 {
		return nil, status.Error(codes.Unavailable, "restarting")
	}
	return &feedbackv1.LogFeedbackResponse{AssessmentId: "a-1"}, nil
}

func (f *flaky) Chat(context.Context, *feedbackv1.ChatRequest) (*feedbackv1.ChatResponse, error) {
	f.chatCalls.Add(1)
	return nil, status.Error(codes.Unavailable, "restarting")
}

func TestWritesAreRetriedOnUnavailableAndChatIsNot(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	fake := &flaky{}
	feedbackv1.RegisterFeedbackServiceServer(srv, fake)
	feedbackv1.RegisterChatServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	client, err := fc.New("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })

	reply, err := client.LogThumbs(context.Background(), fc.ByTraceID("tr-0123456789abcdef0123456789abcdef"), false, "", fc.Human("u"))
	if err != nil || reply.GetAssessmentId() != "a-1" || fake.feedbackCalls.Load() != 3 {
		t.Fatalf("want a success on the 3rd attempt, got %v after %d calls", err, fake.feedbackCalls.Load())
	}
	_, err = client.Chat.Chat(context.Background(), &feedbackv1.ChatRequest{Message: "hi"})
	if status.Code(err) != codes.Unavailable || fake.chatCalls.Load() != 1 {
		t.Fatalf("a chat turn must not be retried: %v after %d calls", err, fake.chatCalls.Load())
	}
}
