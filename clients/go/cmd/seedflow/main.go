// Command seedflow runs the feedback service's seed flow against
// $FEEDBACK_ADDR (default 127.0.0.1:50051):
//
//  1. Chat("What is MLflow?"), then a thumbs-down on its trace by trace ID,
//     changed to a thumbs-up (the same user: it supersedes the thumbs-down),
//     a batch of two judgments (one valid, one refused on its own), and the
//     thumbs-up retracted;
//  2. StreamChat with its own client request ID, reading deltas until the
//     completion, then ratings (accuracy 4, helpfulness 5) by that ID;
//  3. ListFeedback on both traces, checking that every judgment is listed;
//  4. an invalid call, checking the INVALID_ARGUMENT + BadRequest error.
//
// It prints KEY=VALUE lines for machine checks and exits non-zero on any
// failure.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	feedbackv1 "github.com/feedback-service/feedback/clients/go/feedback/v1"
	fc "github.com/feedback-service/feedback/clients/go/feedbackclient"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	userID    = "enduser_123"
	rationale = "Missing details about MLflow's key features like Projects and Model Registry"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "seedflow: FAILED: %s\n", fc.Describe(err))
		fmt.Println("RESULT=FAILED")
		os.Exit(1)
	}
	fmt.Println("RESULT=OK")
}

func run() error {
	addr := fc.AddrFromEnv()
	var client *fc.Client
	var err error
	if tlsOpts := fc.TLSFromEnv(); tlsOpts != nil {
		client, err = fc.NewTLS(addr, *tlsOpts)
	} else {
		client, err = fc.New(addr)
	}
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fmt.Println("LANG=go")
	fmt.Println("ADDR=" + addr)
	session := "go-session-" + randomHex(8)

	// 1. A unary chat turn, judged thumbs-down by its trace ID.
	chat, err := client.Chat.Chat(ctx, &feedbackv1.ChatRequest{
		Message: "What is MLflow?", UserId: userID, SessionId: session,
	})
	if err != nil {
		return fmt.Errorf("Chat: %w", err)
	}
	fmt.Printf("chat: %q\n", chat.GetResponse())
	fmt.Println("TRACE_ID=" + chat.GetTraceId())
	fmt.Println("CHAT_CLIENT_REQUEST_ID=" + chat.GetClientRequestId())
	fb, err := client.Feedback.LogFeedback(ctx, &feedbackv1.LogFeedbackRequest{
		Target:    fc.ByTraceID(chat.GetTraceId()),
		Name:      "user_feedback",
		Value:     fc.Bool(false),
		Rationale: rationale,
		Source:    fc.Human(userID),
		RequestId: "go-" + randomHex(16),
	})
	if err != nil {
		return fmt.Errorf("LogFeedback: %w", err)
	}
	fmt.Printf("feedback: thumbs-down stored as %s (%s)\n", fb.GetAssessmentId(), fb.GetState())
	fmt.Println("FEEDBACK_ASSESSMENT_ID=" + fb.GetAssessmentId())
	fmt.Println("FEEDBACK_STATE=" + fb.GetState().String())
	if err := changeBatchRetract(ctx, client, chat.GetTraceId(), fb.GetAssessmentId()); err != nil {
		return err
	}

	// 2. A streamed chat turn with our own client request ID, rated by that ID.
	clientRequestID := "go-" + randomHex(16)
	var text strings.Builder
	deltas := 0
	completion, err := client.StreamChat(ctx, &feedbackv1.StreamChatRequest{
		Message: "What is MLflow?", ClientRequestId: clientRequestID, UserId: userID, SessionId: session,
	}, func(content string) {
		deltas++
		text.WriteString(content)
	})
	if err != nil {
		return fmt.Errorf("StreamChat: %w", err)
	}
	fmt.Printf("stream: %d deltas, %q\n", deltas, completion.GetResponse())
	fmt.Println("CLIENT_REQUEST_ID=" + clientRequestID)
	fmt.Println("STREAM_TRACE_ID=" + completion.GetTraceId())
	fmt.Printf("STREAM_DELTAS=%d\n", deltas)
	if completion.GetClientRequestId() != clientRequestID {
		return fmt.Errorf("StreamChat: completion has client_request_id %q, want %q", completion.GetClientRequestId(), clientRequestID)
	}
	if text.String() != completion.GetResponse() {
		return fmt.Errorf("StreamChat: deltas %q do not add up to the completion %q", text.String(), completion.GetResponse())
	}
	ratings, err := client.Feedback.LogRatings(ctx, &feedbackv1.LogRatingsRequest{
		Target:    fc.ByClientRequestID(clientRequestID),
		Ratings:   map[string]int32{"accuracy": 4, "helpfulness": 5},
		ScaleMax:  5,
		Rationale: "Accurate and helpful overview",
		Source:    fc.Human(userID),
		RequestId: "go-" + randomHex(16),
	})
	if err != nil {
		return fmt.Errorf("LogRatings: %w", err)
	}
	ids := make([]string, 0, len(ratings.GetResults()))
	for _, r := range ratings.GetResults() {
		fmt.Printf("rating: %s = %g stored as %s\n", r.GetName(), r.GetValue(), r.GetAssessmentId())
		ids = append(ids, r.GetAssessmentId())
	}
	fmt.Println("RATINGS_ASSESSMENT_IDS=" + strings.Join(ids, ","))
	fmt.Println("RATINGS_STATE=" + ratings.GetState().String())

	// 3. Both traces list every judgment (stored or still queued).
	if err := checkList(ctx, client, fc.ByTraceID(chat.GetTraceId()), chat.GetTraceId(),
		map[string]any{"user_feedback": false}); err != nil {
		return err
	}
	if err := checkList(ctx, client, fc.ByClientRequestID(clientRequestID), completion.GetTraceId(),
		map[string]any{"user_accuracy": 0.8, "user_helpfulness": 1.0}); err != nil {
		return err
	}

	// 4. Errors are typed: a malformed trace ID is INVALID_ARGUMENT with a
	// google.rpc.BadRequest naming the field.
	_, err = client.LogThumbs(ctx, fc.ByTraceID("not-a-trace-id"), true, "", fc.Human(userID))
	if status.Code(err) != codes.InvalidArgument {
		return fmt.Errorf("LogFeedback with a malformed trace ID: got %s, want INVALID_ARGUMENT", fc.Describe(err))
	}
	violations := fc.FieldViolations(err)
	if len(violations) == 0 {
		return fmt.Errorf("LogFeedback with a malformed trace ID: no google.rpc.BadRequest details in %s", fc.Describe(err))
	}
	fields := make([]string, 0, len(violations))
	for _, v := range violations {
		fields = append(fields, v.GetField())
	}
	fmt.Printf("error: %s\n", fc.Describe(err))
	fmt.Println("ERROR_CODE=" + fc.CodeName(err))
	fmt.Println("ERROR_FIELDS=" + strings.Join(fields, ","))
	return nil
}

// changeBatchRetract changes the user's vote (no request_id given: the client
// sets one), logs a batch with one bad item, then retracts the changed vote.
func changeBatchRetract(ctx context.Context, client *fc.Client, traceID, downID string) error {
	up, err := client.LogThumbs(ctx, fc.ByTraceID(traceID), true, "", fc.Human(userID))
	if err != nil {
		return fmt.Errorf("LogFeedback (changed vote): %w", err)
	}
	if up.GetSupersededAssessmentId() != downID {
		return fmt.Errorf("changed vote supersedes %q, want %q", up.GetSupersededAssessmentId(), downID)
	}
	fmt.Println("CHANGED_ASSESSMENT_ID=" + up.GetAssessmentId())
	results, err := client.LogBatch(ctx, []*feedbackv1.LogFeedbackRequest{
		{Target: fc.ByTraceID(traceID), Name: "interop_batch", Value: fc.Category("clear"), Source: fc.Human(userID)},
		{Target: fc.ByTraceID("tr-bad"), Value: fc.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("BatchLogFeedback: %w", err)
	}
	if len(results) != 2 || results[0].Err != nil || status.Code(results[1].Err) != codes.InvalidArgument {
		return fmt.Errorf("BatchLogFeedback: unexpected results %+v", results)
	}
	fmt.Println("BATCH_ASSESSMENT_ID=" + results[0].Response.GetAssessmentId())
	fmt.Println("BATCH_ERROR=" + fc.Describe(results[1].Err))
	retracted, err := client.Retract(ctx, fc.ByTraceID(traceID), "", fc.Human(userID))
	if err != nil {
		return fmt.Errorf("RetractFeedback: %w", err)
	}
	if retracted.GetAssessmentId() != up.GetAssessmentId() {
		return fmt.Errorf("retracted %q, want %q", retracted.GetAssessmentId(), up.GetAssessmentId())
	}
	fmt.Println("RETRACTED_ASSESSMENT_ID=" + retracted.GetAssessmentId())
	return nil
}

// checkList lists the assessments of target and checks that each expected
// feedback (name -> bool or float64 value) from userID is among them.
func checkList(ctx context.Context, client *fc.Client, target *feedbackv1.TraceRef, wantTraceID string, want map[string]any) error {
	list, err := client.ListFeedback(ctx, target)
	if err != nil {
		return fmt.Errorf("ListFeedback: %w", err)
	}
	if list.GetTraceId() != wantTraceID {
		return fmt.Errorf("ListFeedback: trace_id %q, want %q", list.GetTraceId(), wantTraceID)
	}
	fmt.Printf("list %s: %d assessments\n", list.GetTraceId(), len(list.GetAssessments()))
	found := map[string]bool{}
	for _, a := range list.GetAssessments() {
		fmt.Printf("  %s %s = %s by %s:%s (%s)\n", a.GetAssessmentId(), a.GetName(),
			fc.FormatValue(a.GetFeedback()), a.GetSource().GetType(), a.GetSource().GetId(), a.GetState())
		expected, ok := want[a.GetName()]
		if !ok || a.GetSource().GetId() != userID || a.GetSource().GetType() != feedbackv1.SourceType_SOURCE_TYPE_HUMAN {
			continue
		}
		switch v := expected.(type) {
		case bool:
			if b, isBool := a.GetFeedback().GetKind().(*feedbackv1.FeedbackValue_Boolean); isBool && b.Boolean == v {
				found[a.GetName()] = true
			}
		case float64:
			if n, isNum := a.GetFeedback().GetKind().(*feedbackv1.FeedbackValue_Number); isNum && math.Abs(n.Number-v) < 1e-9 {
				found[a.GetName()] = true
			}
		}
	}
	for name := range want {
		if !found[name] {
			return fmt.Errorf("ListFeedback %s: no %s = %v from %s", wantTraceID, name, want[name], userID)
		}
	}
	fmt.Printf("LIST_OK=%s\n", list.GetTraceId())
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
