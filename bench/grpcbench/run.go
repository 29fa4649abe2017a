package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/rshm/rshm/affinity"
	"github.com/rshm/rshm/internal/benchkit"
	"google.golang.org/grpc"
)

// runConfig is run's command line.
type runConfig struct {
	suite          string
	cases          []benchkit.Case
	duration, warm time.Duration
	noPin          bool
	clientCPU      int // negative: affinity.BestPair's
	serverCPU      int
}

// Defaults of run's flags.
const (
	defaultDuration = time.Second
	defaultWarmup   = 250 * time.Millisecond
)

func parseRun(args []string, stderr io.Writer) (*runConfig, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &runConfig{}
	var cases, transport, model string
	var size, conc int
	fs.StringVar(&cases, "cases", "", "cases to measure: `T/M/SIZE/C`,... (e.g. grpc-tcp/rr/64/1); else the single case of the next four flags")
	fs.StringVar(&transport, "transport", "", "grpc-tcp or grpc-unix")
	fs.StringVar(&model, "model", "rr", "rr or stream")
	fs.IntVar(&size, "size", 64, "payload bytes")
	fs.IntVar(&conc, "concurrency", 1, "goroutines sharing the connection")
	fs.StringVar(&cfg.suite, "suite", "full", "the rows' suite field")
	fs.DurationVar(&cfg.duration, "duration", defaultDuration, "measured window of each case")
	fs.DurationVar(&cfg.warm, "warmup", defaultWarmup, "unrecorded warm-up before each window (0: none)")
	fs.BoolVar(&cfg.noPin, "nopin", false, "leave the client and the server unpinned")
	fs.IntVar(&cfg.clientCPU, "client-cpu", -1, "pin the client to this CPU (negative: affinity.BestPair's)")
	fs.IntVar(&cfg.serverCPU, "server-cpu", -1, "pin the server to this CPU (negative: affinity.BestPair's)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if cases == "" {
		if transport == "" {
			return nil, fmt.Errorf("%w: run needs --cases or --transport", errUsage)
		}
		cases = fmt.Sprintf("%s/%s/%d/%d", transport, model, size, conc)
	}
	var err error
	if cfg.cases, err = benchkit.ParseCases(cases); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, c := range cfg.cases {
		if c.Transport != benchkit.GRPCTCP && c.Transport != benchkit.GRPCUnix {
			return nil, fmt.Errorf("%w: rshm-grpc measures grpc-tcp and grpc-unix, not %v", errUsage, c.Transport)
		}
	}
	if cfg.duration <= 0 || cfg.warm < 0 {
		return nil, fmt.Errorf("%w: --duration must be positive and --warmup not negative", errUsage)
	}
	if (cfg.clientCPU < 0) != (cfg.serverCPU < 0) {
		return nil, fmt.Errorf("%w: give both --client-cpu and --server-cpu, or neither", errUsage)
	}
	return cfg, nil
}

// cpus returns the client's and the server's CPU: the configured ones, or
// affinity.BestPair's.
func (cfg *runConfig) cpus() (client, server int, err error) {
	if cfg.clientCPU >= 0 {
		return cfg.clientCPU, cfg.serverCPU, nil
	}
	topo, err := affinity.Topology()
	if err != nil {
		return -1, -1, err
	}
	allowed, err := affinity.Allowed()
	if err != nil {
		return -1, -1, err
	}
	return affinity.BestPair(topo, allowed)
}

// runCases measures cfg.cases against a server process and writes a row
// each, as JSON, on out; what it did about pinning goes to info.
func runCases(ctx context.Context, cfg *runConfig, out, info io.Writer) error {
	clientCPU, serverCPU := -1, -1
	pinNote := "unpinned (--nopin)"
	if !cfg.noPin {
		var err error
		if clientCPU, serverCPU, err = cfg.cpus(); err != nil {
			clientCPU, serverCPU = -1, -1
			pinNote = "unpinned: " + err.Error()
		}
	}
	dir, err := os.MkdirTemp("", "rshm-grpc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := startServer(ctx, []string{"tcp://127.0.0.1:0", "unix://" + filepath.Join(dir, "grpc.sock")}, serverCPU)
	if err != nil {
		return err
	}
	defer srv.close()
	if clientCPU >= 0 {
		restore, err := affinity.PinProcess(clientCPU)
		if err != nil {
			pinNote = "client unpinned: " + err.Error()
		} else {
			defer restore()
			runtime.GOMAXPROCS(1) // one CPU, one P, as rshm bench's client
			defer runtime.SetDefaultGOMAXPROCS()
			pinNote = fmt.Sprintf("client on CPU %d, server on CPU %d", clientCPU, serverCPU)
		}
		if srv.hello.PinErr != "" {
			pinNote += " (server unpinned: " + srv.hello.PinErr + ")"
		}
	}
	fmt.Fprintf(info, "rshm-grpc: gRPC-go %s, %s, GOMAXPROCS %d client / %d server\n",
		grpc.Version, pinNote, runtime.GOMAXPROCS(0), srv.hello.GOMAXPROCS)
	targets := map[benchkit.Transport]string{}
	for _, a := range srv.hello.Addrs {
		switch {
		case strings.HasPrefix(a, "tcp://"):
			targets[benchkit.GRPCTCP] = grpcTarget(a)
		case strings.HasPrefix(a, "unix://"):
			targets[benchkit.GRPCUnix] = grpcTarget(a)
		}
	}
	enc := json.NewEncoder(out)
	for _, c := range cfg.cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		row := measureCase(ctx, cfg.suite, c, targets[c.Transport], cfg.warm, cfg.duration, srv.usage)
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// grpcTarget turns serve's address into a gRPC dial target: tcp://H:P is
// passthrough:///H:P (no resolver), unix:///PATH is one already.
func grpcTarget(addr string) string {
	if a, ok := strings.CutPrefix(addr, "tcp://"); ok {
		return "passthrough:///" + a
	}
	return addr
}
