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
	"strconv"
	"syscall"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
)

// The gRPC baselines (transports grpc-tcp and grpc-unix) run in another
// binary, rshm-grpc, built from the nested module bench/grpcbench so that
// gRPC-go stays out of the rshm module. Run starts it once for all of
// them, after the other transports:
//
//	rshm-grpc run --suite quick --duration 400ms --warmup 100ms \
//	    --client-cpu 0 --server-cpu 1 --cases grpc-tcp/rr/64/1,...
//
// It starts its own server process, pins both as Run pins its own, measures
// each case with benchkit.Measure, and writes one benchkit.Row a line, as
// JSON, on stdout, in the order of --cases; its stderr is kept for error
// messages.

// GRPCBinEnv names the environment variable that gives the rshm-grpc
// binary's path (see Config.GRPCBinary).
const GRPCBinEnv = "RSHM_GRPC_BIN"

// GRPCMissing is printed, and the gRPC rows skipped, when there is no
// rshm-grpc binary to run.
const GRPCMissing = "rshm-grpc not built; run make grpc-bench"

// grpcName is the binary's file name next to the running executable.
const grpcName = "rshm-grpc"

// grpcBinary finds the rshm-grpc binary: cfg.GRPCBinary, else
// $RSHM_GRPC_BIN, else rshm-grpc in the running executable's directory. It
// returns the path looked at, and false when no executable file is there.
func grpcBinary(cfg *Config) (string, bool) {
	p := cfg.GRPCBinary
	if p == "" {
		p = os.Getenv(GRPCBinEnv)
	}
	if p == "" {
		exe, err := os.Executable()
		if err != nil {
			return grpcName, false
		}
		p = filepath.Join(filepath.Dir(exe), grpcName)
	}
	st, err := os.Stat(p)
	return p, err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// splitExternal separates the cases Run measures in this process from
// those of an external binary, keeping the order of each.
func splitExternal(cases []benchkit.Case) (local, external []benchkit.Case) {
	for _, c := range cases {
		if c.Transport.External() {
			external = append(external, c)
		} else {
			local = append(local, c)
		}
	}
	return local, external
}

// grpcArgs is rshm-grpc's command line for cases; cpus are the client's
// and the server's CPU, or nil to leave both unpinned.
func grpcArgs(cfg *Config, cases []benchkit.Case, cpus []int) []string {
	args := []string{"run", "--suite", cfg.suite(), "--duration", cfg.duration().String(),
		"--warmup", cfg.warmup().String(), "--cases", benchkit.FormatCases(cases)}
	if cpus == nil {
		return append(args, "--nopin")
	}
	return append(args, "--client-cpu", strconv.Itoa(cpus[0]), "--server-cpu", strconv.Itoa(cpus[1]))
}

// runExternal runs bin for cases and calls row with each case's row, in
// order, as they arrive; before each case it calls next. Every case gets a
// row: those the binary did not write carry its failure. It returns a
// note for the output: what the binary said on stderr when it succeeded
// (its gRPC-go version and pinning), else its failure; and an error only
// when ctx ended or row did.
func runExternal(ctx context.Context, cfg *Config, bin string, cases []benchkit.Case, cpus []int,
	next func(i int), row func(benchkit.Row) error) (string, error) {
	// The binary's own deadline: every case's estimate, twice, plus a
	// start-up allowance for the server process.
	limit := 2*Estimate(cfg, len(cases)) + 30*time.Second
	rctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(rctx, bin, grpcArgs(cfg, cases, cpus)...)
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
				err = fmt.Errorf("%w: %s wrote %q: %v", ErrCorrupt, grpcName, sc.Bytes(), err)
				break
			}
			if c := cases[i]; r.Transport != c.Transport.String() || r.Model != c.Model.String() ||
				r.Size != c.Size || r.Concurrency != c.Concurrency {
				err = fmt.Errorf("%w: %s wrote a row for %s %s %d c=%d, want %v",
					ErrCorrupt, grpcName, r.Transport, r.Model, r.Size, r.Concurrency, c)
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
	msg := fmt.Sprintf("%s: %v", grpcName, err)
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
