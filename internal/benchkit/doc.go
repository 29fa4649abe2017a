// Package benchkit is the measuring kit that `rshm bench` (package
// cmd/rshm/internal/rshmbench) shares with its gRPC-go baseline, rshm-grpc
// (the nested module bench/grpcbench), so that the rows of both are
// measured and written exactly alike:
//
//   - the matrix's types: Transport, Model and Case, with the case syntax
//     of rshm-grpc's command line (FormatCases, ParseCases);
//   - the stream request and the payload stamp of a stream server
//     (StreamRequest, ParseStreamRequest, Stamp);
//   - the measurement itself: Measure, or Collect then NewRow, driving
//     Workers, reading each process's CPU time (CPUTime), and giving a Row,
//     the schema of rshm bench's -json.
//
// It lives under the module's internal/, where rshm-grpc may import it,
// and, as everything there, imports nothing of package rshm.
package benchkit
