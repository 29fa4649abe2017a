// Package rshmbench is `rshm bench`: the comparison a user runs before
// choosing a transport. It measures rshm over shared memory (one row per
// wait strategy), rshm's RSocket over TCP, and the baselines a user would
// otherwise write or pick, a length-prefixed echo over raw TCP and over a
// Unix socket and gRPC-go over TCP and over a Unix socket, on the same
// machine, in the same run, on the same two CPUs; and rshm's RSocket over
// Kafka (request-response and stream), to show what a log costs beside
// them.
//
// The gRPC and the Kafka rows come from other binaries, rshm-grpc (module
// github.com/rshm/rshm/bench/grpcbench, built by make grpc-bench) and
// rshm-kafka (module github.com/rshm/rshm/kafkatransport, built by make
// kafka-bench), so that neither gRPC-go nor the Kafka client is a
// dependency of the rshm module: Run runs each for its rows after the
// other transports and merges the rows it writes, which it measures with
// benchkit.Measure (see external.go). rshm-kafka measures against a Kafka
// cluster in its own process (franz-go's kfake), with the requester and
// the responder in that process too. Without a binary, Run says so and
// skips its rows. What they share, the matrix's types
// (benchkit.Transport, benchkit.Model, benchkit.Case), the measurement
// (benchkit.Collect) and its benchkit.Row, is package internal/benchkit.
//
// # Processes
//
// Run (the client) re-executes the current binary as the server with
// ChildEnv set in its environment; the rshm command runs ServeChild when it
// sees it, and so does a test binary's TestMain. The client pins itself to
// the first CPU of affinity.BestPair and tells the server to pin itself to
// the second. The two talk over a control channel, the server's stdin and
// stdout, one JSON object a line (see control.go): the client asks it to
// listen on a transport, to report its CPU time, and to stop. Each process
// measures its own CPU time with getrusage(RUSAGE_SELF). A pinned process
// runs with GOMAXPROCS 1, which is what the runtime gives a process started
// on one CPU and converges to after PinProcess; with one P per side, a
// spinning wait strategy competes with its own process's goroutines, as it
// would for a user on two cores.
//
// # Measurements
//
// One measurement is a transport, an interaction model, a payload size and
// a concurrency. Workers run for a warm-up (of a fixed time, and then until
// each has done 8 operations, at most 5 s in all: the first messages of 64
// streams of 1 MiB fault in hundreds of MiB of buffers), then for the
// measured window, recording every operation into their own histogram
// (package hist), which are merged at the end. Per model:
//
//   - rr: one request-response round trip is a message; latency is the
//     round trip, timed with package tsc.
//   - fnf: the client sends up to 64 requests (64 KiB) at a time
//     (Conn.FireAndForgetBatch); a request's latency is its share of the
//     time the call takes to return (the send); msgs/s counts what the
//     server's handler received in the window.
//   - stream: the server streams size-byte payloads stamped with its wall
//     clock; latency is the one-way delay from that stamp to Recv (under
//     saturation, so it includes queueing in the flow-control window). The
//     rshm server hands its writer up to 64 payloads (64 KiB) at a time
//     (StreamWriter.SendBatch), as the raw server fills a 64 KiB buffer
//     before each write. Over TCP and WebSocket both batch calls send one
//     payload at a time.
//   - channel: a ping-pong over one request-channel: Send then Recv.
//
// bytes/s counts each message's payload once. Concurrency n runs n
// goroutines: on one rshm connection for rshm transports, on n connections
// for the raw baselines (a raw socket has no multiplexing), on one gRPC
// ClientConn (HTTP/2 streams) for gRPC, on one connection (its reply topic)
// for Kafka. CPU time per message is each process's getrusage delta over
// the window divided by the messages of the window; cpu_ns_per_msg in the
// JSON is their sum. rshm-kafka's one process counts as the client, so its
// rows have no server CPU.
package rshmbench
