// Command rshm-kafka is rshm's request and serve over Kafka (package
// kafkatransport), and the Kafka rows of `rshm bench`. It lives in the
// nested module github.com/rshm/rshm/kafkatransport, so that the Kafka
// client is a dependency of this command only, never of the rshm library;
// the rshm command hands kafka:// addresses to it.
//
// # Roles
//
//	rshm-kafka request --rr|--fnf|--stream|--channel|--metadata-push \
//	    [--data S]... [--metadata S|@FILE] [--take N] [--timeout D] \
//	    [--keepalive D] [--lifetime D] kafka://BROKERS/TOPIC[?reply=T]
//
// request makes one request over a new connection and writes the data of
// every payload that comes back to stdout, one a line, as `rshm request`
// does: --data gives the request data (repeat it to send several payloads
// on a channel, which then completes), --metadata its metadata (@FILE
// reads a file), --take N stops after N payloads, --timeout bounds the
// whole request, connecting included (0: never). --keepalive is the
// KEEPALIVE interval and --lifetime how long the requester tolerates a
// silent responder, which over Kafka is how long a responder may be down
// (default 20s and 5m).
//
//	rshm-kafka serve [-v] [--print] [--count N] [--max-age D] \
//	    kafka://BROKERS/TOPIC[?group=G]
//
// serve runs the echo responder of `rshm serve` (internal/echo) in the
// topic's consumer group: it prints "listening on URL" on stdout once it
// has joined, then serves until SIGINT or SIGTERM, on which it stops as
// kafkatransport.Listener.Shutdown does (its connections continue with the
// next responder) and exits 0. -v logs connections and requests to
// stderr, --print writes the data of each payload received to stdout,
// --count is the length of a stream whose request does not say
// ("count:N"), --max-age refuses requests that waited longer in the log.
//
//	rshm-kafka bench --cases kafka/rr/64/1,kafka/stream/1024/4 \
//	    [--suite S] [--duration 1s] [--warmup 250ms] \
//	    [--client-cpu N --server-cpu N | --nopin]
//
// (run is the same role, under the name rshm bench gives rshm-grpc's, so
// that rshm bench runs either binary with one command line.)
//
// bench measures each case against an in-process Kafka cluster (franz-go's
// kfake on a loopback port), with the requester and the responder in this
// process too, and writes one JSON object a line on stdout in the schema
// of `rshm bench -json` (benchkit.Row, transport "kafka"), as rshm-grpc
// does for the gRPC rows; the models are rr and stream. Everything shares
// one process, so the rows' server CPU is zero and the client CPU is all
// of it; the CPU flags are accepted for rshm bench's command line and
// pin nothing.
//
// # Contract with rshm
//
// The rshm command runs this binary for a kafka:// URL: it looks for
// rshm-kafka next to its own executable (or at $RSHM_KAFKA_BIN), runs it
// with the subcommand and the arguments it was given, unchanged, and
// passes stdin, stdout and stderr through. The exit status is 0 on
// success, 1 on a failure (the message on stderr, prefixed "rshm-kafka:"),
// 2 on a usage error (the usage after the message); a flag this binary
// does not know is a usage error, so that rshm can say which of its flags
// do not apply to Kafka.
package main
