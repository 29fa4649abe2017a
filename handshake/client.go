package handshake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/shm"
	"github.com/rshm/rshm/shmtransport"
)

// Client negotiates the transport on c, a connection just dialed to an rshm
// server, and returns it: a *Transport over shared memory (KindSHM) or, when
// a check fails and cfg.Mode is Auto, RSocket over TCP on c (KindTCP). With
// SHMOnly a failure is an *Error naming the step. An *Error wrapping
// ErrNotRSHM (or a timeout at StepReply) means the server does not speak
// rshm: c is closed and the caller may dial again for plain TCP (Dial does).
// The negotiation is bounded by cfg.Timeout and ctx; on error c is closed.
func Client(ctx context.Context, c net.Conn, cfg Config) (rsocket.Transport, Kind, error) {
	if cfg.Mode == TCPOnly {
		return cfg.tcpTransport(c, nil), KindTCP, nil
	}
	h := clientHS{c: c, cfg: &cfg}
	stop := deadline(ctx, c, cfg.timeout())
	t, k, err := h.run()
	if !stop() && err == nil {
		_ = t.Close()
		return nil, 0, &Error{Step: StepFinal, Err: context.Cause(ctx)}
	}
	if err != nil {
		_ = c.Close()
		cfg.logger().Debug("handshake: client failed", "remote", c.RemoteAddr(), "err", err)
		return nil, 0, err
	}
	cfg.logger().Debug("handshake: client done", "remote", c.RemoteAddr(), "kind", k)
	return t, k, nil
}

type clientHS struct {
	c   net.Conn
	cfg *Config
	buf [lengthSize + maxMessage]byte
}

func (h *clientHS) required() bool { return h.cfg.Mode == SHMOnly }

func (h *clientHS) send(m []byte) error {
	_, err := h.c.Write(m)
	return err
}

func (h *clientHS) run() (rsocket.Transport, Kind, error) {
	host, err := localHost(h.cfg)
	if err != nil {
		// Without our identity there is nothing to negotiate.
		err = &Error{Step: StepHello, Err: err}
		if h.required() {
			return nil, 0, err
		}
		h.cfg.fellBack(err)
		return h.cfg.tcpTransport(h.c, nil), KindTCP, nil
	}
	hi := hello{
		version:  Version,
		wait:     h.cfg.Wait,
		pageSize: uint32(os.Getpagesize()),
		ringSize: uint64(ringSize(0, h.cfg.RingSize, ringMaxCapacity)),
		host:     host,
		uid:      uint32(os.Getuid()),
		pid:      uint32(os.Getpid()),
	}
	if h.required() {
		hi.flags |= flagRequired
	}
	if h.cfg.SHM.HugePages {
		hi.flags |= flagHuge
	}
	if err := h.send(appendHello(nil, hi)); err != nil {
		return nil, 0, &Error{Step: StepHello, Err: err}
	}

	m, err := readMessage(h.c, h.buf[:])
	if err != nil {
		return nil, 0, &Error{Step: StepReply, Err: err}
	}
	r, err := parseReply(m)
	if err != nil {
		return nil, 0, &Error{Step: StepReply, Err: err}
	}
	if r.status != statusOK {
		perr := &Error{Step: StepReply, Err: &peerRefusal{refusal{r.reason, r.text}}}
		if h.required() {
			return nil, 0, perr
		}
		h.cfg.fellBack(perr)
		return h.cfg.tcpTransport(h.c, nil), KindTCP, nil
	}
	if err := h.check(r); err != nil {
		return h.fallback(StepReply, err)
	}

	d, err := shm.OpenDuplex(unpopulated(h.cfg.SHM), r.name)
	if err != nil {
		return h.fallback(StepOpen, refuse(ReasonOpen, err))
	}
	ok := false
	defer func() {
		if !ok {
			// The server unlinks the name too; a server that died
			// mid-handshake cannot, and the name is known here.
			_ = d.Region().Unlink()
			_ = d.Close()
		}
	}()
	if got := d.RingCapacity(); uint64(got) != r.ringSize {
		return h.fallback(StepOpen, refuse(ReasonOpen, fmt.Errorf("ring capacity %d, reply says %d", got, r.ringSize)))
	}
	if err := d.Region().Confirm(r.nonce); err != nil {
		return h.fallback(StepOpen, refuse(ReasonOpen, err))
	}
	if h.cfg.hooks != nil && h.cfg.hooks.confirmed != nil {
		h.cfg.hooks.confirmed(d)
	}
	if err := h.send(appendStatus(nil, msgProof, status{version: Version})); err != nil {
		return nil, 0, &Error{Step: StepProof, Err: err}
	}
	// The client does not wait for the server's final: the rings are
	// usable now, and the transport's liveness reader reads the final
	// first (Options.Await). A server that refuses there ends the
	// connection with an *Error naming StepFinal.
	ok = true
	o := h.cfg.transport(h.cfg.Wait)
	o.Await = func(r io.Reader) error { return awaitFinal(r, d) }
	return shmtransport.New(d, d.ClientToServer(), d.ServerToClient(), h.c, bufioReader(h.c), o), KindSHM, nil
}

// awaitFinal reads and checks the server's final message, the first thing
// the liveness reader of a client's transport reads.
func awaitFinal(r io.Reader, d *shm.Duplex) error {
	var buf [lengthSize + maxMessage]byte
	m, err := readMessage(r, buf[:])
	if err != nil {
		return &Error{Step: StepFinal, Err: err}
	}
	f, err := parseStatus(m, msgFinal)
	if err != nil {
		return &Error{Step: StepFinal, Err: err}
	}
	if f.status != statusOK {
		return &Error{Step: StepFinal, Err: &peerRefusal{refusal{f.reason, f.text}}}
	}
	// The server unlinked already; unlinking again is harmless and covers
	// a server that did not.
	_ = d.Region().Unlink()
	return nil
}

// check runs the client's checks on the reply: the server is on our kernel,
// sees our shm directory and runs as our user.
func (h *clientHS) check(r reply) error {
	if r.version < 1 {
		return refuse(ReasonVersion, fmt.Errorf("version %d", r.version))
	}
	if err := checkHost(h.cfg, r.host, uint32(os.Getpagesize())); err != nil {
		return err
	}
	uid, err := peerUID(h.c)
	if err != nil {
		return refuse(ReasonPeer, err)
	}
	if err := checkUser(h.cfg, "server", "reply", uid, r.uid); err != nil {
		return err
	}
	if r.ringSize < ringMinCapacity || r.ringSize > ringMaxCapacity {
		return refuse(ReasonOther, fmt.Errorf("ring size %d", r.ringSize))
	}
	return nil
}

// fallback tells the server in a proof message why shared memory failed
// here, then continues over TCP or, with SHMOnly, fails.
func (h *clientHS) fallback(step Step, err error) (rsocket.Transport, Kind, error) {
	reason, text := reasonOf(err)
	if werr := h.send(appendStatus(nil, msgProof, status{version: Version, status: statusFallback, reason: reason, text: text})); werr != nil {
		return nil, 0, &Error{Step: step, Err: errors.Join(err, werr)}
	}
	if h.required() {
		return nil, 0, &Error{Step: step, Err: err}
	}
	h.cfg.fellBack(&Error{Step: step, Err: err})
	return h.cfg.tcpTransport(h.c, nil), KindTCP, nil
}
