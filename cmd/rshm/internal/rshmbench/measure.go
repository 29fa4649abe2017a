package rshmbench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/internal/hist"
	"github.com/rshm/rshm/internal/tsc"
	"github.com/rshm/rshm/rsocket"
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
}

// done records one operation of lat histogram units, if recording.
func (t *tally) done(p *phase, lat int64, ok bool) {
	if p.rec.Load() {
		if ok {
			t.h.Record(lat)
		}
		t.msgs++
	}
}

// fail keeps the first error that did not come from stopping.
func (t *tally) fail(p *phase, err error) {
	if !p.stop.Load() && t.err == nil {
		t.err = err
	}
}

// target is the client's end of one transport's server.
type target struct {
	t    Transport
	addr string
	conn *rshm.Conn // rshm transports: the connection every worker shares
}

func (tg *target) dial(ctx context.Context) error {
	if tg.t.raw() || (tg.conn != nil && tg.conn.Err() == nil) {
		return nil
	}
	if tg.conn != nil {
		_ = tg.conn.Close()
	}
	scheme := "shm://"
	if tg.t == RSocketTCP {
		scheme = "tcp://"
	}
	c, err := rshm.Dial(ctx, scheme+tg.addr, clientConfig(tg.t))
	if err != nil {
		return err
	}
	if want := rshm.KindSHM; tg.t != RSocketTCP && c.Kind() != want {
		c.Close()
		return fmt.Errorf("rshmbench: %v connected over %v, want %v", tg.t, c.Kind(), want)
	}
	tg.conn = c
	return nil
}

// close closes the connection; nil is a no-op.
func (tg *target) close() {
	if tg != nil && tg.conn != nil {
		_ = tg.conn.Close()
		tg.conn = nil
	}
}

// usesTSC reports whether a model's latencies are tsc ticks (taken in this
// process) rather than wall-clock ns (a stream's one-way delay).
func usesTSC(m Model) bool { return m != Stream }

// work runs one worker of case c until p.stop.
func (tg *target) work(ctx context.Context, c Case, p *phase, t *tally) {
	switch {
	case tg.t.raw() && c.Model == RR:
		rawRR(ctx, tg, c, p, t)
	case tg.t.raw() && c.Model == Stream:
		rawStream(ctx, tg, c, p, t)
	case c.Model == RR:
		rsRR(ctx, tg.conn, c, p, t)
	case c.Model == FNF:
		rsFNF(ctx, tg.conn, c, p, t)
	case c.Model == Stream:
		rsStream(ctx, tg.conn, c, p, t)
	case c.Model == Channel:
		rsChannel(ctx, tg.conn, c, p, t)
	default:
		t.err = fmt.Errorf("%w: %v does not run %v", ErrConfig, tg.t, c.Model)
	}
}

func (tg *target) network() string {
	if tg.t == RawUnix {
		return "unix"
	}
	return "tcp"
}

func rawRR(ctx context.Context, tg *target, c Case, p *phase, t *tally) {
	rc, err := dialRaw(ctx, tg.network(), tg.addr, opEcho, c.Size)
	if err != nil {
		t.fail(p, err)
		return
	}
	defer rc.Close()
	for !p.stop.Load() {
		t0 := tsc.Now()
		err := rc.roundTrip()
		t1 := tsc.Now()
		if err != nil {
			t.fail(p, err)
			return
		}
		t.done(p, t1-t0, true)
	}
}

func rawStream(ctx context.Context, tg *target, c Case, p *phase, t *tally) {
	rc, err := dialRaw(ctx, tg.network(), tg.addr, opStream, c.Size)
	if err != nil {
		t.fail(p, err)
		return
	}
	defer rc.Close()
	for !p.stop.Load() {
		b, err := rc.recv()
		if err != nil {
			t.fail(p, err)
			return
		}
		lat, ok := since(b)
		t.done(p, lat, ok)
	}
}

func rsRR(ctx context.Context, conn *rshm.Conn, c Case, p *phase, t *tally) {
	req := rsocket.Payload{Data: make([]byte, c.Size)}
	buf := make([]byte, c.Size) // every answer lands here, as raw-tcp's do
	for !p.stop.Load() {
		t0 := tsc.Now()
		r, err := conn.RequestResponseInto(ctx, req, buf)
		t1 := tsc.Now()
		if err != nil {
			t.fail(p, err)
			return
		}
		if len(r.Data) != c.Size {
			t.fail(p, fmt.Errorf("%w: response of %d bytes, want %d", ErrCorrupt, len(r.Data), c.Size))
			return
		}
		t.done(p, t1-t0, true)
	}
}

func rsFNF(ctx context.Context, conn *rshm.Conn, c Case, p *phase, t *tally) {
	req := rsocket.Payload{Data: make([]byte, c.Size)}
	for !p.stop.Load() {
		t0 := tsc.Now()
		err := conn.FireAndForget(ctx, req)
		t1 := tsc.Now()
		if err != nil {
			t.fail(p, err)
			return
		}
		t.done(p, t1-t0, true)
	}
}

func rsStream(ctx context.Context, conn *rshm.Conn, c Case, p *phase, t *tally) {
	s, err := conn.RequestStream(ctx, rsocket.Payload{Data: StreamRequest(c.Size)})
	if err != nil {
		t.fail(p, err)
		return
	}
	defer s.Close()
	for !p.stop.Load() {
		r, err := s.Recv()
		if err != nil {
			t.fail(p, err)
			return
		}
		if len(r.Data) != c.Size {
			t.fail(p, fmt.Errorf("%w: stream payload of %d bytes, want %d", ErrCorrupt, len(r.Data), c.Size))
			return
		}
		lat, ok := since(r.Data)
		t.done(p, lat, ok)
	}
}

func rsChannel(ctx context.Context, conn *rshm.Conn, c Case, p *phase, t *tally) {
	req := rsocket.Payload{Data: make([]byte, c.Size)}
	ch, err := conn.RequestChannel(ctx, req)
	if err != nil {
		t.fail(p, err)
		return
	}
	defer ch.Close()
	if _, err := ch.Recv(); err != nil { // the echo of the first payload
		t.fail(p, err)
		return
	}
	for !p.stop.Load() {
		t0 := tsc.Now()
		err := ch.Send(ctx, req)
		var r rsocket.Payload
		if err == nil {
			r, err = ch.Recv()
		}
		t1 := tsc.Now()
		if err != nil {
			t.fail(p, err)
			return
		}
		if len(r.Data) != c.Size {
			t.fail(p, fmt.Errorf("%w: channel payload of %d bytes, want %d", ErrCorrupt, len(r.Data), c.Size))
			return
		}
		t.done(p, t1-t0, true)
	}
}

// stopGrace is how long workers get to finish their last operation after
// the window before their context is cancelled.
const stopGrace = 2 * time.Second

// measure runs case c against tg: workers start, warm up for warm, are
// recorded for dur between two CPU snapshots of each process, then stop.
func measure(ctx context.Context, tg *target, ch *child, c Case, warm, dur time.Duration) (*window, error) {
	if err := tg.dial(ctx); err != nil {
		return nil, err
	}
	var fnf []uint64 // the server's fnf count at each snapshot
	snap := func() (client, server usage, err error) {
		client, server, err = snapshot(ch)
		fnf = append(fnf, ch.lastFNF)
		return client, server, err
	}
	w, err := collect(ctx, c, warm, dur, func(wctx context.Context, p *phase, t *tally) { tg.work(wctx, c, p, t) }, snap)
	if w != nil && c.Model == FNF && len(fnf) == 2 {
		// What the server's handler received, not what was queued.
		w.msgs = fnf[1] - fnf[0]
	}
	return w, err
}

// collect runs c.Concurrency goroutines of work, each with its own tally:
// they warm up for warm, are recorded for dur between two calls of snap
// (the CPU time of both processes), then are told to stop; a worker still
// busy stopGrace later has its context cancelled. It returns the merged
// window and the workers' errors.
func collect(ctx context.Context, c Case, warm, dur time.Duration,
	work func(context.Context, *phase, *tally), snap func() (client, server usage, err error)) (*window, error) {
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
			work(wctx, p, t)
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
	w := &window{nsPerUnit: 1}
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
	if usesTSC(c.Model) {
		w.nsPerUnit = 1 / clock.TicksPerNS()
	}
	w.h = &hist.Histogram{}
	var errs []error
	for _, t := range tallies {
		w.h.Merge(&t.h)
		w.msgs += t.msgs
		if t.err != nil {
			errs = append(errs, t.err)
		}
	}
	if ctx.Err() != nil {
		return w, ctx.Err()
	}
	return w, errors.Join(errs...)
}

// snapshot reads both processes' CPU time.
func snapshot(ch *child) (client, server usage, err error) {
	client.user, client.sys, _ = cpuTime()
	r, err := ch.call(request{Op: "usage"})
	ch.lastFNF = r.FNF
	return client, usage{r.UserNS, r.SysNS}, err
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
