package rsocket

import (
	"cmp"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Conn is one RSocket connection. Both sides are requester and responder:
// the client's streams have odd ids, the server's even ones.
//
// Goroutines: a Conn owns one receive goroutine (calling Transport.Receive
// and dispatching every frame), one keepalive goroutine, one lease goroutine
// when lease was negotiated (running the LeaseStrategy), and one goroutine
// per running responder handler (and per received fire-and-forget or
// metadata push), and, after the peer's CONNECTION_CLOSE, one goroutine
// that closes the connection once its stream table is empty. All of them
// end when the connection closes; requester calls start none. Close, a fatal
// protocol error, a keepalive timeout, the peer's ERROR on stream 0 (other
// than CONNECTION_CLOSE, and the setup-class codes once established) or the
// transport failing close the connection and fail every open stream with
// the cause (Err).
type Conn struct {
	t      Transport
	recvT  Transport                // what the receive goroutine pumps (t, or a resumable session's first transport)
	driver Driver                   // t, when its receive side can be driven by a waiting requester
	later  laterCommitter           // t, when it can hold a commit for the next ones
	driven drivenCommitter          // t, when it can hold a driving requester's commit
	held   heldCommitter            // t, when its claim can be held across a batch
	onRecv func(frame []byte) error // c.onFrame, bound once
	// fragTurn is held by the sender of a fragmented message on a
	// transport without a held claim (sendFragments).
	fragTurn chan struct{}
	// marks is set when t reports the ends of its receive batches
	// (batchMarker) and is not a resumable session's: the receive side
	// may then hold a stream's lock across a batch (pushHeld). drivenBy is
	// the stream whose reader receives the current batch while it drives
	// (stream.onDriven); heldS is the stream whose lock the batch holds,
	// holdN the payloads pushed under it and holdWake whether its reader
	// is to be woken when it is let go. Receiving goroutine only.
	marks    bool
	drivenBy *stream
	heldS    *stream
	holdN    int
	holdWake bool
	// reqChain runs a request through the requester interceptors; nil
	// without any (interceptor.go).
	reqChain func(context.Context, *Call) error
	// rrWoken counts the blocking requesters woken with their answers
	// that have not run yet; a driving requester yields while it is not
	// zero (rrDriven).
	rrWoken atomic.Int64
	// inWoken counts the stream and channel readers woken for a payload
	// that have not run yet (stream.pushLocked counts, stream.recv takes
	// its own back); a reader driving the receive side yields while it
	// counts others (stream.inReady).
	inWoken atomic.Int64
	// rrFree recycles this connection's request-response records (getRR,
	// putRR). Per connection, not per process: a record's rrDone channel
	// belongs to the goroutines that made it, and a testing/synctest
	// bubble must not share a channel with code outside it (a record made
	// in one bubble and reused outside it is a fatal error).
	rrFree sync.Pool
	server bool
	set    settings

	ctx context.Context // cancelled when the connection closes
	// batchYield is when batch senders last yielded (yieldAfterBatch),
	// in nanoseconds from monoStart.
	batchYield atomic.Int64
	// batchSenders counts the calls in FireAndForgetBatch: a lone one
	// yields less often (yieldAfterBatch).
	batchSenders atomic.Int32
	// loneFrames counts the frames a lone FireAndForgetBatch sent, for
	// when it looks at the clock (yieldAfterBatch).
	loneFrames atomic.Uint32
	cancel     context.CancelFunc

	mu      sync.Mutex
	streams streamTable
	// Stream ids: the k-th id handed out (k from 0) is idFirst+2*(k mod
	// idLap), idLap being how many ids of this side's parity there are.
	// idSeq counts them; before the first lap ends every id is new, so a
	// fire-and-forget takes one without c.mu (nextFNF). shut is set with
	// closing or closed, so that path sees them without the lock.
	idSeq     atomic.Uint64
	idFirst   uint32
	idLap     uint64
	shut      atomic.Bool
	closing   bool          // graceful close under way: no new requests
	idle      chan struct{} // closed when the table empties while closing
	closeSent bool          // this side sent CONNECTION_CLOSE: inbound requests are REJECTED
	peerClose *Error        // the peer's CONNECTION_CLOSE: as closeSent, and Err once closed
	// ending is the error this side ends with once it has told the peer
	// (endWith): the peer may close the transport on reading it before
	// this side fails, and the transport's end is then no cause.
	ending    error
	closed    bool
	err       error
	done      chan struct{}
	handler   Handler // the application's, behind a guard (responder.go)
	inline    InlineResponder
	inlineFNF InlineFireAndForget
	ready     chan struct{} // server: closed once SETUP was accepted
	setupErr  error
	acceptor  func(ctx context.Context, setup SetupInfo, conn *Conn) (Handler, error)
	leaseCfg  *LeaseConfig // server: how to lease if SETUP asks for it

	// lease is non-nil iff lease was negotiated; set before any request can
	// be made (Client; the server's onSetup before the Acceptor runs).
	lease *leaseState

	// inlineMark is the table entry of an inline request-response;
	// inlineID the one in its handler call (serveInline).
	inlineMark stream
	inlineID   atomic.Uint32

	// Resumption: res is the session (nil without resumption); frames
	// this connection's receive goroutine reads belong to its transport
	// generation resGen. A server connection whose first frame was RESUME
	// only pumps its transport for another connection's session.
	res       *resumeLink
	resGen    uint64
	resumeCfg *ResumeConfig // server: sessions, if resumption is served
	resumed   chan struct{} // server: closed when the transport joined a session

	recvSeen atomic.Bool // a frame arrived since the keepalive loop last looked
	// pong is closed by the next KEEPALIVE answer: the Pings waiting.
	pong atomic.Pointer[chan struct{}]
	// loanOut is the stream id of the loan that holds the transport's
	// claim, shifted up, with 1 in the low bits while one does (see
	// abortLoanOf); 0 when none.
	loanOut atomic.Uint64

	// tableGen counts removals and replacements in streams (made with c.mu
	// held): the receive side reuses its last lookup while it is unchanged.
	tableGen atomic.Uint64

	// Receive goroutine only (or a driver: one at a time).
	rf          wire.Frame
	setupSeen   bool
	established bool   // client: a frame other than ERROR came from the server
	lastID      uint32 // the last lookup: id, result and tableGen
	lastStream  *stream
	lastGen     uint64
	// asmSpare is a reassembly buffer kept from the last fragmented
	// request whose stream no longer needs it, for the next one: a large
	// request that comes in fragments then neither allocates nor grows a
	// buffer of its own.
	asmSpare []byte
	// asmHint is the size of the last message that came in fragments: a
	// new assembly whose buffer is smaller starts with one this large
	// (within the reassembly budget) instead of growing to it by doubling.
	asmHint int
	partial partials // the partial messages, within set.maxAsm
	// setupTaken: the first frame (or the failure to read it) came and
	// stopped the setup deadline; setupLate: the deadline had passed
	// already (setupTurn).
	setupTaken, setupLate bool

	// Server limits (ServerConfig), set before the receive goroutine
	// starts: the setup deadline's timer (nil without one), the cap on
	// the client's max lifetime (0: none) and the idle timeout (0: none).
	// reqSeen is set when a request is made or received, and cleared by
	// the keepalive loop, which checks the idle timeout.
	setupTimer  *time.Timer
	lifetimeCap time.Duration
	idleTimeout time.Duration
	reqSeen     atomic.Bool
}

func newConn(t Transport, server bool, set settings) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		fragTurn: make(chan struct{}, 1),
		recvT:    t,
		server:   server,
		set:      set,
		ctx:      ctx,
		cancel:   cancel,
		streams:  newStreamTable(),
		done:     make(chan struct{}),
		ready:    make(chan struct{}),
		resumed:  make(chan struct{}),
		idFirst:  1,
	}
	if server {
		c.idFirst = 2
	}
	c.idLap = uint64(wire.MaxStreamID-c.idFirst)/2 + 1
	c.setTransport(t)
	if m, ok := t.(batchMarker); ok {
		m.SetBatchEnd(c.endBatch)
		c.marks = true
	}
	c.onRecv = c.onFrame
	c.reqChain = chain(set.requesters, c.request)
	c.inlineMark.responder = true
	c.inlineMark.kind = wire.TypeRequestResponse
	c.setHandler(set.handler)
	return c
}

// setTransport makes t the transport frames are sent on, with the optional
// interfaces the send and wait paths use looked up once, so they always
// belong to t.
//
// Every path of Conn that claims transport memory recovers a fault in it
// (guardFault), so a transport that can skip its own guard is told so; the
// transport it replaces (a resumable session's first one, which the
// session's link uses from then on, unguarded) is told to guard again.
func (c *Conn) setTransport(t Transport) {
	if g, ok := c.t.(callerGuards); ok {
		g.SetCallerGuards(false)
	}
	if g, ok := t.(callerGuards); ok {
		g.SetCallerGuards(true)
	}
	c.t = t
	c.driver, _ = t.(Driver)
	c.later, _ = t.(laterCommitter)
	c.driven, _ = t.(drivenCommitter)
	c.held, _ = t.(heldCommitter)
	// newConn turns marks on for its transport; a later transport is a
	// resumable server session's, set at SETUP before any stream, and
	// turns it off for good (the first transport still calls endBatch,
	// which then finds nothing held).
	c.marks = false
}

// setHandler makes h answer the peer's requests, behind the responder
// interceptors, which the inline paths would bypass: with any, those are
// not used.
func (c *Conn) setHandler(h Handler) {
	if h == nil {
		h = RejectAll{}
	}
	g := &guard{c: c, h: h}
	g.chain = chain(c.set.responders, g.respond)
	c.handler = g
	c.inline, c.inlineFNF = nil, nil
	if g.chain == nil {
		c.inline, _ = h.(InlineResponder)
		c.inlineFNF, _ = h.(InlineFireAndForget)
	}
}

// Client runs the client side of RSocket over t: it sends SETUP and returns
// at once (RSocket has no setup acknowledgement; a rejection arrives later
// as the connection's error). ctx bounds only the sending of SETUP.
func Client(ctx context.Context, t Transport, cfg ClientConfig) (*Conn, error) {
	metadataMIME, dataMIME := orString(cfg.MetadataMIME, DefaultMIME), orString(cfg.DataMIME, DefaultMIME)
	if len(metadataMIME) > 255 || len(dataMIME) > 255 {
		_ = t.Close()
		return nil, errors.New("rsocket: MIME type longer than 255 bytes")
	}
	var link *resumeLink
	first := t
	if r := cfg.Resume; r != nil {
		if r.Redial == nil {
			_ = t.Close()
			return nil, errors.New("rsocket: ClientConfig.Resume needs Redial")
		}
		token := r.Token
		if token == nil {
			token = newToken()
		}
		if len(token) == 0 || len(token) > 0xFFFF {
			_ = t.Close()
			return nil, errors.New("rsocket: resume token must be 1 to 65535 bytes")
		}
		link = newResumeLink(r, false, token, t)
		t = link
	}
	set := resolve(cfg.MTU, cfg.MaxMessageSize, cfg.Prefetch, cfg.Logger, t.MaxFrameSize()).
		withPrefetchBytes(cfg.PrefetchBytes).withReassembly(cfg.MaxReassemblyBytes)
	set.keepalive = orDuration(cfg.KeepaliveInterval, DefaultKeepaliveInterval)
	set.maxLifetime = orDuration(cfg.MaxLifetime, DefaultMaxLifetime)
	set.handler = cfg.Handler
	set.requesters, set.responders = cfg.RequesterInterceptors, cfg.ResponderInterceptors
	c := newConn(t, false, set)
	close(c.ready)
	if link != nil {
		c.recvT, c.res, c.resGen = first, link, 1
		link.start(c)
	}
	if cfg.Lease != nil {
		c.lease = newLeaseState(cfg.Lease)
	}
	f := wire.Frame{
		Type:              wire.TypeSetup,
		MajorVersion:      wire.MajorVersion,
		MinorVersion:      wire.MinorVersion,
		KeepaliveInterval: uint32(min(set.keepalive.Milliseconds(), maxRequestN)),
		MaxLifetime:       uint32(min(set.maxLifetime.Milliseconds(), maxRequestN)),
		MetadataMIME:      []byte(metadataMIME),
		DataMIME:          []byte(dataMIME),
		Metadata:          cfg.SetupPayload.Metadata,
		Data:              cfg.SetupPayload.Data,
	}
	if f.KeepaliveInterval == 0 {
		f.KeepaliveInterval = 1
	}
	if f.MaxLifetime == 0 {
		f.MaxLifetime = 1
	}
	if c.lease != nil {
		f.Flags |= wire.FlagLease
	}
	if link != nil {
		f.Flags |= wire.FlagResume
		f.ResumeToken = link.token
	}
	// From here a failure closes the connection (c.fail), not only the
	// transport: that ends the goroutines a resumable session has started.
	if err := c.sendSetup(ctx, &f); err != nil {
		c.fail(err)
		return nil, err
	}
	c.setupSeen = true
	go c.receiveLoop()
	go c.keepaliveLoop(set.keepalive, set.maxLifetime, true)
	if c.lease != nil {
		go c.leaseLoop()
	}
	return c, nil
}

// Server runs the server side of RSocket over t: it waits for the client's
// SETUP, runs cfg.Acceptor and returns the connection, or the rejection
// (which was also sent to the client). If ctx ends first, t is closed.
//
// Before the first frame the server holds little for the client: the
// frame may be at most cfg.MaxSetupSize long and must come within
// cfg.SetupTimeout (Server then returns ErrSetupTimeout).
func Server(ctx context.Context, t Transport, cfg ServerConfig) (*Conn, error) {
	set := resolve(cfg.MTU, cfg.MaxMessageSize, cfg.Prefetch, cfg.Logger, t.MaxFrameSize()).
		withPrefetchBytes(cfg.PrefetchBytes).withReassembly(cfg.MaxReassemblyBytes)
	set.requesters, set.responders = cfg.RequesterInterceptors, cfg.ResponderInterceptors
	c := newConn(t, true, set)
	c.acceptor = cfg.Acceptor
	c.leaseCfg = cfg.Lease
	c.resumeCfg = cfg.Resume
	if cfg.MaxLifetime >= 0 {
		c.lifetimeCap = orDuration(cfg.MaxLifetime, DefaultMaxLifetimeCap)
	}
	c.idleTimeout = max(cfg.IdleTimeout, 0)
	if l, ok := t.(recvLimiter); ok && cfg.MaxSetupSize >= 0 {
		l.limitRecv(cmp.Or(cfg.MaxSetupSize, DefaultMaxSetupSize))
	}
	if cfg.SetupTimeout >= 0 {
		c.mu.Lock() // fail, on the timer's goroutine, reads it
		c.setupTimer = time.AfterFunc(orDuration(cfg.SetupTimeout, DefaultSetupTimeout), c.setupTimedOut)
		c.mu.Unlock()
	}
	go c.receiveLoop()
	select {
	case <-c.ready:
		return c, nil
	case <-c.resumed:
		return nil, ErrResumed
	case <-c.done:
		if c.setupErr != nil {
			return nil, c.setupErr
		}
		return nil, c.Err()
	case <-ctx.Done():
		c.fail(ctx.Err())
		return nil, ctx.Err()
	}
}

// Done is closed when the connection has closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection closed (nil while it is open): ErrClosed
// after Close, an *Error from the peer's ERROR frame or one this side sent,
// ErrKeepaliveTimeout, or the transport's error.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection at once: the transport is closed and every
// open stream fails with ErrClosed. A resumable session first tells the
// peer (ERROR[CONNECTION_CLOSE]), which would otherwise keep the session
// for resumption. It is safe to call more than once.
func (c *Conn) Close() error {
	if c.res != nil && c.res.c == c && c.res.connected() {
		c.res.closing.Store(true)
		c.endWith(ErrClosed)
		ctx, cancel := context.WithTimeout(c.ctx, 100*time.Millisecond)
		_ = c.sendError(ctx, 0, CodeConnectionClose, "closed")
		cancel()
	}
	c.fail(ErrClosed)
	return nil
}

// CloseGracefully stops new requests from this side (they fail with
// ErrClosing), waits until every open stream (in both directions) has
// finished, then sends ERROR[CONNECTION_CLOSE]. From then on requests from
// the peer are answered with ERROR[REJECTED], and it waits for the peer to
// close the connection: a request the peer sent before it saw
// CONNECTION_CLOSE still gets its answer, and the peer closes once its own
// streams have finished. Err is then ErrClosed. If ctx ends first it closes
// at once; it returns ctx.Err() if streams were still open, else nil.
func (c *Conn) CloseGracefully(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	c.shut.Store(true)
	idle := c.idleLocked()
	c.mu.Unlock()
	select {
	case <-idle:
	case <-c.done:
		return nil
	case <-ctx.Done():
		c.fail(ErrClosed)
		return ctx.Err()
	}
	c.mu.Lock()
	c.closeSent = true
	c.mu.Unlock()
	if c.res != nil {
		c.res.closing.Store(true) // the peer's close is not a break to resume
	}
	if err := c.sendError(ctx, 0, CodeConnectionClose, "graceful close"); err != nil {
		c.fail(ErrClosed)
		return nil
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		open := c.streams.len()
		c.mu.Unlock()
		c.fail(ErrClosed)
		if open > 0 {
			return ctx.Err()
		}
		return nil
	}
}

// idleLocked returns the channel closed when the stream table is empty
// while closing, making it on first use (c.mu held).
func (c *Conn) idleLocked() chan struct{} {
	if c.idle == nil {
		c.idle = make(chan struct{})
		if c.streams.len() == 0 {
			close(c.idle)
		}
	}
	return c.idle
}

// onConnectionClose handles the peer's ERROR[CONNECTION_CLOSE] (spec: the
// receiver waits for outstanding streams to terminate before closing, and
// may refuse new requests): requests from this side fail with ErrClosing,
// requests from the peer are answered with ERROR[REJECTED], open streams in
// both directions run to their end, and then the connection closes with
// the peer's error as Err.
func (c *Conn) onConnectionClose(e *Error) {
	c.mu.Lock()
	if c.closed || c.peerClose != nil {
		c.mu.Unlock()
		return
	}
	c.peerClose = e
	c.closing = true
	c.shut.Store(true)
	idle := c.idleLocked()
	c.mu.Unlock()
	if c.res != nil {
		c.res.closing.Store(true) // the peer is leaving: nothing to resume
	}
	go func() {
		select {
		case <-idle:
			c.fail(e)
		case <-c.done:
		}
	}()
}

// closeCause is the error a connection ends with when its transport ends
// with err: after a CONNECTION_CLOSE (either way) that end is expected.
func (c *Conn) closeCause(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ending != nil:
		return c.ending
	case c.peerClose != nil:
		return c.peerClose
	case c.closeSent:
		return ErrClosed
	}
	return err
}

// endWith records err as the error the connection ends with, before this
// side tells the peer so and fails (closeCause).
func (c *Conn) endWith(err error) {
	c.mu.Lock()
	if c.ending == nil {
		c.ending = err
	}
	c.mu.Unlock()
}

// fail closes the connection with err, once: the transport is closed and
// every open stream is ended with err.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.shut.Store(true)
	c.err = err
	var streams []*stream
	c.streams.each(func(s *stream) { streams = append(streams, s) })
	c.streams.reset()
	c.tableGen.Add(1)
	setupTimer := c.setupTimer
	c.mu.Unlock()
	c.cancel()
	if setupTimer != nil {
		setupTimer.Stop()
	}
	_ = c.t.Close()
	for _, s := range streams {
		s.terminate(err)
	}
	close(c.done)
	if c.set.logger != nil {
		c.set.logger.Debug("rsocket: connection closed", "server", c.server, "err", err)
	}
}

// connError sends ERROR[code] on stream 0 and closes the connection.
func (c *Conn) connError(code ErrorCode, msg string) {
	err := &Error{Code: code, Message: msg}
	c.endWith(err)
	ctx, cancel := context.WithTimeout(c.ctx, time.Second)
	_ = c.sendError(ctx, 0, code, msg)
	cancel()
	c.fail(err)
}

func (c *Conn) receiveLoop() {
	rt := c.recvT
	err := rt.Receive(c.onRecv)
	if errors.Is(err, errRecvLimit) {
		// The peer declared a frame over the limit before SETUP (the
		// only time a limit is set).
		if c.setupTurn() {
			c.rejectSetup(CodeInvalidSetup, err.Error())
		}
		<-c.done
		return
	}
	if r := c.res; r != nil {
		// A resumable session's transport: its break is not the end,
		// unless the session is closing (CONNECTION_CLOSE sent or
		// received), which is not resumed.
		lives := r.pumpEnded(rt, err)
		if lives && r.closing.Load() {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			r.c.fail(r.c.closeCause(err))
			lives = false
		}
		if r.c != c {
			c.fail(ErrResumed) // this connection only carried the transport
			return
		}
		if lives {
			return
		}
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	c.fail(c.closeCause(err))
	if c.res == nil && c.driver == nil {
		// Nothing delivers frames any more. (Where a Driver may still
		// be delivering one, whose lookup writes the receive side's
		// state, that state goes with the Conn.)
		c.releaseReceive()
	}
}

// register allocates a stream id and adds s to the table.
func (c *Conn) register(s *stream) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, err := c.newID()
	if err == nil {
		s.id = id
		c.streams.put(id, s)
		c.sawRequest()
	}
	return err
}

// sawRequest notes a request for the idle timeout: a plain load per
// request, a store the first time after each keepalive tick.
func (c *Conn) sawRequest() {
	if !c.reqSeen.Load() {
		c.reqSeen.Store(true)
	}
}

// newID returns the next stream id not in the table (c.mu held).
func (c *Conn) newID() (uint32, error) {
	if c.closed {
		return 0, c.err
	}
	if c.closing {
		return 0, ErrClosing
	}
	return c.idFrom(c.idSeq.Add(1) - 1), nil
}

// idAt returns the k-th id. After a lap the ids start again at the side's
// first (1 or 2), keeping parity and never reaching 0. (No division on the
// first lap: a fire-and-forget flood calls this per request.)
func (c *Conn) idAt(k uint64) uint32 {
	if k >= c.idLap {
		k %= c.idLap
	}
	return c.idFirst + 2*uint32(k)
}

// idFrom returns the k-th id, or the first id after it that is not in the
// table (c.mu held): after the first lap, ids still in use are skipped.
func (c *Conn) idFrom(k uint64) uint32 {
	for {
		id := c.idAt(k)
		if k < c.idLap {
			return id // never handed out before: cannot be in the table
		}
		if c.streams.get(id) == nil {
			return id
		}
		k = c.idSeq.Add(1) - 1
	}
}

// nextFNF allocates an id for a fire-and-forget, which holds no table
// entry: on the first lap of ids with one atomic add and no lock (senders
// of fire-and-forget floods pay for every locked instruction).
func (c *Conn) nextFNF() (uint32, error) {
	if c.shut.Load() {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.newID()
	}
	c.sawRequest()
	k := c.idSeq.Add(1) - 1
	if k < c.idLap {
		return c.idAt(k), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idFrom(k), nil
}

// nextFNFs allocates m consecutive ids for fire-and-forget requests, as
// nextFNF does one, and returns the first one's index (idAt). It reports
// false after the first lap of ids, or once the connection is shut: the
// caller then allocates one at a time (ids it skipped are never used).
func (c *Conn) nextFNFs(m int) (uint64, bool) {
	if c.shut.Load() {
		return 0, false
	}
	c.sawRequest()
	k := c.idSeq.Add(uint64(m)) - uint64(m)
	return k, k+uint64(m) <= c.idLap
}

// openStreams is how many streams the connection has open, read without
// its lock: what the prefetch windows are shared among.
func (c *Conn) openStreams() int { return int(c.streams.live.Load()) }

// initialWindow is the request(n) a new stream or channel starts with.
func (c *Conn) initialWindow() int { return c.set.initialWindow(c.openStreams()) }

// lookup returns the stream with this id, or nil. Receive side only: a
// stream's frames usually come in runs, so it keeps the last stream found
// and returns it again without the lock while the table has had nothing
// removed or replaced since.
func (c *Conn) lookup(id uint32) *stream {
	if id == c.lastID && c.lastStream != nil && c.tableGen.Load() == c.lastGen {
		return c.lastStream
	}
	c.mu.Lock()
	s := c.streams.get(id)
	gen := c.tableGen.Load()
	c.mu.Unlock()
	c.lastID, c.lastStream, c.lastGen = id, s, gen
	return s
}

// unregister removes s from the table if it is still there and reports
// whether this call removed it (so exactly one party completes a stream).
func (c *Conn) unregister(id uint32, s *stream) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s == nil || c.streams.get(id) != s {
		return false
	}
	c.streams.del(id)
	c.tableGen.Add(1)
	if c.closing && c.streams.len() == 0 && c.idle != nil {
		select {
		case <-c.idle:
		default:
			close(c.idle)
		}
	}
	return true
}
