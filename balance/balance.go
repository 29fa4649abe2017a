package balance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
)

// Defaults of Config's zero fields.
const (
	// DefaultDecayTime is the time constant of the latency estimate
	// (Finagle's default for its peak EWMA).
	DefaultDecayTime = 10 * time.Second
	// DefaultCheckInterval is how often the stall check runs and an
	// instance waiting for re-admission is probed.
	DefaultCheckInterval = 100 * time.Millisecond
	// DefaultProbeTimeout bounds the Ping that re-admits an instance.
	DefaultProbeTimeout = time.Second
	// DefaultStallFactor: an instance predicted this many times slower than
	// the median admitted instance is ejected.
	DefaultStallFactor = 10
	// DefaultMaxTimeouts: this many requests to one instance in a row that
	// end with their ctx's deadline eject it.
	DefaultMaxTimeouts = 3
	// DefaultMaxEjection caps how long an instance that keeps stalling
	// sits out before it is probed again.
	DefaultMaxEjection = 10 * time.Second
	// DefaultLeaseBackoff is how long an instance whose lease ran out is
	// passed over before a request tries it again.
	DefaultLeaseBackoff = 10 * time.Millisecond
)

var (
	// ErrClosed is a request's error after Close. It matches net.ErrClosed.
	ErrClosed = fmt.Errorf("balance: client closed: %w", net.ErrClosed)
	// ErrNoInstance is a request's error when no instance is admitted:
	// at once with Config.FailFast, else when its ctx ends first (the error
	// then matches ctx's error too).
	ErrNoInstance = errors.New("balance: no instance admitted")
	// ErrNoAddrs is New's error for an empty address list.
	ErrNoAddrs = errors.New("balance: no addresses")
)

// Config configures a Client. The zero value works: P2C, each instance
// dialed as rshm.Dial would with the zero rshm.Config and redialed with
// rshm's default backoff, the defaults above.
type Config struct {
	// Conn configures every instance's connection, as for rshm.Dial (an
	// address's URL scheme overrides Conn.Mode). Conn.Logger, if set, is
	// the balancer's logger too: admissions and ejections at Info, failed
	// probes at Debug. With Conn.Client.Lease set the balancer is
	// lease-aware (see Client).
	Conn rshm.Config
	// Reconnect says how an instance whose connection ended is redialed
	// (its FailFast is ignored: the balancer does not send to an instance
	// without a connection).
	Reconnect rshm.Reconnect
	// Strategy picks the instance for each request; the zero value is P2C.
	Strategy Strategy
	// DecayTime is the time constant of the peak-sensitive latency
	// estimate: how long a peak takes to fade to 1/e. Zero means
	// DefaultDecayTime.
	DecayTime time.Duration
	// CheckInterval is how often the stall check runs and how often an
	// instance waiting for re-admission is probed; it is also the first
	// ejection of an instance that stalled. Zero means
	// DefaultCheckInterval.
	CheckInterval time.Duration
	// ProbeTimeout bounds the Ping that must be answered before an
	// instance (newly connected, or back from an ejection) takes traffic.
	// Zero means DefaultProbeTimeout.
	ProbeTimeout time.Duration
	// StallFactor ejects an instance whose predicted latency is above
	// StallFactor times the median of the admitted instances'. Zero means
	// DefaultStallFactor; negative turns the check off.
	StallFactor float64
	// MaxTimeouts ejects an instance after this many requests in a row
	// ended with their ctx's deadline. Zero means DefaultMaxTimeouts;
	// negative turns the check off.
	MaxTimeouts int
	// MaxEjection caps the ejection of an instance that stalls again soon
	// after each re-admission (each such ejection doubles, from
	// CheckInterval). Zero means DefaultMaxEjection.
	MaxEjection time.Duration
	// LeaseBackoff is how long an instance whose lease ran out is passed
	// over. Zero means DefaultLeaseBackoff.
	LeaseBackoff time.Duration
	// FailFast makes a request made while no instance is admitted fail at
	// once with ErrNoInstance. False: it waits for an admission, up to its
	// ctx.
	FailFast bool
}

func (cfg *Config) normalize() {
	if cfg.DecayTime <= 0 {
		cfg.DecayTime = DefaultDecayTime
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if cfg.StallFactor == 0 {
		cfg.StallFactor = DefaultStallFactor
	}
	if cfg.MaxTimeouts == 0 {
		cfg.MaxTimeouts = DefaultMaxTimeouts
	}
	if cfg.MaxEjection <= 0 {
		cfg.MaxEjection = DefaultMaxEjection
	}
	cfg.MaxEjection = max(cfg.MaxEjection, cfg.CheckInterval)
	if cfg.LeaseBackoff <= 0 {
		cfg.LeaseBackoff = DefaultLeaseBackoff
	}
	cfg.Reconnect.FailFast = false
}

// Client balances requests over the instances of a service, one
// connection each. See the package documentation for how it picks,
// ejects and re-admits.
//
// Goroutines: one per instance that follows its connection (and the
// rshm.Client's, which redials it), and one that runs the stall check;
// all ended by Close.
type Client struct {
	cfg   Config
	insts []*instance // in the order of the addresses given

	// admitted is the instances that take traffic, rebuilt under mu.
	admitted atomic.Pointer[[]*instance]
	rr       atomic.Uint64 // RoundRobin's turn

	now   func() int64    // nanoseconds, monotonic
	randN func(n int) int // uniform in [0, n)

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	close  sync.Once

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when an instance is admitted, and on Close
}

// epoch anchors the Client's clock: time.Since reads the monotonic clock.
var epoch = time.Now()

func monotonic() int64 { return int64(time.Since(epoch)) }

// newClient makes a Client over insts with the given clock and random
// source, and starts nothing.
func newClient(insts []*instance, cfg Config, now func() int64, randN func(int) int) *Client {
	cfg.normalize()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{cfg: cfg, insts: insts, now: now, randN: randN,
		ctx: ctx, cancel: cancel, changed: make(chan struct{})}
	for _, in := range insts {
		in.est.tau = float64(cfg.DecayTime)
	}
	c.admitted.Store(&[]*instance{})
	return c
}

// New starts a Client over addrs (each as for rshm.Dial: host:port,
// shm://host:port or tcp://host:port) and returns at once: instances are
// dialed in the background and take traffic once connected and probed.
// A malformed address or an empty list is the only error.
func New(addrs []string, cfg Config) (*Client, error) {
	if len(addrs) == 0 {
		return nil, ErrNoAddrs
	}
	for _, a := range addrs {
		if _, _, err := rshm.ParseURL(a); err != nil {
			return nil, err
		}
	}
	insts := make([]*instance, len(addrs))
	for i, a := range addrs {
		insts[i] = newInstance(a)
	}
	c := newClient(insts, cfg, monotonic, rand.IntN)
	for _, in := range insts {
		rc, err := rshm.NewClient(in.addr, c.cfg.Conn, c.cfg.Reconnect)
		if err != nil { // ParseURL accepted it
			c.Close()
			return nil, err
		}
		in.client = rc
		c.wg.Add(1)
		go c.watch(in)
	}
	c.wg.Add(1)
	go c.checkLoop()
	return c, nil
}

// Close stops the Client: every instance's connection is closed (requests
// in flight fail with its error) and requests waiting for an admission
// fail with ErrClosed. It is safe to call more than once.
func (c *Client) Close() error {
	c.close.Do(func() {
		c.cancel()
		for _, in := range c.insts {
			if in.client != nil {
				_ = in.client.Close()
			}
		}
		c.wg.Wait()
		c.mu.Lock()
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	})
	return nil
}

// get picks an instance and its connection for a request, waiting for an
// admission when there is none (unless FailFast).
func (c *Client) get(ctx context.Context) (*instance, *rshm.Conn, error) {
	for {
		if c.ctx.Err() != nil {
			return nil, nil, ErrClosed
		}
		if in, conn, ok := c.pick(); ok {
			return in, conn, nil
		}
		if err := c.waitAdmitted(ctx); err != nil {
			return nil, nil, err
		}
	}
}

// pick chooses an admitted instance with a live connection, without
// waiting; false when there is none.
func (c *Client) pick() (*instance, *rshm.Conn, bool) {
	for {
		list := *c.admitted.Load()
		if len(list) == 0 {
			return nil, nil, false
		}
		in := c.choose(list, c.now())
		conn := in.conn.Load()
		if conn == nil {
			continue // ejected since list was loaded
		}
		select {
		case <-conn.Done():
			c.eject(in, conn, ejectEnded)
			continue
		default:
		}
		return in, conn, true
	}
}

// waitAdmitted waits until an instance is admitted, the Client closes or
// ctx ends.
func (c *Client) waitAdmitted(ctx context.Context) error {
	c.mu.Lock()
	changed, n := c.changed, len(*c.admitted.Load())
	c.mu.Unlock()
	switch {
	case c.ctx.Err() != nil:
		return ErrClosed
	case n > 0:
		return nil
	case c.cfg.FailFast:
		return ErrNoInstance
	}
	select {
	case <-changed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNoInstance, context.Cause(ctx))
	}
}

// maxTries bounds the attempts of one request: a retry happens only when
// nothing was sent (see finish), and each passes over the instance that
// refused it.
func (c *Client) maxTries() int { return len(c.insts) }

// RequestResponseAsync sends p to an instance chosen by the strategy and
// returns; h gets the response (as rsocket.Conn.RequestResponseAsync), and
// the round trip feeds the instance's latency estimate. It never waits: with
// no instance admitted it fails with ErrNoInstance. A request whose instance
// refused it before sending (no lease, draining) is tried on another.
func (c *Client) RequestResponseAsync(p rsocket.Payload, h rsocket.ResponseHandler) error {
	for try := 1; ; try++ {
		if c.ctx.Err() != nil {
			return ErrClosed
		}
		in, conn, ok := c.pick()
		if !ok {
			return ErrNoInstance
		}
		a := &asyncAnswer{c: c, in: in, conn: conn, h: h, start: in.start(c.now())}
		err := conn.RequestResponseAsync(p, a)
		if err == nil {
			return nil
		}
		if c.finish(context.Background(), in, conn, a.start, err, false) && try < c.maxTries() {
			continue
		}
		return err
	}
}

// asyncAnswer relays an asynchronous response to its handler after
// counting it against its instance.
type asyncAnswer struct {
	c     *Client
	in    *instance
	conn  *rshm.Conn
	h     rsocket.ResponseHandler
	start int64
}

func (a *asyncAnswer) OnResponse(p rsocket.Payload, err error) {
	a.c.finish(context.Background(), a.in, a.conn, a.start, err, true)
	a.h.OnResponse(p, err)
}

// RequestResponse sends p to an instance chosen by the strategy and waits
// for its response, as rsocket.Conn.RequestResponse. Its round trip feeds
// the instance's latency estimate.
func (c *Client) RequestResponse(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	for try := 1; ; try++ {
		in, conn, err := c.get(ctx)
		if err != nil {
			return rsocket.Payload{}, err
		}
		start := in.start(c.now())
		res, err := conn.RequestResponse(ctx, p)
		if c.finish(ctx, in, conn, start, err, true) && try < c.maxTries() {
			continue
		}
		return res, err
	}
}

// FireAndForget sends p to an instance chosen by the strategy.
func (c *Client) FireAndForget(ctx context.Context, p rsocket.Payload) error {
	for try := 1; ; try++ {
		in, conn, err := c.get(ctx)
		if err != nil {
			return err
		}
		start := in.start(c.now())
		err = conn.FireAndForget(ctx, p)
		if c.finish(ctx, in, conn, start, err, false) && try < c.maxTries() {
			continue
		}
		return err
	}
}

// RequestStream opens a request-stream on an instance chosen by the
// strategy. The stream stays on that instance's connection: if the
// connection ends, Recv returns its error.
func (c *Client) RequestStream(ctx context.Context, p rsocket.Payload) (*rsocket.Stream, error) {
	for try := 1; ; try++ {
		in, conn, err := c.get(ctx)
		if err != nil {
			return nil, err
		}
		start := in.start(c.now())
		s, err := conn.RequestStream(ctx, p)
		if c.finish(ctx, in, conn, start, err, false) && try < c.maxTries() {
			continue
		}
		return s, err
	}
}

// RequestChannel opens a request-channel on an instance chosen by the
// strategy; it stays on that instance's connection, as RequestStream.
func (c *Client) RequestChannel(ctx context.Context, p rsocket.Payload) (*rsocket.Channel, error) {
	for try := 1; ; try++ {
		in, conn, err := c.get(ctx)
		if err != nil {
			return nil, err
		}
		start := in.start(c.now())
		ch, err := conn.RequestChannel(ctx, p)
		if c.finish(ctx, in, conn, start, err, false) && try < c.maxTries() {
			continue
		}
		return ch, err
	}
}

// MetadataPush sends md to one instance chosen by the strategy, as
// rsocket-java's load balancer does: metadata push is connection-level, and
// a balanced client has many connections.
func (c *Client) MetadataPush(ctx context.Context, md []byte) error {
	in, conn, err := c.get(ctx)
	if err != nil {
		return err
	}
	start := in.start(c.now())
	err = conn.MetadataPush(ctx, md)
	c.finish(ctx, in, conn, start, err, false)
	return err
}

// outcome is what a request's end says about its instance.
type outcome uint8

const (
	answered  outcome = iota // the instance answered (a response or an ERROR): it is alive
	noLease                  // refused locally for want of a lease; nothing sent
	draining                 // the peer is closing the connection; nothing sent
	ended                    // the connection ended
	timedOut                 // the request's ctx deadline passed
	abandoned                // the caller cancelled: says nothing of the instance
	rejected                 // the peer answered REJECTED under lease: its lease ran out
)

// classify reads a request's error. connEnded says the connection has
// ended; leased that the Client is lease-aware.
func classify(err, ctxErr error, connEnded, leased bool) outcome {
	switch {
	case err == nil:
		return answered
	case errors.Is(err, rsocket.ErrNoLease):
		return noLease
	case errors.Is(err, rsocket.ErrClosing):
		return draining
	case connEnded:
		return ended
	case ctxErr == context.DeadlineExceeded && errors.Is(err, context.DeadlineExceeded):
		return timedOut
	case ctxErr != nil && errors.Is(err, ctxErr):
		return abandoned
	case leased && errors.Is(err, &rsocket.Error{Code: rsocket.CodeRejected}):
		return rejected
	}
	return answered
}

// finish records the end of a request to in that started at start and
// ended with err, measured says whether its time is a round trip; it
// reports whether the request was not sent and may be tried elsewhere.
//
// A request whose connection ends while it is in flight fails with the
// connection's error and is not retried: only the application knows
// which requests are safe to repeat. A request refused before it was sent
// (no lease, or the peer is closing the connection) is retried on another
// instance.
func (c *Client) finish(ctx context.Context, in *instance, conn *rshm.Conn, start int64, err error, measured bool) bool {
	now := c.now()
	in.end(now)
	// Err, not Done: a connection that fails records its error before
	// it ends its streams, and closes Done after.
	connEnded := err != nil && conn.Err() != nil
	switch classify(err, ctx.Err(), connEnded, c.cfg.Conn.Client.Lease != nil) {
	case answered:
		in.requests.Add(1)
		if measured {
			in.est.observe(now-start, now)
		}
		if in.timeouts.Load() != 0 {
			in.timeouts.Store(0)
		}
	case noLease:
		in.blockLease(now + int64(c.cfg.LeaseBackoff))
		return true
	case draining:
		c.eject(in, conn, ejectDraining)
		return true
	case ended:
		in.requests.Add(1)
		in.failures.Add(1)
		c.eject(in, conn, ejectEnded)
	case timedOut:
		in.requests.Add(1)
		in.failures.Add(1)
		if measured {
			in.est.observe(now-start, now)
		}
		if n := c.cfg.MaxTimeouts; n > 0 && int(in.timeouts.Add(1)) >= n {
			c.eject(in, conn, ejectTimeouts)
		}
	case abandoned:
		in.requests.Add(1)
	case rejected:
		in.requests.Add(1)
		in.blockLease(now + int64(c.cfg.LeaseBackoff))
	}
	return false
}
