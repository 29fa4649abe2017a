package rshmbench

import (
	"context"
	"fmt"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/internal/benchkit"
	"github.com/rshm/rshm/internal/tsc"
	"github.com/rshm/rshm/rsocket"
)

// target is the client's end of one transport's server.
type target struct {
	t    benchkit.Transport
	addr string
	conn *rshm.Conn // rshm transports: the connection every worker shares
}

func (tg *target) dial(ctx context.Context) error {
	if tg.t.Raw() || (tg.conn != nil && tg.conn.Err() == nil) {
		return nil
	}
	if tg.conn != nil {
		_ = tg.conn.Close()
	}
	scheme, want := "shm://", rshm.KindSHM
	switch tg.t {
	case benchkit.RSocketTCP:
		scheme, want = "tcp://", rshm.KindTCP
	case benchkit.WebSocket:
		scheme, want = "ws://", rshm.KindWS // the address has the path
	}
	c, err := rshm.Dial(ctx, scheme+tg.addr, clientConfig(tg.t))
	if err != nil {
		return err
	}
	if c.Kind() != want {
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

// work runs one worker of case c until w.Stopping.
func (tg *target) work(ctx context.Context, c benchkit.Case, w *benchkit.Worker) {
	switch {
	case tg.t.Raw() && c.Model == benchkit.RR:
		rawRR(ctx, tg, c, w)
	case tg.t.Raw() && c.Model == benchkit.Stream:
		rawStream(ctx, tg, c, w)
	case c.Model == benchkit.RR:
		rsRR(ctx, tg.conn, c, w)
	case c.Model == benchkit.FNF:
		rsFNF(ctx, tg.conn, c, w)
	case c.Model == benchkit.Stream:
		rsStream(ctx, tg.conn, c, w)
	case c.Model == benchkit.Channel:
		rsChannel(ctx, tg.conn, c, w)
	default:
		w.Fail(fmt.Errorf("%w: %v does not run %v", benchkit.ErrConfig, tg.t, c.Model))
	}
}

func (tg *target) network() string {
	if tg.t == benchkit.RawUnix {
		return "unix"
	}
	return "tcp"
}

func rawRR(ctx context.Context, tg *target, c benchkit.Case, w *benchkit.Worker) {
	rc, err := dialRaw(ctx, tg.network(), tg.addr, opEcho, c.Size)
	if err != nil {
		w.Fail(err)
		return
	}
	defer rc.Close()
	for !w.Stopping() {
		t0 := tsc.Now()
		err := rc.roundTrip()
		t1 := tsc.Now()
		if err != nil {
			w.Fail(err)
			return
		}
		w.Done(t1 - t0)
	}
}

func rawStream(ctx context.Context, tg *target, c benchkit.Case, w *benchkit.Worker) {
	rc, err := dialRaw(ctx, tg.network(), tg.addr, opStream, c.Size)
	if err != nil {
		w.Fail(err)
		return
	}
	defer rc.Close()
	for !w.Stopping() {
		b, err := rc.recv()
		if err != nil {
			w.Fail(err)
			return
		}
		w.Received(b)
	}
}

func rsRR(ctx context.Context, conn *rshm.Conn, c benchkit.Case, w *benchkit.Worker) {
	req := rsocket.Payload{Data: make([]byte, c.Size)}
	buf := make([]byte, c.Size) // every answer lands here, as raw-tcp's do
	for !w.Stopping() {
		t0 := tsc.Now()
		r, err := conn.RequestResponseInto(ctx, req, buf)
		t1 := tsc.Now()
		if err != nil {
			w.Fail(err)
			return
		}
		if len(r.Data) != c.Size {
			w.Fail(fmt.Errorf("%w: response of %d bytes, want %d", ErrCorrupt, len(r.Data), c.Size))
			return
		}
		w.Done(t1 - t0)
	}
}

func rsFNF(ctx context.Context, conn *rshm.Conn, c benchkit.Case, w *benchkit.Worker) {
	batch := make([]rsocket.Payload, sendBatch(c.Size))
	req := make([]byte, c.Size)
	for i := range batch {
		batch[i].Data = req
	}
	for !w.Stopping() {
		t0 := tsc.Now()
		n, err := conn.FireAndForgetBatch(ctx, batch)
		t1 := tsc.Now()
		for range n {
			w.Done((t1 - t0) / int64(n))
		}
		if err != nil {
			w.Fail(err)
			return
		}
	}
}

func rsStream(ctx context.Context, conn *rshm.Conn, c benchkit.Case, w *benchkit.Worker) {
	s, err := conn.RequestStream(ctx, rsocket.Payload{Data: benchkit.StreamRequest(c.Size)})
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
		if len(r.Data) != c.Size {
			w.Fail(fmt.Errorf("%w: stream payload of %d bytes, want %d", ErrCorrupt, len(r.Data), c.Size))
			return
		}
		w.Received(r.Data)
	}
}

func rsChannel(ctx context.Context, conn *rshm.Conn, c benchkit.Case, w *benchkit.Worker) {
	req := rsocket.Payload{Data: make([]byte, c.Size)}
	ch, err := conn.RequestChannel(ctx, req)
	if err != nil {
		w.Fail(err)
		return
	}
	defer ch.Close()
	if _, err := ch.Recv(); err != nil { // the echo of the first payload
		w.Fail(err)
		return
	}
	for !w.Stopping() {
		t0 := tsc.Now()
		err := ch.Send(ctx, req)
		var r rsocket.Payload
		if err == nil {
			r, err = ch.Recv()
		}
		t1 := tsc.Now()
		if err != nil {
			w.Fail(err)
			return
		}
		if len(r.Data) != c.Size {
			w.Fail(fmt.Errorf("%w: channel payload of %d bytes, want %d", ErrCorrupt, len(r.Data), c.Size))
			return
		}
		w.Done(t1 - t0)
	}
}

// measure runs case c against tg (benchkit.Collect): workers start, warm
// up for warm, are recorded for dur between two CPU readings of each
// process, then stop. A fire-and-forget window counts the messages the
// server's handler received, not those queued.
func measure(ctx context.Context, tg *target, ch *child, c benchkit.Case, warm, dur time.Duration) (*benchkit.Window, error) {
	if err := tg.dial(ctx); err != nil {
		return nil, err
	}
	var fnf []uint64 // the server's fnf count at each reading
	serverCPU := func() (user, sys int64, err error) {
		r, err := ch.call(request{Op: "usage"})
		fnf = append(fnf, r.FNF)
		return r.UserNS, r.SysNS, err
	}
	w, err := benchkit.Collect(ctx, c, warm, dur, func(wctx context.Context, w *benchkit.Worker) { tg.work(wctx, c, w) }, serverCPU)
	if w != nil && c.Model == benchkit.FNF && len(fnf) == 2 {
		w.Msgs = fnf[1] - fnf[0]
	}
	return w, err
}
