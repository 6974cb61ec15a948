package feedbackclient

import (
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FieldViolations returns the google.rpc.BadRequest field violations carried
// by an INVALID_ARGUMENT error (the service names every offending field, such
// as "target.trace_id"), or nil when err carries none. It sees through
// wrapping, including *StreamError.
func FieldViolations(err error) []*errdetails.BadRequest_FieldViolation {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	var out []*errdetails.BadRequest_FieldViolation
	for _, detail := range st.Details() {
		if br, ok := detail.(*errdetails.BadRequest); ok {
			out = append(out, br.GetFieldViolations()...)
		}
	}
	return out
}

// Describe renders a gRPC error as "CODE: message [field: description; ...]".
func Describe(err error) string {
	if err == nil {
		return "OK"
	}
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	s := fmt.Sprintf("%s: %s", codeName(st.Code()), st.Message())
	if fvs := FieldViolations(err); len(fvs) > 0 {
		parts := make([]string, 0, len(fvs))
		for _, fv := range fvs {
			parts = append(parts, fv.GetField()+": "+fv.GetDescription())
		}
		s += " [" + strings.Join(parts, "; ") + "]"
	}
	return s
}

// codeName is the canonical upper-case name, such as INVALID_ARGUMENT.
func codeName(c codes.Code) string {
	names := map[codes.Code]string{
		codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
		codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
		codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
		codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
		codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
		codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED",
		codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS",
		codes.Unauthenticated: "UNAUTHENTICATED",
	}
	if n, ok := names[c]; ok {
		return n
	}
	return c.String()
}

// CodeName is the canonical name of err's gRPC status code, such as
// "NOT_FOUND" ("OK" for nil, "UNKNOWN" for non-gRPC errors).
func CodeName(err error) string { return codeName(status.Code(err)) }
