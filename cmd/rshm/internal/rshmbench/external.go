package rshmbench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rshm/rshm/internal/tsc"
)

// What a baseline measured by another binary (rshm-grpc, in the nested
// module bench/grpcbench) shares with this package, so that its rows are
// measured and written exactly as this package's own: the case syntax of
// its command line (FormatCases, ParseCases), the stream request and the
// payload stamp its server uses (StreamRequest, ParseStreamRequest,
// Stamp), and the measurement itself (Measure, which returns a Row).

// FormatCases writes cases as ParseCases reads them: a comma-separated
// list of TRANSPORT/MODEL/SIZE/CONCURRENCY, e.g. "grpc-tcp/rr/64/1".
func FormatCases(cases []Case) string {
	var b strings.Builder
	for i, c := range cases {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s/%s/%d/%d", c.Transport, c.Model, c.Size, c.Concurrency)
	}
	return b.String()
}

// ParseCases reads a list written by FormatCases. Sizes are in bytes (1 to
// MaxSize), concurrencies 1 to maxConcurrency, and each case's model must
// be one its transport runs.
func ParseCases(s string) ([]Case, error) {
	var out []Case
	for f := range strings.SplitSeq(s, ",") {
		parts := strings.Split(strings.TrimSpace(f), "/")
		if len(parts) != 4 {
			return nil, fmt.Errorf("%w: case %q is not TRANSPORT/MODEL/SIZE/CONCURRENCY", ErrConfig, f)
		}
		t, err := ParseTransport(parts[0])
		if err != nil {
			return nil, err
		}
		m, err := ParseModel(parts[1])
		if err != nil {
			return nil, err
		}
		if !t.runs(m) {
			return nil, fmt.Errorf("%w: %v does not run %v", ErrConfig, t, m)
		}
		size, err := strconv.Atoi(parts[2])
		if err != nil || size < 1 || size > MaxSize {
			return nil, fmt.Errorf("%w: size %q is not a number of bytes in [1, %d]", ErrConfig, parts[2], MaxSize)
		}
		conc, err := strconv.Atoi(parts[3])
		if err != nil || conc < 1 || conc > maxConcurrency {
			return nil, fmt.Errorf("%w: concurrency %q is not in [1, %d]", ErrConfig, parts[3], maxConcurrency)
		}
		out = append(out, Case{Transport: t, Model: m, Size: size, Concurrency: conc})
	}
	return out, nil
}

// maxConcurrency bounds a parsed case's goroutines.
const maxConcurrency = 4096

// ParseModel reads a model name as String writes it.
func ParseModel(s string) (Model, error) {
	for i, n := range modelNames {
		if strings.EqualFold(s, n) {
			return Model(i), nil
		}
	}
	return 0, fmt.Errorf("%w: model %q (want one of %s)", ErrConfig, s, strings.Join(modelNames[:], ", "))
}

// runs reports whether t measures model m.
func (t Transport) runs(m Model) bool {
	for _, tm := range t.models() {
		if tm == m {
			return true
		}
	}
	return false
}

// StreamRequest is the request data of a stream measurement: the server
// answers "size:N" with N-byte payloads, each stamped (Stamp), until the
// client cancels.
func StreamRequest(size int) []byte { return []byte("size:" + strconv.Itoa(size)) }

// ParseStreamRequest reads StreamRequest's data; the size is 0 to MaxSize.
func ParseStreamRequest(b []byte) (int, error) {
	s, ok := strings.CutPrefix(string(b), "size:")
	size, err := strconv.Atoi(s)
	if !ok || err != nil || size < 0 || size > MaxSize || strconv.Itoa(size) != s {
		return 0, fmt.Errorf("%w: stream request %q is not size:N", ErrConfig, b)
	}
	return size, nil
}

// Stamp writes the wall clock (ns, little-endian) into the first 8 bytes
// of p, if it has them: a stream server stamps every payload it sends, and
// Worker.Received takes the one-way delay from it.
func Stamp(p []byte) { stamp(p) }

// Worker is one goroutine of a Measure: it runs operations until Stopping
// and reports each one.
type Worker struct {
	p *phase
	t *tally
}

// Stopping reports whether the window is over: the worker returns.
func (w *Worker) Stopping() bool { return w.p.stop.Load() }

// Begin returns the time, in ticks, at which an operation starts; End(t0)
// records the operation as done (a request-response round trip).
func (w *Worker) Begin() int64 { return tsc.Now() }

// End records one operation begun at t0 (Begin).
func (w *Worker) End(t0 int64) { w.t.done(w.p, tsc.Now()-t0, true) }

// Received records one stream message with payload p: its latency is the
// delay since the server's Stamp (none when p is shorter than a stamp).
func (w *Worker) Received(p []byte) {
	lat, ok := since(p)
	w.t.done(w.p, lat, ok)
}

// Fail reports the error that ended the worker, unless it came from
// stopping; the row then carries it.
func (w *Worker) Fail(err error) { w.t.fail(w.p, err) }

// Measure runs case c with c.Concurrency goroutines of work, as this
// package measures its own transports: a warm-up of warm, then a window of
// dur between two readings of this process's CPU time and the server's
// (serverCPU returns its user and system ns), then the workers are told to
// stop (Stopping) and, if still busy 2 s later, ctx passed to work is
// cancelled. Measure returns when every worker has. Rows of model RR take
// latencies from Begin/End, rows of model Stream from Received. A failure
// is the row's Err.
func Measure(ctx context.Context, suite string, c Case, warm, dur time.Duration,
	work func(context.Context, *Worker), serverCPU func() (user, sys int64, err error)) Row {
	snap := func() (client, server usage, err error) {
		client.user, client.sys, _ = cpuTime()
		server.user, server.sys, err = serverCPU()
		return client, server, err
	}
	w, err := collect(ctx, c, warm, dur, func(wctx context.Context, p *phase, t *tally) {
		work(wctx, &Worker{p: p, t: t})
	}, snap)
	if w == nil {
		w = &window{}
	}
	r := newRow(suite, c, w)
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// CPUTime returns the user and system CPU time this process has used, in
// ns, as Measure reads it (getrusage(RUSAGE_SELF) on Linux; false
// elsewhere): what an external server reports as its serverCPU.
func CPUTime() (user, sys int64, ok bool) { return cpuTime() }
