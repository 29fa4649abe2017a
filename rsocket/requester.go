package rsocket

import (
	"context"
	"runtime"
	"time"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Requester side. None of these calls starts a goroutine: the caller's
// goroutine sends the request and waits; the receive goroutine completes it.
// Under lease each request first takes a unit of the peer's lease
// (acquireLease, lease.go): ErrNoLease, or a wait with WaitForLease; the
// asynchronous request-response never waits.

// newRR makes a request-response requester record. Records are recycled
// (Conn.rrFree), so a steady request rate does not allocate them.
func newRR() *stream {
	s := &stream{kind: wire.TypeRequestResponse, rrDone: make(chan struct{}, 1)}
	s.rrIsDone = s.rrDriven
	return s
}

// States of a blocking request-response (stream.rrState). The answer is
// stored before rrAnswered; rrDone is signalled only when the requester
// said it waits on it (rrWaiting), so a requester that drove the receive
// side itself finds the answer with one load and no channel operation.
const (
	rrPending uint32 = iota
	rrWaiting
	rrAnswered
)

func (c *Conn) getRR() *stream {
	s, _ := c.rrFree.Get().(*stream)
	if s == nil {
		s = newRR()
	}
	s.c = c
	return s
}

func putRR(s *stream) {
	c := s.c
	s.c, s.id, s.rh, s.rrResult, s.rrErr = nil, 0, nil, Payload{}, nil
	s.rrBuf = nil
	s.rrState.Store(rrPending)
	c.rrFree.Put(s)
}

// completeRR finishes a request-response requester record; the caller has
// removed it from the table, so this runs once per request.
func (c *Conn) completeRR(s *stream, p Payload, err error) {
	if s.rh != nil {
		h := s.rh
		putRR(s)
		h.OnResponse(p, err)
		return
	}
	if err == nil {
		s.rrResult = p.CloneInto(s.rrBuf) // nil rrBuf: a new array, as Clone
	}
	s.rrErr = err
	if s.rrState.Swap(rrAnswered) == rrWaiting {
		c.rrWoken.Add(1) // before the send, so it never goes below zero
		s.rrDone <- struct{}{}
	}
}

// answered receives the signal of completeRR for s; the requester has
// resumed.
func answered(s *stream) {
	<-s.rrDone
	s.c.rrWoken.Add(-1)
}

// rrDriven is the done function of a request-response requester that drives
// the receive side: it reports whether the answer came. First, while
// requesters woken with their answers (or stream readers woken with their
// payloads: Conn.inWoken) have not yet run, it lets them run
// (runtime.Gosched). With one P they would otherwise wait until the driver
// parks, and a driver that finds its own answer first leaves and comes back
// with its next request without parking: it would ping-pong alone while
// the others starved until the runtime preempts it (10 ms). It looks again
// on every poll, because Gosched does not promise that they run first (the
// scheduler takes the global queue, where Gosched puts the driver, first
// one time in 61). They run while the driver still polls, so the requests
// they send next stay staged and leave together (CommitDriven) when the
// driver resumes.
func (s *stream) rrDriven() bool {
	if s.c.rrWoken.Load() != 0 || s.c.inWoken.Load() != 0 {
		runtime.Gosched()
	}
	return s.rrState.Load() == rrAnswered
}

// waitAnswered waits until completeRR has run for s.
func waitAnswered(s *stream) {
	if s.rrState.CompareAndSwap(rrPending, rrWaiting) {
		answered(s)
	}
}

// RequestResponse sends p and waits for the single response. It returns the
// peer's *Error for an ERROR answer, ctx.Err() after sending CANCEL when ctx
// ends first, or the connection's error. The returned Payload is the
// caller's own. It allocates once per call (the response copy).
func (c *Conn) RequestResponse(ctx context.Context, p Payload) (Payload, error) {
	if c.reqChain != nil {
		return c.interceptRR(ctx, &Call{Model: ModelRequestResponse, Payload: p})
	}
	return c.requestResponse(ctx, p, nil)
}

// RequestResponseInto is RequestResponse with the response copied into buf's
// array (Payload.CloneInto): the returned Payload aliases buf, unless the
// response did not fit and a new array was allocated. With a buffer as
// large as the responses it does not allocate, and the response lands in
// memory the caller's CPU has in its cache instead of a fresh allocation.
// buf is written only before the call returns.
func (c *Conn) RequestResponseInto(ctx context.Context, p Payload, buf []byte) (Payload, error) {
	if c.reqChain != nil {
		return c.interceptRR(ctx, &Call{Model: ModelRequestResponse, Payload: p, buf: buf})
	}
	return c.requestResponse(ctx, p, buf)
}

func (c *Conn) interceptRR(ctx context.Context, call *Call) (Payload, error) {
	if err := c.intercept(ctx, call); err != nil {
		return Payload{}, err
	}
	return call.Response, nil
}

func (c *Conn) requestResponse(ctx context.Context, p Payload, buf []byte) (Payload, error) {
	if err := c.acquireLease(ctx, true); err != nil {
		return Payload{}, err
	}
	s := c.getRR()
	s.rrBuf = buf
	if err := c.register(s); err != nil {
		putRR(s)
		return Payload{}, err
	}
	if err := c.sendRequest(ctx, wire.TypeRequestResponse, s.id, 0, 0, p, commitDriving); err != nil {
		if c.unregister(s.id, s) {
			putRR(s)
			return Payload{}, err
		}
		waitAnswered(s)
		putRR(s)
		return Payload{}, err
	}
	if c.driver != nil {
		c.driver.Drive(c.onRecv, s.rrIsDone, ctx.Done())
	}
	// Usually answered already: Drive delivered the answer.
	if s.rrState.Load() != rrAnswered && s.rrState.CompareAndSwap(rrPending, rrWaiting) {
		if err := c.awaitRR(ctx, s); err != nil {
			return Payload{}, err
		}
	}
	res, err := s.rrResult, s.rrErr
	putRR(s)
	return res, err
}

// awaitRR waits for the answer to s (in state rrWaiting), or for ctx: then
// it sends CANCEL, releases s and returns ctx.Err(), unless the answer came
// concurrently.
func (c *Conn) awaitRR(ctx context.Context, s *stream) error {
	done := ctx.Done()
	if done == nil {
		answered(s) // a context that never ends: no select
		return nil
	}
	select {
	case <-s.rrDone:
		c.rrWoken.Add(-1)
	case <-done:
		if c.unregister(s.id, s) {
			_ = c.sendCancel(c.ctx, s.id)
			putRR(s)
			return ctx.Err()
		}
		answered(s) // completed concurrently
	}
	return nil
}

// RequestResponseAsync sends p and returns; h.OnResponse is called once with
// the response (a view valid during the call) or the error, on the receive
// goroutine (or on the goroutine that closes the connection). It does not
// allocate at steady state. An error returned here means the request was
// not sent and h will not be called.
func (c *Conn) RequestResponseAsync(p Payload, h ResponseHandler) error {
	if c.reqChain != nil {
		return c.intercept(c.ctx, &Call{Model: ModelRequestResponse, Payload: p, rh: h})
	}
	return c.requestResponseAsync(p, h)
}

func (c *Conn) requestResponseAsync(p Payload, h ResponseHandler) error {
	if err := c.acquireLease(c.ctx, false); err != nil {
		return err
	}
	s := c.getRR()
	s.rh = h
	if err := c.register(s); err != nil {
		putRR(s)
		return err
	}
	if err := c.sendRequest(c.ctx, wire.TypeRequestResponse, s.id, 0, 0, p, commitPolled); err != nil {
		if c.unregister(s.id, s) {
			putRR(s)
			return err
		}
		// The connection failed meanwhile and reported it through h.
	}
	return nil
}

// FireAndForget sends p; nothing comes back.
func (c *Conn) FireAndForget(ctx context.Context, p Payload) error {
	if c.reqChain != nil {
		return c.intercept(ctx, &Call{Model: ModelFireAndForget, Payload: p})
	}
	return c.fireAndForget(ctx, p)
}

// FireAndForgetBatch sends each of ps as a fire-and-forget request, in
// order, and returns how many it sent: all of them, or fewer with
// FireAndForget's errors. Over shared memory the frames of up to 64
// requests at a time are claimed from the ring together (see
// StreamWriter.SendBatch). With requester interceptors or lease, and over
// other transports, it calls FireAndForget for each. Calls on one
// connection from several goroutines take turns with the P every 20 us of
// sending; a lone call yields every 1 ms.
func (c *Conn) FireAndForgetBatch(ctx context.Context, ps []Payload) (int, error) {
	c.batchSenders.Add(1)
	defer c.batchSenders.Add(-1)
	sent := 0
	var sizes [heldBatch]int // sizes[:m], written before they are read
	for sent < len(ps) {
		batch := ps[sent:min(len(ps), sent+heldBatch)]
		m := 0
		if c.held != nil && c.reqChain == nil && c.lease == nil {
			for m < len(batch) {
				if sizes[m] = wire.RequestSize(wire.TypeRequestFNF, batch[m].Metadata, batch[m].Data); sizes[m] > c.set.mtu {
					break
				}
				m++
			}
		}
		var k uint64
		if m >= 2 {
			var ok bool
			if k, ok = c.nextFNFs(m); !ok {
				m = 0
			}
		}
		if m < 2 {
			if err := c.FireAndForget(ctx, ps[sent]); err != nil {
				return sent, err
			}
			sent++
			c.yieldAfterBatch(1)
			continue
		}
		batch = batch[:m]
		n, err := c.sendHeld(ctx, sizes[:m],
			func(b []byte, i int) []byte {
				return wire.AppendRequest(b, wire.TypeRequestFNF, c.idAt(k+uint64(i)), 0, 0, batch[i].Metadata, batch[i].Data)
			})
		sent += n
		if err != nil {
			return sent, err
		}
		c.yieldAfterBatch(n)
	}
	return sent, nil
}

// yieldAfterBatch, after a send of frames frames by FireAndForgetBatch,
// lets other goroutines run when batch senders have kept the P for
// batchSlice. A sender of batches never blocks while the transport has
// room, so other senders that are runnable would otherwise wait for the
// scheduler's 10 ms slice before they even ask for the claim: their calls'
// tail latency (and over TCP, the writer goroutine's turn). A lone batch
// sender yields only every loneSlice, for the connection's other
// goroutines, since each yield hands the P to the polling receive loop;
// and it looks at the clock only when its frames pass a multiple of
// heldBatch, since a clock read per request sent on its own (every
// request over TCP) costs it throughput (rshm bench's fnf rows over
// rshm-tcp).
func (c *Conn) yieldAfterBatch(frames int) {
	slice := int64(batchSlice)
	if c.batchSenders.Load() < 2 {
		if n := c.loneFrames.Add(uint32(frames)); n/heldBatch == (n-uint32(frames))/heldBatch {
			return
		}
		slice = int64(loneSlice)
	}
	now := int64(time.Since(monoStart))
	if now-c.batchYield.Load() < slice {
		return
	}
	c.batchYield.Store(now)
	runtime.Gosched()
}

// batchSlice is how long batch senders run between yields when there are
// several, and loneSlice when there is one.
const (
	batchSlice = 20 * time.Microsecond
	loneSlice  = time.Millisecond
)

// monoStart is the origin of the monotonic times the engine keeps as
// integers.
var monoStart = time.Now()

func (c *Conn) fireAndForget(ctx context.Context, p Payload) error {
	if err := c.acquireLease(ctx, true); err != nil {
		return err
	}
	id, err := c.nextFNF()
	if err != nil {
		return err
	}
	return c.sendRequest(ctx, wire.TypeRequestFNF, id, 0, 0, p, commitBatch)
}

// MetadataPush sends connection-level metadata (METADATA_PUSH on stream 0).
// It cannot be fragmented: md must fit the transport's MaxFrameSize.
func (c *Conn) MetadataPush(ctx context.Context, md []byte) error {
	if c.reqChain != nil {
		return c.intercept(ctx, &Call{Model: ModelMetadataPush, Payload: Payload{Metadata: md}})
	}
	return c.metadataPush(ctx, md)
}

func (c *Conn) metadataPush(ctx context.Context, md []byte) error {
	if md == nil {
		md = []byte{}
	}
	select {
	case <-c.done:
		return c.Err()
	default:
	}
	return c.sendMetadataPush(ctx, md)
}

// RequestStream sends p as REQUEST_STREAM and returns the stream of
// responses. ctx governs the whole stream: when it ends, CANCEL is sent and
// Recv returns ctx.Err(). The connection requests Prefetch items up front
// and replenishes as they are read.
func (c *Conn) RequestStream(ctx context.Context, p Payload) (*Stream, error) {
	if c.reqChain != nil {
		call := &Call{Model: ModelRequestStream, Payload: p}
		if err := c.intercept(ctx, call); err != nil {
			return nil, err
		}
		return call.st, nil
	}
	return c.requestStream(ctx, p)
}

func (c *Conn) requestStream(ctx context.Context, p Payload) (*Stream, error) {
	if err := c.acquireLease(ctx, true); err != nil {
		return nil, err
	}
	s := c.newRequester(ctx, wire.TypeRequestStream)
	if err := c.register(s); err != nil {
		s.stop()
		return nil, err
	}
	if err := c.sendRequest(ctx, wire.TypeRequestStream, s.id, 0, s.grantInitial(), p, commitNow); err != nil {
		if c.unregister(s.id, s) {
			s.terminate(err)
		}
		return nil, err
	}
	return &Stream{s: s}, nil
}

// RequestChannel sends p as the first payload of REQUEST_CHANNEL and returns
// the channel. ctx governs the whole channel as for RequestStream. Send
// blocks until the responder grants credits (REQUEST_N).
func (c *Conn) RequestChannel(ctx context.Context, p Payload) (*Channel, error) {
	if c.reqChain != nil {
		call := &Call{Model: ModelRequestChannel, Payload: p}
		if err := c.intercept(ctx, call); err != nil {
			return nil, err
		}
		return call.ch, nil
	}
	return c.requestChannel(ctx, p)
}

func (c *Conn) requestChannel(ctx context.Context, p Payload) (*Channel, error) {
	if err := c.acquireLease(ctx, true); err != nil {
		return nil, err
	}
	s := c.newRequester(ctx, wire.TypeRequestChannel)
	s.outOpen = true
	if err := c.register(s); err != nil {
		s.stop()
		return nil, err
	}
	if err := c.sendRequest(ctx, wire.TypeRequestChannel, s.id, 0, s.grantInitial(), p, commitNow); err != nil {
		if c.unregister(s.id, s) {
			s.terminate(err)
		}
		return nil, err
	}
	return &Channel{s: s}, nil
}

// grantInitial returns the request(n) a new stream's first grant carries
// (the requester's REQUEST_STREAM or REQUEST_CHANNEL, a channel
// responder's first REQUEST_N), counted as granted: the window for the
// open streams. It is computed once, as the count changes while streams
// open: a frame that granted less than the stream counts would leave the
// stream waiting for payloads the peer has no credit to send, and granting
// no more because it counts them outstanding.
func (s *stream) grantInitial() uint32 {
	n := s.c.initialWindow()
	s.mu.Lock()
	s.granted = int64(n)
	s.mu.Unlock()
	return uint32(n)
}

func (c *Conn) newRequester(ctx context.Context, kind wire.FrameType) *stream {
	s := newStream(c, kind)
	s.ctx = ctx
	s.inOpen = true
	s.stop = context.AfterFunc(ctx, func() { s.cancelLocal(ctx.Err()) })
	return s
}
