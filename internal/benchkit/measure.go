package benchkit

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/internal/hist"
	"github.com/rshm/rshm/internal/tsc"
)

// phase is what a measurement's workers read on every operation: whether
// to record it, and whether to stop.
type phase struct {
	rec  atomic.Bool
	stop atomic.Bool
}

// tally is one worker's record; only its worker writes it until the
// worker ends.
type tally struct {
	h    hist.Histogram
	msgs uint64
	err  error
	warm atomic.Int64 // operations before the window (read by Collect)
}

// done records one operation of lat histogram units, if recording, and
// counts it as warm-up before the window.
func (t *tally) done(p *phase, lat int64, ok bool) {
	if p.rec.Load() {
		if ok {
			t.h.Record(lat)
		}
		t.msgs++
	} else if !p.stop.Load() {
		t.warm.Add(1)
	}
}

// fail keeps the first error that did not come from stopping.
func (t *tally) fail(p *phase, err error) {
	if !p.stop.Load() && t.err == nil {
		t.err = err
	}
}

// Worker is one goroutine of a measurement (Collect, Measure): it runs
// operations until Stopping and reports each one.
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

// Done records one operation that took lat ticks, read by the worker with
// tsc.Now (End(t0) is Done(tsc.Now()-t0)): for a worker that reads the
// clock as soon as the operation returns, before checking its result.
func (w *Worker) Done(lat int64) { w.t.done(w.p, lat, true) }

// Received records one stream message with payload p: its latency is the
// delay since the server's Stamp (none when p is shorter than a stamp).
func (w *Worker) Received(p []byte) {
	lat, ok := Since(p)
	w.t.done(w.p, lat, ok)
}

// Fail reports the error that ended the worker, unless it came from
// stopping; the row then carries it.
func (w *Worker) Fail(err error) { w.t.fail(w.p, err) }

// Measure runs case c with c.Concurrency goroutines of work, as rshm bench
// measures its own transports: a warm-up of warm, then a window of dur
// between two readings of this process's CPU time and the server's
// (serverCPU returns its user and system ns), then the workers are told to
// stop (Stopping) and, if still busy 2 s later, ctx passed to work is
// cancelled. Measure returns when every worker has. Rows of model RR take
// latencies from Begin/End, rows of model Stream from Received. A failure
// is the row's Err.
func Measure(ctx context.Context, suite string, c Case, warm, dur time.Duration,
	work func(context.Context, *Worker), serverCPU func() (user, sys int64, err error)) Row {
	w, err := Collect(ctx, c, warm, dur, work, serverCPU)
	r := NewRow(suite, c, w)
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// stopGrace is how long workers get to finish their last operation after
// the window before their context is cancelled.
const stopGrace = 2 * time.Second

// Collect is Measure before the row: it runs c.Concurrency goroutines of
// work, each with its own Worker: they warm up for warm and then until
// each has done warmOps operations (at most maxWarm in all), are recorded for
// dur between two readings of the CPU time of both processes (this one's,
// then serverCPU), then are told to stop; a worker still busy stopGrace
// later has its context cancelled. It returns the merged window, for
// NewRow, and the workers' errors; the window is nil when a CPU reading
// failed.
func Collect(ctx context.Context, c Case, warm, dur time.Duration,
	work func(context.Context, *Worker), serverCPU func() (user, sys int64, err error)) (*Window, error) {
	snap := func() (client, server usage, err error) {
		client.user, client.sys, _ = CPUTime()
		server.user, server.sys, err = serverCPU()
		return client, server, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &phase{}
	tallies := make([]*tally, c.Concurrency)
	var wg sync.WaitGroup
	for i := range tallies {
		t := &tally{}
		tallies[i] = t
		wg.Add(1)
		go func() { // ends when p.stop is set, or at once if wctx is cancelled
			defer wg.Done()
			work(wctx, &Worker{p: p, t: t})
		}()
	}
	finish := func() {
		p.stop.Store(true)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }() // ends when every worker has
		select {
		case <-done:
		case <-time.After(stopGrace):
			cancel()
			<-done
		}
	}
	sleep(ctx, warm)
	w := &Window{nsPerUnit: 1}
	if warm > 0 {
		warmUntil(ctx, tallies, time.Now().Add(maxWarm-warm))
		for _, t := range tallies {
			if t.warm.Load() < warmOps {
				w.Starved++
			}
		}
	}
	var err error
	if w.client[0], w.server[0], err = snap(); err != nil {
		finish()
		return nil, err
	}
	clock := tsc.Start()
	start := time.Now()
	p.rec.Store(true)
	sleep(ctx, dur)
	p.rec.Store(false)
	w.elapsed = time.Since(start)
	clock.Stop()
	w.client[1], w.server[1], err = snap()
	finish()
	if err != nil {
		return nil, err
	}
	w.nsPerUnit = 1 / clock.TicksPerNS() // every latency is in tsc ticks
	w.h = &hist.Histogram{}
	var errs []error
	for _, t := range tallies {
		w.h.Merge(&t.h)
		w.Msgs += t.msgs
		if t.err != nil {
			errs = append(errs, t.err)
		}
	}
	if ctx.Err() != nil {
		return w, ctx.Err()
	}
	return w, errors.Join(errs...)
}

// warmOps is how many operations each worker does before the window, at
// least: the first messages of a worker pay for what its transport keeps
// for the next ones (buffers faulted in, queues grown), which with many
// workers and large payloads outlasts a warm-up of a fixed time (64
// streams of 1 MiB keep hundreds of MiB of buffers). maxWarm bounds the
// whole warm-up.
const warmOps = 8

var maxWarm = 5 * time.Second // a variable for the tests

// warmUntil waits until every tally counts warmOps operations of warm-up,
// the deadline passes or ctx ends.
func warmUntil(ctx context.Context, tallies []*tally, deadline time.Time) {
	for _, t := range tallies {
		for t.warm.Load() < warmOps && time.Now().Before(deadline) && ctx.Err() == nil {
			sleep(ctx, time.Millisecond)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// stampLen is the size of a stamp: a little-endian int64.
const stampLen = 8

// Stamp writes the time-stamp counter (tsc.Now, little-endian) into the
// first 8 bytes of p, if it has them: a stream server stamps every payload
// it sends, and Worker.Received takes the one-way delay from it (Since).
// The counter is one for every process of the machine (tsc.Now), and reading
// it costs a fraction of the wall clock's, which at millions of messages a
// second would otherwise be a large share of both processes' work.
func Stamp(p []byte) {
	if len(p) >= stampLen {
		binary.LittleEndian.PutUint64(p, uint64(tsc.Now()))
	}
}

// Since returns the tsc ticks since p's Stamp, and false when p has none.
func Since(p []byte) (int64, bool) {
	if len(p) < stampLen {
		return 0, false
	}
	return tsc.Now() - int64(binary.LittleEndian.Uint64(p)), true
}
