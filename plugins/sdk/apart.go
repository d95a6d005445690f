package sdk

import (
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// apartReason names an ApartError in a status's ErrorInfo detail, whose
// metadata carries the step.
const apartReason = "REPLICAS_APART"

// apartStatus is an ApartError as a gRPC status: FailedPrecondition, msg,
// and an ErrorInfo detail with the step.
func apartStatus(step int64, msg string) error {
	st := status.New(codes.FailedPrecondition, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: apartReason, Domain: "convirt", Metadata: map[string]string{"step": strconv.FormatInt(step, 10)}}); err == nil {
		st = d
	}
	return st.Err()
}

// apartStep reads the step of an ApartError's status; false for any other
// status.
func apartStep(st *status.Status) (int64, bool) {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Reason == apartReason && info.Domain == "convirt" {
			step, err := strconv.ParseInt(info.Metadata["step"], 10, 64)
			return step, err == nil && step >= 0
		}
	}
	return 0, false
}
