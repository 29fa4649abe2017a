package rsocket

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Resumption (spec, "Resuming Operation"). A resumable session outlives
// its transport: when the transport breaks, the client opens a new one
// (ResumeConfig.Redial) and sends RESUME with the session's token; the
// server finds the session, answers RESUME_OK, and both sides retransmit
// what the other has not received. Streams, credits and handlers never
// notice, and every frame is delivered exactly once, in order.
//
// Positions count the bytes of the frames that are resumable (REQUEST_*,
// REQUEST_N, CANCEL, PAYLOAD and ERROR on a stream), as encoded after
// fragmentation and without a length prefix. Each side keeps the frames it
// sent in a bounded retransmit store until the peer's KEEPALIVE reports
// their position received; a side that has received 256 KiB (or
// ResumeConfig.StoreSize/4) since it last said so sends a KEEPALIVE
// (without R) itself, so the peer's store drains at any rate.
//
// The engine sits on a resumeLink, a Transport that forwards to the current
// transport of the session: Claim and Commit store resumable frames and
// stamp the position into every KEEPALIVE; while there is no transport,
// sends go to the store only (they are retransmitted on resumption) and
// never block. Frames are delivered through deliver, which counts positions
// and drops frames of a superseded transport.

// ResumeConfig enables resumption. On the client it goes in
// ClientConfig.Resume and needs Redial; on the server, in ServerConfig.Resume,
// it also holds the server's live sessions, so every connection of one
// server must be given the same *ResumeConfig (do not copy it).
type ResumeConfig struct {
	// Token identifies the session (client only); nil means 16 random
	// bytes. It is a secret: whoever knows it can take the session over.
	Token []byte
	// Redial opens a new transport to the same server after the current
	// one broke (client only, required). It is called with backoff until
	// the session resumes, is rejected, or expires; it may return a
	// transport of another kind (shared memory, then TCP).
	Redial func(ctx context.Context) (Transport, error)
	// SessionTimeout is how long a session without a transport is kept:
	// the client keeps redialing and the server keeps its state. Zero means
	// DefaultSessionTimeout. The session then ends with ErrSessionExpired.
	SessionTimeout time.Duration
	// StoreSize bounds the retransmit store: bytes of resumable frames sent
	// and not yet acknowledged by the peer. Zero means
	// DefaultResumeStoreSize. A session whose store overflows ends with
	// ErrResumeStoreFull.
	StoreSize int

	sessions sessionTable
}

// WithRedial returns a new ResumeConfig with c's settings and Redial set to
// redial: what a client that dials for its user (rshm.Dial) hands the
// engine. The copy shares no server state with c.
func (c *ResumeConfig) WithRedial(redial func(ctx context.Context) (Transport, error)) *ResumeConfig {
	return &ResumeConfig{Token: c.Token, Redial: redial, SessionTimeout: c.SessionTimeout, StoreSize: c.StoreSize}
}

// Resumption defaults.
const (
	DefaultSessionTimeout  = 60 * time.Second
	DefaultResumeStoreSize = 16 << 20
	// ResumeMaxFrameSize caps the frames of a resumable session, so that a
	// session can move between transports (a shared-memory ring takes
	// smaller frames than TCP); larger messages are fragmented.
	ResumeMaxFrameSize = 64 << 10
	// resumeWait bounds the wait for RESUME_OK and the sending of RESUME.
	resumeWait = 5 * time.Second
	// resumeAckEvery is how many received bytes make a side report its
	// position unasked (or StoreSize/4 if smaller). The peer's store then
	// holds what is in flight plus at most this much: about 1.3 MiB with
	// 1 MiB rings in BenchmarkResume, still past the cache (the copy into
	// it leads the sender's profile of
	// BenchmarkResume/shm-stream-64B-resume). One KEEPALIVE per ~3,700
	// 64-byte payloads.
	resumeAckEvery = 256 << 10
)

// Resumption errors.
var (
	// ErrSessionExpired: the session had no transport for longer than
	// ResumeConfig.SessionTimeout.
	ErrSessionExpired = errors.New("rsocket: resumable session expired without a transport")
	// ErrResumeStoreFull: the retransmit store reached
	// ResumeConfig.StoreSize; the peer acknowledges too little.
	ErrResumeStoreFull = errors.New("rsocket: retransmit store full (the peer acknowledged too little; raise ResumeConfig.StoreSize)")
	// ErrResumed is what Server returns for a transport whose first frame
	// was a RESUME that it handed to an existing session: not a failure,
	// and the transport now belongs to that session (do not close it).
	ErrResumed = errors.New("rsocket: transport resumed an existing session")
	// ErrResumePosition: the peer's position is outside what the store can
	// retransmit (frames were lost); the session cannot continue.
	ErrResumePosition = errors.New("rsocket: resume position outside the retransmit store")
)

func (r *ResumeConfig) timeout() time.Duration {
	return orDuration(r.SessionTimeout, DefaultSessionTimeout)
}

func (r *ResumeConfig) storeSize() int {
	if r.StoreSize <= 0 {
		return DefaultResumeStoreSize
	}
	return r.StoreSize
}

// newToken returns 16 random bytes.
func newToken() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}

// resumeLink is a resumable session's transport. Lock order: resumeMu,
// then recvMu, then sendMu, then storeMu, then mu; no lock is held across a
// transport call that can block except sendMu around the current
// transport's Claim (which returns when that transport is closed).
type resumeLink struct {
	c        *Conn
	cfg      *ResumeConfig
	server   bool
	token    []byte
	frameMax int
	timeout  time.Duration
	ackEvery uint64
	ackCh    chan struct{}

	mu        sync.Mutex
	live      atomic.Pointer[liveRef] // written under mu, read by the send path without it
	gen       uint64                  // generation of the current transport
	lastGen   uint64                  // last generation handed out
	closing   atomic.Bool             // Close under way: a break is not resumed
	pending   Transport               // resumed on, retransmitting: becomes cur
	redialing bool                    // client: a redial goroutine is running
	expiry    *time.Timer             // server: ends the session if no RESUME comes

	resumeMu sync.Mutex // server: one RESUME at a time

	sendMu  sync.Mutex // held from Claim to Commit or Abort
	sendT   Transport  // transport of the open claim; nil: scratch
	claimed []byte
	scratch []byte

	storeMu sync.Mutex
	store   frameStore
	sendGen uint64 // the generation whose retransmission store.sent counts

	resumptions atomic.Uint64 // transports the session moved to (Conn.Stats)

	recvMu  sync.Mutex // one delivery at a time, across transports
	recvGen uint64     // frames of other generations are dropped
	implied atomic.Uint64
	ackedAt uint64 // implied position when an ack was last asked for
}

// liveRef is the session's current transport (nil while it has none) and
// whether the session is closed: set together under l.mu (setLive) and
// read with one load, so the send path takes no lock for them.
type liveRef struct {
	t      Transport
	closed bool
}

// setLive replaces the current transport and the closed flag; l.mu is
// held.
func (l *resumeLink) setLive(t Transport, closed bool) {
	l.live.Store(&liveRef{t: t, closed: closed})
}

// current returns the session's current transport, nil while it has none.
func (l *resumeLink) current() Transport { return l.live.Load().t }

func newResumeLink(cfg *ResumeConfig, server bool, token []byte, t Transport) *resumeLink {
	size := cfg.storeSize()
	l := &resumeLink{
		cfg:      cfg,
		server:   server,
		token:    token,
		frameMax: min(t.MaxFrameSize(), ResumeMaxFrameSize),
		timeout:  cfg.timeout(),
		ackEvery: uint64(max(min(size/4, resumeAckEvery), 1)),
		ackCh:    make(chan struct{}, 1),
		gen:      1,
		lastGen:  1,
		recvGen:  1,
	}
	l.store.limit = size
	l.setLive(t, false)
	return l
}

// start runs the session's ack goroutine; it ends when the connection
// closes.
func (l *resumeLink) start(c *Conn) {
	l.c = c
	go l.ackLoop()
}

func (l *resumeLink) ackLoop() {
	for {
		select {
		case <-l.ackCh:
		case <-l.c.done:
			return
		}
		ctx, cancel := context.WithTimeout(l.c.ctx, time.Second)
		_ = l.c.sendKeepalive(ctx, false, nil) // Commit stamps the position
		cancel()
	}
}

// resumable reports whether a frame of type t on stream id counts toward
// the resume position.
func resumable(t wire.FrameType, id uint32) bool {
	switch t {
	case wire.TypeRequestResponse, wire.TypeRequestFNF, wire.TypeRequestStream, wire.TypeRequestChannel,
		wire.TypeRequestN, wire.TypeCancel, wire.TypePayload:
		return true
	case wire.TypeError:
		return id != 0
	}
	return false
}

const keepalivePosEnd = wire.HeaderSize + 8

// MaxFrameSize implements Transport.
func (l *resumeLink) MaxFrameSize() int { return l.frameMax }

// Claim implements Transport: memory of the current transport, or, while
// the session has none, a scratch buffer whose frame Commit only stores.
func (l *resumeLink) Claim(ctx context.Context, n int) ([]byte, error) {
	l.sendMu.Lock()
	for {
		live := l.live.Load()
		t, closed := live.t, live.closed
		if closed {
			l.sendMu.Unlock()
			return nil, ErrClosed
		}
		if t == nil {
			if cap(l.scratch) < n {
				l.scratch = make([]byte, n)
			}
			l.sendT, l.claimed = nil, l.scratch[:n]
			return l.claimed, nil
		}
		b, err := t.Claim(ctx, n)
		if err == nil {
			l.sendT, l.claimed = t, b
			return b, nil
		}
		if ctx.Err() != nil {
			l.sendMu.Unlock()
			return nil, err
		}
		l.broken(t, err)
	}
}

// Commit implements Transport: a resumable frame is stored before it is
// sent; a KEEPALIVE gets the session's received position. A send that
// fails because the transport broke is not an error: a stored frame is
// retransmitted on resumption, others are lost as on any broken link.
func (l *resumeLink) Commit(n int) error { return l.commit(n, false) }

// CommitLater implements laterCommitter: Commit, with the current
// transport's licence to publish the frame with the next ones.
func (l *resumeLink) CommitLater(n int) error { return l.commit(n, true) }

// Flush implements flusher for a current transport that batches.
func (l *resumeLink) Flush() {
	t := l.live.Load().t
	if f, ok := t.(flusher); ok {
		f.Flush()
	}
}

func (l *resumeLink) commit(n int, later bool) error {
	b, t := l.claimed[:n], l.sendT
	l.claimed, l.sendT = nil, nil
	id, typ, _, _ := wire.ParseHeader(b) // the engine's own frame: never short
	if resumable(typ, id) {
		l.storeMu.Lock()
		all := l.store.sent == l.store.end
		ok := l.store.append(b)
		if ok && t != nil && all {
			// Sent on the session's transport, behind all the
			// others. (Not when a resume began since the claim: the
			// frame is retransmitted, and catchUp counts it.)
			l.store.sent = l.store.end
		}
		l.storeMu.Unlock()
		if !ok {
			if t != nil {
				t.Abort()
			}
			l.sendMu.Unlock()
			l.end(ErrResumeStoreFull)
			return ErrResumeStoreFull
		}
	} else if typ == wire.TypeKeepalive && n >= keepalivePosEnd {
		binary.BigEndian.PutUint64(b[wire.HeaderSize:], l.implied.Load()&wire.MaxPosition)
	}
	var err error
	if lc, ok := t.(laterCommitter); ok && later {
		err = lc.CommitLater(n)
	} else if t != nil {
		err = t.Commit(n)
	}
	l.sendMu.Unlock()
	if err != nil {
		l.broken(t, err)
	}
	return nil
}

// Abort implements Transport.
func (l *resumeLink) Abort() {
	if l.sendT != nil {
		l.sendT.Abort()
	}
	l.claimed, l.sendT = nil, nil
	l.sendMu.Unlock()
}

// Receive implements Transport. The session's transports are pumped by
// their own goroutines (see deliver); Receive only waits for the session to
// end.
func (l *resumeLink) Receive(func(frame []byte) error) error {
	<-l.c.done
	return l.c.Err()
}

// Close implements Transport: it ends the session, closing its transport.
func (l *resumeLink) Close() error {
	l.mu.Lock()
	lv := l.live.Load()
	if lv.closed {
		l.mu.Unlock()
		return nil
	}
	t, p := lv.t, l.pending
	l.pending = nil
	l.setLive(nil, true)
	if l.expiry != nil {
		l.expiry.Stop()
	}
	l.mu.Unlock()
	if t != nil {
		_ = t.Close()
	}
	if p != nil {
		_ = p.Close()
	}
	if l.server {
		l.cfg.sessions.remove(l.token, l)
	}
	return nil
}

var (
	_ Driver         = (*resumeLink)(nil)
	_ laterCommitter = (*resumeLink)(nil)
	_ flusher        = (*resumeLink)(nil)
)

// Drive implements Driver by driving the current transport, if it can be.
func (l *resumeLink) Drive(_ func(frame []byte) error, done func() bool, cancel <-chan struct{}) {
	l.mu.Lock()
	t, gen := l.current(), l.gen
	l.mu.Unlock()
	if d, ok := t.(Driver); ok {
		d.Drive(func(frame []byte) error { return l.deliver(gen, frame) }, done, cancel)
	}
}

// connected reports whether the session has a transport.
func (l *resumeLink) connected() bool { return l.current() != nil }

// deliver hands a frame received on transport generation gen to the
// connection: frames of a superseded transport are dropped (the peer
// resends them from the position this side announced), resumable frames
// advance the position, a KEEPALIVE's position trims the store.
func (l *resumeLink) deliver(gen uint64, frame []byte) error {
	l.recvMu.Lock()
	defer l.recvMu.Unlock()
	if gen != l.recvGen {
		return nil
	}
	id, typ, _, err := wire.ParseHeader(frame)
	if err != nil {
		return l.c.handleFrame(frame) // the engine reports the malformed frame
	}
	if resumable(typ, id) {
		pos := l.implied.Load() + uint64(len(frame))
		l.implied.Store(pos)
		if pos-l.ackedAt >= l.ackEvery {
			l.ackedAt = pos
			if !l.tryAck(pos) {
				select {
				case l.ackCh <- struct{}{}:
				default:
				}
			}
		}
	} else if typ == wire.TypeKeepalive && len(frame) >= keepalivePosEnd {
		// Trimming is an optimisation: skip it rather than wait behind a
		// retransmission (this goroutine must keep draining).
		if l.storeMu.TryLock() {
			pos := binary.BigEndian.Uint64(frame[wire.HeaderSize:]) & wire.MaxPosition
			ok, sent := l.store.ack(pos), l.store.sent
			l.storeMu.Unlock()
			if lg := l.c.set.logger; !ok && lg != nil {
				lg.Debug("rsocket: KEEPALIVE position beyond what was sent: ignored", "server", l.server, "pos", pos, "sent", sent)
			}
		}
	}
	return l.c.handleFrame(frame)
}

// expired is a context that is already done: a Claim with it takes space
// only if there is some now.
var expired = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// tryAck sends KEEPALIVE(pos) from the receive path if that needs no wait
// (no send in progress, room in the transport): the ack goroutine may not
// get a thread soon while this one polls (one P, a driven receive loop),
// and the peer's store fills at the rate frames arrive here. Otherwise the
// ack goroutine sends it.
func (l *resumeLink) tryAck(pos uint64) bool {
	if !l.sendMu.TryLock() {
		return false
	}
	defer l.sendMu.Unlock()
	t := l.live.Load().t
	if t == nil {
		return false
	}
	b, err := t.Claim(expired, keepalivePosEnd)
	if err != nil {
		return false
	}
	wire.AppendKeepalive(b[:0], false, pos, nil)
	if err := t.Commit(keepalivePosEnd); err != nil {
		return false
	}
	return true
}

// switchRecv makes gen the only generation whose frames are delivered and
// returns the position received so far: the one announced to the peer.
func (l *resumeLink) switchRecv(gen uint64) uint64 {
	l.recvMu.Lock()
	defer l.recvMu.Unlock()
	l.recvGen = gen
	l.ackedAt = l.implied.Load()
	l.c.voidPeerLease()
	return l.ackedAt
}

func (l *resumeLink) newGen() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastGen++
	return l.lastGen
}

// broken takes t, if it is still the session's transport, out of service:
// it is closed, the client starts redialing and the server starts the
// session's expiry clock.
func (l *resumeLink) broken(t Transport, cause error) {
	l.mu.Lock()
	if lv := l.live.Load(); lv.closed || t == nil || lv.t != t {
		l.mu.Unlock()
		return
	}
	l.setLive(nil, false)
	gen := l.gen
	if l.closing.Load() {
		// Closing: the peer was told, nothing to resume.
	} else if l.server {
		if l.expiry != nil {
			l.expiry.Stop()
		}
		l.expiry = time.AfterFunc(l.timeout, func() { l.expire(gen) })
	} else if !l.redialing {
		l.redialing = true
		go l.redialLoop(time.Now().Add(l.timeout))
	}
	l.mu.Unlock()
	_ = t.Close()
	if lg := l.c.set.logger; lg != nil {
		lg.Debug("rsocket: transport lost, session kept for resumption", "server", l.server, "err", cause)
	}
}

// breakCurrent treats the current transport as broken (keepalive timeout).
func (l *resumeLink) breakCurrent(cause error) { l.broken(l.current(), cause) }

// end ends the session with err, telling the peer (ERROR[CONNECTION_ERROR]
// on stream 0) if there is a transport, so that it does not take the
// closed transport for a break and try to resume.
func (l *resumeLink) end(err error) {
	l.closing.Store(true)
	l.c.endWith(err)
	if l.connected() {
		ctx, cancel := context.WithTimeout(l.c.ctx, 100*time.Millisecond)
		_ = l.c.sendError(ctx, 0, CodeConnectionError, err.Error())
		cancel()
	}
	l.c.fail(err)
}

func (l *resumeLink) expire(gen uint64) {
	l.mu.Lock()
	lv := l.live.Load()
	stale := lv.closed || lv.t != nil || l.gen != gen
	l.mu.Unlock()
	if !stale {
		l.c.fail(ErrSessionExpired)
	}
}

// pumpEnded is called when the goroutine pumping t stops (t.Receive
// returned err). It reports whether the session lives on.
func (l *resumeLink) pumpEnded(t Transport, err error) bool {
	select {
	case <-l.c.done:
		return false
	default:
	}
	l.pendingEnded(t, 0)
	l.broken(t, err)
	return true
}

// accept takes t, generation gen, as the session's next transport: the
// peer received this side's frames up to position from, so the store drops
// what is before, counts what is sent from there on (store.sent, for gen)
// and t becomes pending. Nothing else is sent on t until
// catchUp has retransmitted the rest.
func (l *resumeLink) accept(t Transport, gen, from uint64) error {
	l.storeMu.Lock()
	// The peer cannot have received frames never sent to it.
	ok := from <= l.store.sent && l.store.canResumeFrom(from)
	if ok {
		l.store.trim(from)
		l.store.sent, l.sendGen = from, gen // t has been sent nothing yet
	}
	l.storeMu.Unlock()
	if !ok {
		return ErrResumePosition
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.live.Load().closed {
		return ErrClosed
	}
	if l.pending != nil {
		_ = l.pending.Close()
	}
	l.pending = t
	return nil
}

// catchUp is the goroutine that retransmits the stored frames from
// position from on over t and then makes t the session's transport,
// generation gen. Until then sends go to the store (they are resumable or
// lost, as while disconnected), so neither side's receive goroutine ever
// waits for a retransmission: both keep draining. It ends when done, or
// when t fails (whose pump then ends the attempt).
func (l *resumeLink) catchUp(t Transport, gen, from uint64) {
	p, k := from, uint64(0)
	seeked := false
	var buf []byte
	for {
		l.sendMu.Lock() // no send in progress: the store's end is final
		l.storeMu.Lock()
		if p == l.store.end {
			l.storeMu.Unlock()
			l.mu.Lock()
			ok := !l.live.Load().closed && l.pending == t
			if ok {
				l.gen, l.pending, l.redialing = gen, nil, false
				l.setLive(t, false)
				l.resumptions.Add(1)
				if l.expiry != nil {
					l.expiry.Stop()
					l.expiry = nil
				}
			}
			l.mu.Unlock()
			l.sendMu.Unlock()
			if !ok {
				_ = t.Close()
				return
			}
			l.c.onResumed()
			if lg := l.c.set.logger; lg != nil {
				lg.Debug("rsocket: session resumed", "server", l.server, "from", from, "to", p)
			}
			return
		}
		if !seeked {
			k, seeked = l.store.record(p)
		}
		var ok bool
		if seeked {
			buf, ok = l.store.frameAt(k, p, buf[:0])
		}
		l.storeMu.Unlock()
		l.sendMu.Unlock()
		if !ok {
			// A later resume trimmed the store past p: this
			// transport is no longer the one to catch up.
			_ = t.Close()
			return
		}
		k++
		b, err := t.Claim(l.c.ctx, len(buf))
		if err != nil {
			_ = t.Close()
			return
		}
		copy(b, buf)
		p += uint64(len(buf))
		// Counted before it is published, as commit does: once Commit
		// hands the frame over, the peer may receive it, lose this
		// transport and resume from p before this goroutine runs again;
		// a store.sent behind p would refuse that resume.
		l.storeMu.Lock()
		if l.sendGen == gen {
			l.store.sent = p // no later resume started counting anew
		}
		l.storeMu.Unlock()
		if err := t.Commit(len(buf)); err != nil {
			_ = t.Close()
			return
		}
	}
}

// pendingEnded forgets t as the pending transport (its pump ended; a
// catchUp still running on it can no longer succeed) and reports whether
// generation gen was ever made current, which on the client means whoever
// broke it has started the next redial.
func (l *resumeLink) pendingEnded(t Transport, gen uint64) (wasCurrent bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == t {
		l.pending = nil
	}
	return l.gen >= gen
}

// sendRaw sends one frame on t outside the session (RESUME, RESUME_OK, or
// an ERROR on a transport that never joined it).
func sendRaw(ctx context.Context, t Transport, f *wire.Frame) error {
	n := wire.Size(f)
	b, err := t.Claim(ctx, n)
	if err != nil {
		return err
	}
	b = wire.Append(b[:0], f)
	if len(b) != n {
		t.Abort()
		return errShortEncode
	}
	return t.Commit(n)
}
