package rshmbench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
)

// Some transports are measured by another binary, built from a nested
// module of its own so that their dependencies stay out of the rshm module
// (binaries lists them): the gRPC baselines (grpc-tcp, grpc-unix) by
// rshm-grpc (bench/grpcbench), the Kafka transport (kafka) by rshm-kafka
// (kafkatransport/cmd/rshm-kafka). Run starts each binary once for all of its
// cases, after the transports it measures itself, with one command line
// for every binary:
//
//	rshm-grpc run --suite quick --duration 400ms --warmup 100ms \
//	    --cases grpc-tcp/rr/64/1,... --client-cpu 0 --server-cpu 1
//
// The binary measures each case with benchkit.Measure and writes one
// benchkit.Row a line, as JSON, on stdout, in the order of --cases; its
// stderr is kept for the output's note and error messages. rshm-grpc runs
// its server in a process of its own, both pinned as Run pins its own;
// rshm-kafka runs the requester, the responder and an in-process Kafka
// cluster (franz-go's kfake) in one unpinned process, whose CPU time its
// rows count as the client's.

// GRPCBinEnv names the environment variable that gives the rshm-grpc
// binary's path (see Config.GRPCBinary).
const GRPCBinEnv = "RSHM_GRPC_BIN"

// GRPCMissing is printed, and the gRPC rows skipped, when there is no
// rshm-grpc binary to run.
const GRPCMissing = "rshm-grpc not built; run make grpc-bench"

// KafkaBinEnv names the environment variable that gives the rshm-kafka
// binary's path (see Config.KafkaBinary); the rshm command runs the same
// binary for kafka:// addresses.
const KafkaBinEnv = "RSHM_KAFKA_BIN"

// KafkaMissing is printed, and the Kafka rows skipped, when there is no
// rshm-kafka binary to run.
const KafkaMissing = "rshm-kafka not built; run make kafka-bench"

// extBinary is an external binary and the transports it measures.
type extBinary struct {
	label      string // what Run's output lines about it begin with
	name       string // its file name next to the running executable
	env        string // the environment variable that gives its path
	missing    string // Run's note when there is none: how to build it
	src        string // its main package's directory in the repository
	transports []benchkit.Transport
	configured func(*Config) string // the Config field that gives its path
}

// binaries are the external binaries, in the order Run runs them. Every
// transport that is External is measured by exactly one of them.
var binaries = []extBinary{
	{label: "grpc", name: "rshm-grpc", env: GRPCBinEnv, missing: GRPCMissing, src: "bench/grpcbench",
		transports: []benchkit.Transport{benchkit.GRPCTCP, benchkit.GRPCUnix},
		configured: func(c *Config) string { return c.GRPCBinary }},
	{label: "kafka", name: "rshm-kafka", env: KafkaBinEnv, missing: KafkaMissing, src: "kafkatransport/cmd/rshm-kafka",
		transports: []benchkit.Transport{benchkit.Kafka},
		configured: func(c *Config) string { return c.KafkaBinary }},
}

// find looks for b: its Config field, else its environment variable, else
// its name in the running executable's directory. It returns the path
// looked at, and false when no executable file is there.
func (b *extBinary) find(cfg *Config) (string, bool) {
	p := b.configured(cfg)
	if p == "" {
		p = os.Getenv(b.env)
	}
	if p == "" {
		exe, err := os.Executable()
		if err != nil {
			return b.name, false
		}
		p = filepath.Join(filepath.Dir(exe), b.name)
	}
	st, err := os.Stat(p)
	return p, err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// splitExternal separates the cases Run measures in this process from
// those of each external binary (external[i] for binaries[i]), keeping the
// order of each.
func splitExternal(cases []benchkit.Case) (local []benchkit.Case, external [][]benchkit.Case) {
	external = make([][]benchkit.Case, len(binaries))
	for _, c := range cases {
		i := slices.IndexFunc(binaries, func(b extBinary) bool { return slices.Contains(b.transports, c.Transport) })
		if i < 0 {
			local = append(local, c)
		} else {
			external[i] = append(external[i], c)
		}
	}
	return local, external
}

// externalArgs is an external binary's command line for cases; cpus are
// the client's and the server's CPU, or nil to leave both unpinned.
func externalArgs(cfg *Config, cases []benchkit.Case, cpus []int) []string {
	args := []string{"run", "--suite", cfg.suite(), "--duration", cfg.duration().String(),
		"--warmup", cfg.warmup().String(), "--cases", benchkit.FormatCases(cases)}
	if cpus == nil {
		return append(args, "--nopin")
	}
	return append(args, "--client-cpu", strconv.Itoa(cpus[0]), "--server-cpu", strconv.Itoa(cpus[1]))
}

// runExternal runs b, found at bin, for cases and calls row with each
// case's row, in order, as they arrive; before each case it calls next.
// Every case gets a row: those the binary did not write carry its failure.
// It returns a note for the output: what the binary said on stderr when it
// succeeded (rshm-grpc: its gRPC-go version and pinning), else its
// failure; and an error only when ctx ended or row did.
func runExternal(ctx context.Context, cfg *Config, b *extBinary, bin string, cases []benchkit.Case, cpus []int,
	next func(i int), row func(benchkit.Row) error) (string, error) {
	// The binary's own deadline: every case's estimate, twice, plus a
	// start-up allowance for the server process.
	limit := 2*Estimate(cfg, len(cases)) + 30*time.Second
	rctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(rctx, bin, externalArgs(cfg, cases, cpus)...)
	// Stopped by SIGTERM, on which it stops its server and removes its
	// socket directory; killed if it has not exited 5 s later.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	stderr := &tailBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	i := 0
	if err == nil {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 0, 4<<10), 1<<20)
		next(0)
		for i < len(cases) && sc.Scan() {
			var r benchkit.Row
			if err = json.Unmarshal(sc.Bytes(), &r); err != nil {
				err = fmt.Errorf("%w: %s wrote %q: %v", ErrCorrupt, b.name, sc.Bytes(), err)
				break
			}
			if c := cases[i]; r.Transport != c.Transport.String() || r.Model != c.Model.String() ||
				r.Size != c.Size || r.Concurrency != c.Concurrency {
				err = fmt.Errorf("%w: %s wrote a row for %s %s %d c=%d, want %v",
					ErrCorrupt, b.name, r.Transport, r.Model, r.Size, r.Concurrency, c)
				break
			}
			if err := row(r); err != nil {
				cancel()
				_ = cmd.Wait()
				return "", err
			}
			if i++; i < len(cases) {
				next(i)
			}
		}
		if err == nil {
			err = sc.Err()
		}
		if err != nil {
			cancel() // a binary that writes garbage is not waited for
		}
		err = errors.Join(err, cmd.Wait())
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if i == len(cases) && err == nil {
		return stderr.String(), nil
	}
	if err == nil {
		err = errors.New("exited early")
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("stopped after %v: %w", limit, err)
	}
	msg := fmt.Sprintf("%s: %v", b.name, err)
	if tail := stderr.String(); tail != "" {
		msg += "; its stderr: " + tail
	}
	for _, c := range cases[i:] { // none when it failed after its last row
		r := benchkit.NewRow(cfg.suite(), c, nil)
		r.Err = msg
		if err := row(r); err != nil {
			return "", err
		}
	}
	return msg, nil
}
