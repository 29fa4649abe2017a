package handshake

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/shm"
	"github.com/rshm/rshm/shmtransport"
)

// Server negotiates the transport on c, a connection just accepted, and
// returns it: a *Transport over shared memory (KindSHM) or RSocket over TCP
// on c (KindTCP) for a plain RSocket peer or after a fallback. The whole
// negotiation is bounded by cfg.Timeout and ctx. On error c is closed and
// nothing is left in the shm directory.
func Server(ctx context.Context, c net.Conn, cfg Config) (rsocket.Transport, Kind, error) {
	s := serverHS{c: c, cfg: &cfg, br: bufio.NewReaderSize(c, 4096)}
	stop := deadline(ctx, c, cfg.timeout())
	t, k, err := s.run()
	if !stop() && err == nil {
		// ctx ended as the handshake finished.
		_ = t.Close()
		return nil, 0, &Error{Step: StepFinal, Err: context.Cause(ctx)}
	}
	if err != nil {
		_ = c.Close()
		cfg.logger().Debug("handshake: server failed", "remote", c.RemoteAddr(), "err", err)
		return nil, 0, err
	}
	cfg.logger().Debug("handshake: server done", "remote", c.RemoteAddr(), "kind", k)
	return t, k, nil
}

// deadline bounds the handshake on c by d and by ctx. The returned stop
// clears the deadline and reports false when ctx ended first (its deadline
// may then still hit the socket: the caller must give up).
func deadline(ctx context.Context, c net.Conn, d time.Duration) (stop func() bool) {
	_ = c.SetDeadline(time.Now().Add(d))
	off := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return func() bool {
		ok := off()
		_ = c.SetDeadline(time.Time{})
		return ok
	}
}

type serverHS struct {
	c   net.Conn
	br  *bufio.Reader
	cfg *Config
	buf [lengthSize + maxMessage]byte
	out []byte
	h   hello
}

func (s *serverHS) tcp() (rsocket.Transport, Kind, error) {
	// The bytes the sniffer read are the peer's first frame: the transport
	// reads them before the socket.
	prefix, _ := s.br.Peek(s.br.Buffered())
	return s.cfg.tcpTransport(s.c, bytes.Clone(prefix)), KindTCP, nil
}

func (s *serverHS) send(m []byte) error {
	_, err := s.c.Write(m)
	return err
}

func (s *serverHS) run() (rsocket.Transport, Kind, error) {
	first, err := s.br.Peek(sniffSize)
	if err != nil {
		return nil, 0, &Error{Step: StepSniff, Err: err}
	}
	if !isRSHM(first) {
		if s.cfg.Mode == SHMOnly {
			return nil, 0, &Error{Step: StepSniff, Err: errors.New("plain RSocket peer refused: server is shared memory only")}
		}
		return s.tcp()
	}
	m, err := readMessage(s.br, s.buf[:])
	if err != nil {
		return nil, 0, &Error{Step: StepHello, Err: err}
	}
	if s.h, err = parseHello(m); err != nil {
		return nil, 0, &Error{Step: StepHello, Err: err}
	}
	required := s.h.flags&flagRequired != 0
	wait := s.cfg.Wait
	if wait == WaitDefault && s.h.wait.Valid() {
		wait = s.h.wait
	}

	if err := s.check(); err != nil {
		return s.fallback(StepReply, err, required)
	}
	size := ringSize(s.h.ringSize, s.cfg.RingSize, s.cfg.maxRing())
	scfg := unpopulated(s.cfg.SHM)
	scfg.HugePages = scfg.HugePages || s.h.flags&flagHuge != 0
	d := s.cfg.pool.take(size, scfg)
	if d == nil {
		if d, err = createLinked(s.cfg, scfg, size); err != nil {
			return s.fallback(StepCreate, refuse(ReasonCreate, err), required)
		}
	}
	ok := false
	defer func() {
		if !ok {
			discard(d)
		}
	}()
	if s.cfg.hooks != nil && s.cfg.hooks.created != nil {
		s.cfg.hooks.created(d)
	}
	host, err := localHost(s.cfg)
	if err != nil {
		return s.fallback(StepCreate, refuse(ReasonOther, err), required)
	}
	r := reply{
		version:  Version,
		pid:      uint32(os.Getpid()),
		uid:      uint32(os.Getuid()),
		ringSize: uint64(size),
		host:     host,
		name:     d.Region().Name(),
	}
	if _, err := rand.Read(r.nonce[:]); err != nil {
		return s.fallback(StepCreate, refuse(ReasonOther, err), required)
	}
	if err := s.send(appendReply(s.out[:0], r)); err != nil {
		return nil, 0, &Error{Step: StepReply, Err: err}
	}

	m, err = readMessage(s.br, s.buf[:])
	if err != nil {
		return nil, 0, &Error{Step: StepProof, Err: err}
	}
	p, err := parseStatus(m, msgProof)
	if err != nil {
		return nil, 0, &Error{Step: StepProof, Err: err}
	}
	if p.status != statusOK {
		perr := &Error{Step: StepProof, Err: &peerRefusal{refusal{p.reason, p.text}}}
		if required {
			return nil, 0, perr
		}
		s.cfg.logger().Debug("handshake: client fell back to TCP", "err", perr)
		return s.tcp()
	}
	if nonce, ok := d.Region().Confirmed(); !ok || nonce != r.nonce {
		return s.fallback(StepFinal, refuse(ReasonProof, errors.New("the region does not hold the nonce")), required)
	}
	if err := d.Region().Unlink(); err != nil {
		return s.fallback(StepFinal, refuse(ReasonOther, err), required)
	}
	if err := s.send(appendStatus(s.out[:0], msgFinal, status{version: Version})); err != nil {
		return nil, 0, &Error{Step: StepFinal, Err: err}
	}
	ok = true
	return shmtransport.New(d, d.ServerToClient(), d.ClientToServer(), s.c, s.br, s.cfg.transport(wait)), KindSHM, nil
}

// check runs the server's co-location checks on the hello.
func (s *serverHS) check() error {
	if s.cfg.Mode == TCPOnly {
		return refuse(ReasonDisabled, errors.New("server is TCP only"))
	}
	if s.h.version < 1 {
		return refuse(ReasonVersion, fmt.Errorf("version %d", s.h.version))
	}
	if err := checkHost(s.cfg, s.h.host, s.h.pageSize); err != nil {
		return err
	}
	uid, err := peerUID(s.c)
	if err != nil {
		return refuse(ReasonPeer, err)
	}
	return checkUser(s.cfg, "client", "hello", uid, s.h.uid)
}

// fallback sends the refusal for err at step (in a reply or a final) and
// continues over TCP, or fails when the client required shared memory.
func (s *serverHS) fallback(step Step, err error, required bool) (rsocket.Transport, Kind, error) {
	reason, text := reasonOf(err)
	var m []byte
	if step == StepFinal {
		m = appendStatus(s.out[:0], msgFinal, status{version: Version, status: statusFallback, reason: reason, text: text})
	} else {
		m = appendReply(s.out[:0], reply{version: Version, status: statusFallback, reason: reason, text: text})
	}
	if werr := s.send(m); werr != nil {
		return nil, 0, &Error{Step: step, Err: werr}
	}
	if required {
		return nil, 0, &Error{Step: step, Err: err}
	}
	s.cfg.logger().Debug("handshake: falling back to TCP", "step", step, "err", err)
	return s.tcp()
}

// localHost returns this side's boot id and shm directory identity.
func localHost(cfg *Config) (hostID, error) {
	var h hostID
	var err error
	if h.bootID, err = cfg.bootID(); err != nil {
		return h, fmt.Errorf("boot id: %w", err)
	}
	if h.dirDev, h.dirIno, err = dirID(shmDir(cfg)); err != nil {
		return h, fmt.Errorf("shm directory: %w", err)
	}
	return h, nil
}

func shmDir(cfg *Config) string {
	if cfg.SHM.Dir == "" {
		return shm.DefaultDir
	}
	return cfg.SHM.Dir
}

// checkUser checks who the peer is: the owner of its socket, uid, must be
// the user its message (what) names, claimed, and run as this process's
// user, or, with SHM.Group set, may be another user: the region's group
// permissions then decide who can map it (the peer proves it did).
func checkUser(cfg *Config, peer, what string, uid, claimed uint32) error {
	me := uint32(os.Getuid())
	if uid != claimed || uid != me && cfg.SHM.Group == "" {
		return refuse(ReasonUser, fmt.Errorf("%w: %s socket owned by uid %d, %s says %d, this side runs as %d",
			ErrMismatch, peer, uid, what, claimed, me))
	}
	return nil
}

// checkHost compares the peer's host identity and page size with ours.
func checkHost(cfg *Config, peer hostID, pageSize uint32) error {
	me, err := localHost(cfg)
	if err != nil {
		return refuse(ReasonOther, err)
	}
	if me.bootID != peer.bootID {
		return refuse(ReasonHost, fmt.Errorf("%w: boot id %x, ours %x", ErrMismatch, peer.bootID, me.bootID))
	}
	if me.dirDev != peer.dirDev || me.dirIno != peer.dirIno {
		return refuse(ReasonDir, fmt.Errorf("%w: shm directory %s is device %d inode %d here, %d/%d there",
			ErrMismatch, shmDir(cfg), me.dirDev, me.dirIno, peer.dirDev, peer.dirIno))
	}
	if ps := uint32(os.Getpagesize()); pageSize != ps {
		return refuse(ReasonPageSize, fmt.Errorf("%w: page size %d, ours %d", ErrMismatch, pageSize, ps))
	}
	return nil
}
