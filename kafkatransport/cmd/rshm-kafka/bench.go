package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
	"github.com/rshm/rshm/kafkatransport"
	"github.com/rshm/rshm/rsocket"
	"github.com/twmb/franz-go/pkg/kfake"
)

// transportName is the rows' transport.
var transportName = benchkit.Kafka.String()

// benchTopic is the request topic of the in-process cluster.
const benchTopic = "rshm-bench"

// Defaults of bench's flags, as rshm-grpc's.
const (
	defaultDuration = time.Second
	defaultWarmup   = 250 * time.Millisecond
	// readyTimeout bounds the connecting of a measurement.
	readyTimeout = 30 * time.Second
)

// benchConfig is bench's command line.
type benchConfig struct {
	suite          string
	cases          []benchkit.Case
	duration, warm time.Duration
}

func parseBench(args []string) (*benchConfig, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	cfg := &benchConfig{}
	cases := fs.String("cases", transportName+"/rr/64/1", "cases to measure: `kafka/MODEL/SIZE/C`,... (MODEL rr or stream)")
	fs.StringVar(&cfg.suite, "suite", "full", "the rows' suite field")
	fs.DurationVar(&cfg.duration, "duration", defaultDuration, "measured window of each case")
	fs.DurationVar(&cfg.warm, "warmup", defaultWarmup, "unrecorded warm-up before each window (0: none)")
	fs.Bool("nopin", false, "accepted for rshm bench's command line: nothing is pinned")
	fs.Int("client-cpu", -1, "accepted for rshm bench's command line: nothing is pinned")
	fs.Int("server-cpu", -1, "accepted for rshm bench's command line: nothing is pinned")
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if cfg.cases, err = parseCases(*cases); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if cfg.duration <= 0 || cfg.warm < 0 {
		return nil, fmt.Errorf("%w: --duration must be positive and --warmup not negative", errUsage)
	}
	return cfg, nil
}

// parseCases reads kafka/MODEL/SIZE/C,... (benchkit.ParseCases) and
// refuses the cases of other transports.
func parseCases(s string) ([]benchkit.Case, error) {
	cs, err := benchkit.ParseCases(s)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.Transport != benchkit.Kafka {
			return nil, fmt.Errorf("case %v: rshm-kafka measures %s only", c, transportName)
		}
	}
	return cs, nil
}

// bench implements "rshm-kafka bench".
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseBench(args)
	if err != nil {
		return err
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return err
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	l, err := kafkatransport.Listen(ctx, brokers, benchTopic, kafkatransport.Config{})
	if err != nil {
		return err
	}
	defer l.Close()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go l.Serve(sctx, rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return benchEcho{}, nil
	}})
	fmt.Fprintf(stderr, "rshm-kafka: kfake in process at %s, requester and responder in process too, unpinned, GOMAXPROCS %d\n",
		strings.Join(brokers, ","), runtime.GOMAXPROCS(0))
	enc := json.NewEncoder(stdout)
	for _, c := range cfg.cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		row := measureCase(ctx, cfg, c, brokers)
		row.Transport = transportName
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// measureCase measures c over a connection of its own, shared by its
// c.Concurrency goroutines.
func measureCase(ctx context.Context, cfg *benchConfig, c benchkit.Case, brokers []string) benchkit.Row {
	fail := func(err error) benchkit.Row {
		r := benchkit.NewRow(cfg.suite, c, nil)
		r.Err = err.Error()
		return r
	}
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	t, err := kafkatransport.Dial(rctx, brokers, benchTopic, kafkatransport.Config{})
	if err != nil {
		return fail(err)
	}
	// 64 streams of 1 MiB payloads, fragmented over Kafka's records,
	// hold more partial messages at once than the default reassembly
	// budget.
	conn, err := rsocket.Client(rctx, t, rsocket.ClientConfig{MaxReassemblyBytes: 256 << 20})
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	if _, err := conn.RequestResponse(rctx, rsocket.Payload{Data: []byte("ready")}); err != nil {
		return fail(err)
	}
	work := func(ctx context.Context, w *benchkit.Worker) { rr(ctx, conn, c.Size, w) }
	if c.Model == benchkit.Stream {
		work = func(ctx context.Context, w *benchkit.Worker) { stream(ctx, conn, c.Size, w) }
	}
	// The responder runs in this process: its CPU is in the client's.
	none := func() (int64, int64, error) { return 0, 0, nil }
	return benchkit.Measure(ctx, cfg.suite, c, cfg.warm, cfg.duration, work, none)
}

func rr(ctx context.Context, conn *rsocket.Conn, size int, w *benchkit.Worker) {
	req := rsocket.Payload{Data: make([]byte, size)}
	for !w.Stopping() {
		t0 := w.Begin()
		r, err := conn.RequestResponse(ctx, req)
		if err != nil {
			w.Fail(err)
			return
		}
		if len(r.Data) != size {
			w.Fail(fmt.Errorf("rshm-kafka: response of %d bytes, want %d", len(r.Data), size))
			return
		}
		w.End(t0)
	}
}

func stream(ctx context.Context, conn *rsocket.Conn, size int, w *benchkit.Worker) {
	s, err := conn.RequestStream(ctx, rsocket.Payload{Data: benchkit.StreamRequest(size)})
	if err != nil {
		w.Fail(err)
		return
	}
	defer s.Close()
	for !w.Stopping() {
		r, err := s.Recv()
		if err != nil {
			w.Fail(err)
			return
		}
		if len(r.Data) != size {
			w.Fail(fmt.Errorf("rshm-kafka: stream payload of %d bytes, want %d", len(r.Data), size))
			return
		}
		w.Received(r.Data)
	}
}

// benchEcho is the responder of bench: request-response echoes, a stream
// answers "size:N" with stamped N-byte payloads until cancelled.
type benchEcho struct{ rsocket.RejectAll }

func (benchEcho) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p.Clone(), nil
}

func (benchEcho) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	size, err := benchkit.ParseStreamRequest(p.Data)
	if err != nil {
		return &rsocket.Error{Code: rsocket.CodeInvalid, Message: "want size:" + strconv.Itoa(size)}
	}
	out := rsocket.Payload{Data: make([]byte, size)}
	for {
		benchkit.Stamp(out.Data)
		if err := w.Send(ctx, out); err != nil {
			return err
		}
	}
}
