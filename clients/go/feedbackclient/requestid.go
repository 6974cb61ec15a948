package feedbackclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	feedbackv1 "github.com/feedback-service/feedback/clients/go/feedback/v1"
	"google.golang.org/grpc"
)

// NewRequestID returns a fresh idempotency key (32 hexadecimal characters).
func NewRequestID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// FillRequestID sets a fresh request_id on a write request (LogFeedback,
// LogRatings, LogExpectation, RetractFeedback, each item of BatchLogFeedback)
// whose request_id is empty, in place, and leaves a set one alone. Sending
// the same message again is then a retry: the service stores nothing twice
// and answers as it did the first time.
func FillRequestID(req any) {
	fill := func(id *string) {
		if *id == "" {
			*id = NewRequestID()
		}
	}
	switch r := req.(type) {
	case *feedbackv1.LogFeedbackRequest:
		fill(&r.RequestId)
	case *feedbackv1.LogRatingsRequest:
		fill(&r.RequestId)
	case *feedbackv1.LogExpectationRequest:
		fill(&r.RequestId)
	case *feedbackv1.RetractFeedbackRequest:
		fill(&r.RequestId)
	case *feedbackv1.BatchLogFeedbackRequest:
		for _, item := range r.GetRequests() {
			if item != nil {
				fill(&item.RequestId)
			}
		}
	}
}

// requestIDs is the unary interceptor New installs: every write gets its
// request_id before its first attempt, so the channel's own retries (and a
// caller resending the message) carry the same one.
func requestIDs(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	FillRequestID(req)
	return invoker(ctx, method, req, reply, cc, opts...)
}
