// Package feedbackclient is a small client of the feedback service
// (package feedback.v1) over the generated stubs in
// github.com/feedback-service/feedback/clients/go/feedback/v1.
//
// The generated clients are exposed as they are (Client.Chat and
// Client.Feedback); this package adds connection handling, a fresh
// request_id on every write that has none (FillRequestID, kept across
// retries), the StreamChat loop, Retract and LogBatch, constructors for the
// oneof-heavy request messages, and access to the google.rpc.BadRequest
// details of INVALID_ARGUMENT errors.
//
// A judgment from a named source supersedes that source's previous one of
// the same name on the trace: changing a vote is another LogThumbs.
package feedbackclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	feedbackv1 "github.com/feedback-service/feedback/clients/go/feedback/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// DefaultAddr is the service's address when FEEDBACK_ADDR is not set.
const DefaultAddr = "127.0.0.1:50051"

// TraceIDHeader is the metadata key carrying the MLflow trace ID of a
// StreamChat call (initial metadata, and trailing metadata on failure).
const TraceIDHeader = "x-mlflow-trace-id"

// DefaultFeedbackName is the name the service gives a feedback without one.
const DefaultFeedbackName = "user_feedback"

// AddrFromEnv returns $FEEDBACK_ADDR, or DefaultAddr when it is unset or empty.
func AddrFromEnv() string {
	if addr := os.Getenv("FEEDBACK_ADDR"); addr != "" {
		return addr
	}
	return DefaultAddr
}

// Client holds one connection and the generated clients of both services.
// It is safe for concurrent use; Close it when done.
type Client struct {
	conn     *grpc.ClientConn
	Chat     feedbackv1.ChatServiceClient
	Feedback feedbackv1.FeedbackServiceClient
}

// New creates a client for target (such as "127.0.0.1:50051" or
// "dns:///feedback-headless.ns.svc.cluster.local:50051"). The connection is
// established lazily on the first call. Without options it uses plaintext;
// use NewTLS (or pass TLSOptions.DialOption()) for TLS and mTLS. The channel
// carries ServiceConfig (retries of writes on UNAVAILABLE, round_robin)
// unless opts set another default service config. Every write gets a fresh
// request_id when it has none (FillRequestID).
func New(target string, opts ...grpc.DialOption) (*Client, error) {
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	opts = append([]grpc.DialOption{grpc.WithDefaultServiceConfig(ServiceConfig)}, opts...)
	opts = append(opts, grpc.WithChainUnaryInterceptor(requestIDs))
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("feedbackclient: connect %q: %w", target, err)
	}
	return &Client{
		conn:     conn,
		Chat:     feedbackv1.NewChatServiceClient(conn),
		Feedback: feedbackv1.NewFeedbackServiceClient(conn),
	}, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

// StreamError is returned by StreamChat when a stream fails. It wraps the
// gRPC status error (status.Code and FieldViolations see through it) and
// carries the trace ID the service sent in the stream's metadata, if any.
type StreamError struct {
	TraceID string
	Err     error
}

func (e *StreamError) Error() string {
	if e.TraceID == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (trace %s)", e.Err, e.TraceID)
}

func (e *StreamError) Unwrap() error { return e.Err }

// ErrNoCompletion means a stream ended with an OK status but without its
// terminal completion message, which the contract forbids.
var ErrNoCompletion = errors.New("feedbackclient: stream ended without a completion")

// StreamChat runs ChatService.StreamChat, calls onDelta (which may be nil)
// with each piece of the answer in order, and returns the terminal completion.
func (c *Client) StreamChat(ctx context.Context, req *feedbackv1.StreamChatRequest, onDelta func(content string)) (*feedbackv1.ChatCompletion, error) {
	stream, err := c.Chat.StreamChat(ctx, req)
	if err != nil {
		return nil, &StreamError{Err: err}
	}
	fail := func(err error) error {
		traceID := first(stream.Trailer(), TraceIDHeader)
		if traceID == "" {
			if header, herr := stream.Header(); herr == nil {
				traceID = first(header, TraceIDHeader)
			}
		}
		return &StreamError{TraceID: traceID, Err: err}
	}
	var completion *feedbackv1.ChatCompletion
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fail(err)
		}
		switch event := msg.GetEvent().(type) {
		case *feedbackv1.StreamChatResponse_Delta:
			if onDelta != nil {
				onDelta(event.Delta.GetContent())
			}
		case *feedbackv1.StreamChatResponse_Completion:
			completion = event.Completion
		}
	}
	if completion == nil {
		return nil, fail(ErrNoCompletion)
	}
	return completion, nil
}

// LogThumbs records a thumbs up (true) or down (false) as the boolean
// feedback "user_feedback" on target.
func (c *Client) LogThumbs(ctx context.Context, target *feedbackv1.TraceRef, up bool, rationale string, source *feedbackv1.Source) (*feedbackv1.LogFeedbackResponse, error) {
	return c.Feedback.LogFeedback(ctx, &feedbackv1.LogFeedbackRequest{
		Target:    target,
		Name:      DefaultFeedbackName,
		Value:     Bool(up),
		Rationale: rationale,
		Source:    source,
	})
}

// Retract takes back source's current judgment name ("" is user_feedback) on
// target: it stops counting and stays in MLflow, invalid. NOT_FOUND when the
// source has none.
func (c *Client) Retract(ctx context.Context, target *feedbackv1.TraceRef, name string, source *feedbackv1.Source) (*feedbackv1.RetractFeedbackResponse, error) {
	return c.Feedback.RetractFeedback(ctx, &feedbackv1.RetractFeedbackRequest{
		Target: target, Name: name, Source: source,
	})
}

// BatchResult is the outcome of one item of LogBatch: its response, or the
// error it was refused with (a gRPC status error: status.Code,
// FieldViolations and Describe work on it; field paths are the item's own).
type BatchResult struct {
	Response *feedbackv1.LogFeedbackResponse
	Err      error
}

// LogBatch records 1 to 500 judgments in one call and one durable
// transaction; each result, in request order, is the item's response or its
// own error.
func (c *Client) LogBatch(ctx context.Context, items []*feedbackv1.LogFeedbackRequest) ([]BatchResult, error) {
	resp, err := c.Feedback.BatchLogFeedback(ctx, &feedbackv1.BatchLogFeedbackRequest{Requests: items})
	if err != nil {
		return nil, err
	}
	out := make([]BatchResult, 0, len(resp.GetResults()))
	for _, r := range resp.GetResults() {
		if st := r.GetError(); st != nil {
			out = append(out, BatchResult{Err: status.FromProto(st).Err()})
		} else {
			out = append(out, BatchResult{Response: r.GetResponse()})
		}
	}
	return out, nil
}

// ListFeedback returns every assessment of the trace target refers to.
func (c *Client) ListFeedback(ctx context.Context, target *feedbackv1.TraceRef) (*feedbackv1.ListFeedbackResponse, error) {
	return c.Feedback.ListFeedback(ctx, &feedbackv1.ListFeedbackRequest{Target: target})
}

// ByTraceID refers to a trace by its MLflow trace ID.
func ByTraceID(traceID string) *feedbackv1.TraceRef {
	return &feedbackv1.TraceRef{Ref: &feedbackv1.TraceRef_TraceId{TraceId: traceID}}
}

// ByClientRequestID refers to a trace by the caller's client request ID.
func ByClientRequestID(id string) *feedbackv1.TraceRef {
	return &feedbackv1.TraceRef{Ref: &feedbackv1.TraceRef_ClientRequestId{ClientRequestId: id}}
}

// Human is a person as the source of a judgment.
func Human(id string) *feedbackv1.Source {
	return &feedbackv1.Source{Type: feedbackv1.SourceType_SOURCE_TYPE_HUMAN, Id: id}
}

// LLMJudge is an LLM judge (such as a model name) as the source of a judgment.
func LLMJudge(id string) *feedbackv1.Source {
	return &feedbackv1.Source{Type: feedbackv1.SourceType_SOURCE_TYPE_LLM_JUDGE, Id: id}
}

// Bool is a binary feedback value: true is thumbs up.
func Bool(v bool) *feedbackv1.FeedbackValue {
	return &feedbackv1.FeedbackValue{Kind: &feedbackv1.FeedbackValue_Boolean{Boolean: v}}
}

// Number is a numeric feedback value.
func Number(v float64) *feedbackv1.FeedbackValue {
	return &feedbackv1.FeedbackValue{Kind: &feedbackv1.FeedbackValue_Number{Number: v}}
}

// Category is a categorical feedback value.
func Category(v string) *feedbackv1.FeedbackValue {
	return &feedbackv1.FeedbackValue{Kind: &feedbackv1.FeedbackValue_Category{Category: v}}
}

// Text is a free-text feedback value.
func Text(v string) *feedbackv1.FeedbackValue {
	return &feedbackv1.FeedbackValue{Kind: &feedbackv1.FeedbackValue_Text{Text: v}}
}

// FormatValue renders a feedback value for logs: true, 0.8, "text", {...}.
func FormatValue(v *feedbackv1.FeedbackValue) string {
	switch kind := v.GetKind().(type) {
	case *feedbackv1.FeedbackValue_Boolean:
		return fmt.Sprint(kind.Boolean)
	case *feedbackv1.FeedbackValue_Number:
		return fmt.Sprint(kind.Number)
	case *feedbackv1.FeedbackValue_Category:
		return fmt.Sprintf("%q", kind.Category)
	case *feedbackv1.FeedbackValue_Text:
		return fmt.Sprintf("%q", kind.Text)
	case *feedbackv1.FeedbackValue_Structured:
		b, err := kind.Structured.MarshalJSON()
		if err != nil {
			return "<structured>"
		}
		return string(b)
	default:
		return "<unset>"
	}
}

func first(md metadata.MD, key string) string {
	if values := md.Get(key); len(values) > 0 {
		return values[0]
	}
	return ""
}
