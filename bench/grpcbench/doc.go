// Command rshm-grpc is the gRPC-go baseline of `rshm bench`: the same
// measurements as the rshm, raw TCP and raw Unix-socket rows, over gRPC-go
// on TCP and on a Unix socket, written as the same JSON rows. It lives in
// its own module, github.com/rshm/rshm/bench/grpcbench, so that gRPC-go is
// a dependency of this command only, never of the rshm library.
//
// # Roles
//
//	rshm-grpc run --cases grpc-tcp/rr/64/1,grpc-unix/stream/16384/1 \
//	    [--suite quick] [--duration 1s] [--warmup 250ms] \
//	    [--client-cpu 0 --server-cpu 1 | --nopin]
//	rshm-grpc run --transport grpc-tcp --model rr --size 64 --concurrency 1
//
// run measures each case and writes one JSON object a line on stdout, in
// exactly the schema of `rshm bench -json` (the benchkit.Row type, with
// benchkit.Measure doing the measuring). It re-executes itself as the
// server, pins itself to the client CPU and the server to the server CPU
// (affinity.BestPair unless given; GOMAXPROCS 1 on each side, as rshm
// bench does), and talks to the server over the server's stdin and stdout.
//
//	rshm-grpc serve --listen tcp://127.0.0.1:0 [--listen unix:///path] [--cpu N]
//
// serve listens on every address, prints one JSON line with the addresses
// it got (and its pid, pinning and GOMAXPROCS), then answers each "usage"
// line on stdin with its CPU time as JSON, until stdin closes or SIGTERM.
//
// # The service
//
// No protoc: service rshm.bench.Bench is a hand-written grpc.ServiceDesc
// with a raw-bytes codec (rawCodec, an encoding.CodecV2 forced on both
// sides), the equivalent of a .proto with one bytes field per message:
//
//	rpc Echo(bytes) returns (bytes);              // request-response
//	rpc Stream(bytes) returns (stream bytes);     // request "size:N"
//
// Echo returns its request. Stream answers "size:N" (benchkit.StreamRequest)
// with N-byte payloads, each stamped with the server's wall clock
// (benchkit.Stamp), until the client cancels; the client's latency is the
// one-way delay from the stamp. Everything else is gRPC-go's defaults, as a
// user would have them: one ClientConn per measurement shared by its
// goroutines (HTTP/2 multiplexing, as rshm multiplexes one connection),
// insecure credentials, default flow-control windows, receive limits raised
// to benchkit.MaxSize.
package main
