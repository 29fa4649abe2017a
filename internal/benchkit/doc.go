// Package benchkit is the measuring kit that `rshm bench` (package
// cmd/rshm/internal/rshmbench) shares with the binaries that measure its
// external transports, rshm-grpc (the gRPC-go baseline, the nested module
// bench/grpcbench) and rshm-kafka (the Kafka transport, the nested module
// kafkatransport), so that the rows of all of them are measured and
// written exactly alike:
//
//   - the matrix's types: Transport, Model and Case, with the case syntax
//     of those binaries' command line (FormatCases, ParseCases);
//   - the stream request and the payload stamp of a stream server
//     (StreamRequest, ParseStreamRequest, Stamp);
//   - the measurement itself: Measure, or Collect then NewRow, driving
//     Workers, reading each process's CPU time (CPUTime), and giving a Row,
//     the schema of rshm bench's -json.
//
// It lives under the module's internal/, where the nested modules may
// import it, and, as everything there, imports nothing of package rshm.
package benchkit
