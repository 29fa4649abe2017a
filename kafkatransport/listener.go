package kafkatransport

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Listener is a responder of a request topic: a member of the topic's
// consumer group, which hands out one rsocket.Transport per connection of
// the partitions assigned to it (Accept, Serve). The connections of a
// partition that another responder served before (it stopped, or died, or
// the group rebalanced) are handed out too, restored from their
// checkpoints: their transport gives the engine the connection's SETUP
// first and then the records that responder had not finished. See the
// package documentation for what that guarantees.
//
// Goroutines: the poll loop, which reads the request topic and queues each
// record for its connection; the checkpoint loop; those of the franz-go
// client. Close and Shutdown end them.
type Listener struct {
	cfg   Config
	topic string
	state string
	group string
	cl    *kgo.Client
	log   *slog.Logger
	seeds []string
	now   func() time.Time

	// ckMu is held by a checkpoint from its snapshot until its records
	// are produced, and by the tombstoning of a session that ended, so
	// that a checkpoint cannot bring an ended session back.
	ckMu sync.Mutex
	// stopMu serializes the stopping of partitions (rebalances, Close).
	stopMu sync.Mutex

	mu       sync.Mutex
	parts    map[int32]*partition
	sessions map[string]*session
	accepts  []*session    // not yet handed out by Accept
	acceptCh chan struct{} // cap 1: accepts grew

	closing  atomic.Bool
	done     chan struct{} // closed when Close or Shutdown starts
	pollStop context.CancelFunc
	loops    sync.WaitGroup
	once     sync.Once
}

// partition is an assigned partition of the request topic.
type partition struct {
	next      int64 // the offset after the last record read; -1 before any
	committed int64 // the last committed offset; -1 before any
	stopped   bool
}

// Listen joins the responders of the request topic topic on the brokers (the
// consumer group Config.Group) and returns the Listener; it creates the
// topic and the responders' session topic ("<topic>.sessions", compacted)
// if they are missing. Requests wait in the topic for a responder: a new
// group starts at the topic's beginning, a group that served it before at
// the offsets its responders committed.
func Listen(ctx context.Context, brokers []string, topic string, cfg Config) (*Listener, error) {
	if err := checkTopic(brokers, topic); err != nil {
		return nil, err
	}
	l := &Listener{
		cfg: cfg, topic: topic, state: topic + stateSuffix, group: cfg.Group,
		log: cfg.logger(), seeds: brokers, now: time.Now,
		parts: make(map[int32]*partition), sessions: make(map[string]*session),
		acceptCh: make(chan struct{}, 1), done: make(chan struct{}),
	}
	if l.group == "" {
		l.group = topic + groupSuffix
	}
	if err := l.createTopics(ctx); err != nil {
		return nil, err
	}
	cl, err := newClient(brokers, &l.cfg,
		kgo.ConsumerGroup(l.group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(l.assigned),
		kgo.OnPartitionsRevoked(l.revoked),
		kgo.OnPartitionsLost(l.lost),
	)
	if err != nil {
		return nil, err
	}
	l.cl = cl
	pctx, stop := context.WithCancel(context.Background())
	l.pollStop = stop
	l.loops.Add(2)
	go l.poll(pctx)
	go l.checkpoints()
	return l, nil
}

// createTopics creates the request topic and the session topic, with a
// client of their own: the group's client joins as soon as it exists, and
// its first assignment reads the session topic.
func (l *Listener) createTopics(ctx context.Context) error {
	cl, err := newClient(l.seeds, &l.cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	maxMsg := strconv.Itoa(maxMessageBytes(&l.cfg, false))
	if err := ensureTopic(ctx, adm, l.topic, l.cfg.partitions(), retentionConfig(l.cfg.retention(), "max.message.bytes", maxMsg)); err != nil {
		return err
	}
	// The session topic keeps the latest record of each connection for
	// as long as the connection lives: compaction, not retention.
	return ensureTopic(ctx, adm, l.state, 1, map[string]*string{
		"cleanup.policy":    kadm.StringPtr("compact"),
		"max.message.bytes": kadm.StringPtr(strconv.Itoa(maxMessageBytes(&l.cfg, true))),
	})
}

// Topic returns the request topic.
func (l *Listener) Topic() string { return l.topic }

// Accept returns the next connection's transport, for rsocket.Server: a
// new connection, or one restored from another responder. It returns
// ErrClosed once the Listener is closing, or ctx's error.
func (l *Listener) Accept(ctx context.Context) (rsocket.Transport, error) {
	for {
		l.mu.Lock()
		for len(l.accepts) > 0 {
			s := l.accepts[0]
			l.accepts[0] = nil
			l.accepts = l.accepts[1:]
			s.mu.Lock()
			gone := s.stopped || s.closed
			s.mu.Unlock()
			if !gone {
				l.mu.Unlock()
				return s, nil
			}
		}
		l.mu.Unlock()
		select {
		case <-l.acceptCh:
		case <-l.done:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Serve accepts connections until ctx ends or the Listener closes, running
// the server side of RSocket (rsocket.Server with cfg) over each in a
// goroutine of its own, which ends once the connection is established or
// refused; the connections live on after Serve returns. It returns
// ctx.Err() or ErrClosed. It does not close the Listener.
func (l *Listener) Serve(ctx context.Context, cfg rsocket.ServerConfig) error {
	for {
		t, err := l.Accept(ctx)
		if err != nil {
			return err
		}
		go func() { _, _ = rsocket.Server(ctx, t, cfg) }()
	}
}

// pollBackoff is the pause of the poll loop after a fetch error.
const pollBackoff = 100 * time.Millisecond

// poll is the poll loop: it reads the request topic and queues each record
// for its connection. When a connection's queue is over Config.Queue it
// waits for that engine before reading on.
func (l *Listener) poll(ctx context.Context) {
	defer l.loops.Done()
	limit := l.cfg.queue()
	for {
		fs := l.cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		failed := false
		fs.EachError(func(topic string, p int32, err error) {
			failed = true
			l.log.Warn("kafkatransport: reading the request topic", "topic", topic, "partition", p, "err", err)
		})
		if failed {
			// What franz-go reports is not retried by it: do not
			// spin on it.
			select {
			case <-time.After(pollBackoff):
			case <-ctx.Done():
				return
			}
		}
		var full []*session
		fs.EachRecord(func(r *kgo.Record) {
			if s := l.route(r); s != nil && s.queued() > limit {
				full = append(full, s)
			}
		})
		for _, s := range full {
			s.awaitRoom(ctx, limit)
		}
	}
}

// route handles one record of the request topic: a connect record makes a
// session (confirmed at once and queued for Accept), a frame goes to its
// session's queue, a close record ends the session after its frames. It
// returns the session the record went to. Records of a partition no longer
// assigned are dropped (the next owner reads them from the committed
// offset); records of unknown connections (ended ones) are skipped.
func (l *Listener) route(r *kgo.Record) *session {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.parts[r.Partition]
	if p == nil || p.stopped {
		return nil
	}
	p.next = r.Offset + 1
	s := l.sessions[string(r.Key)]
	switch kind(r) {
	case "":
		if s != nil {
			s.push(r)
		}
		return s
	case kindConnect:
		if s == nil {
			l.connect(r)
		}
	case kindClose:
		if s != nil {
			s.peerClosed(r.Offset)
		}
	}
	return nil
}

// connect starts the session of a connect record, or refuses it. With l.mu
// held.
func (l *Listener) connect(r *kgo.Record) {
	reply, _ := header(r, headerReply)
	if !validTopic(reply) || len(r.Key) == 0 {
		l.log.Warn("kafkatransport: connect record without a valid reply topic", "offset", r.Offset)
		return
	}
	id := append([]byte(nil), r.Key...)
	s := newSession(l, l.cl, id, reply, r.Partition)
	if v, _ := header(r, headerVersion); v != protocolVersion {
		s.send(controlRecord(reply, id, kindRefuse, []byte("unsupported version "+strconv.Quote(v)+", want "+protocolVersion)), nil)
		return
	}
	s.connAt = r.Offset
	l.sessions[string(id)] = s
	s.send(controlRecord(reply, id, kindConfirm, nil), nil)
	l.offer(s)
}

// offer queues s for Accept. With l.mu held.
func (l *Listener) offer(s *session) {
	l.accepts = append(l.accepts, s)
	select {
	case l.acceptCh <- struct{}{}:
	default:
	}
}

// end forgets a session that ended for good and deletes its checkpoint.
func (l *Listener) end(s *session) {
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	l.mu.Lock()
	if l.sessions[string(s.id)] == s {
		delete(l.sessions, string(s.id))
	}
	l.mu.Unlock()
	s.mu.Lock()
	wasSaved := !s.ended && s.setup != nil
	s.ended = true
	s.mu.Unlock()
	if wasSaved {
		l.cl.Produce(context.Background(), &kgo.Record{Topic: l.state, Key: s.id}, func(_ *kgo.Record, err error) {
			if err != nil {
				l.log.Warn("kafkatransport: deleting a session record", "connection", string(s.id), "err", err)
			}
		})
	}
}

// checkpoints runs a checkpoint every Config.CheckpointInterval until the
// Listener closes.
func (l *Listener) checkpoints() {
	defer l.loops.Done()
	tick := time.NewTicker(l.cfg.checkpoint())
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.cfg.checkpoint()*5)
			if err := l.checkpoint(ctx, nil); err != nil {
				l.log.Warn("kafkatransport: checkpoint", "err", err)
			}
			cancel()
		case <-l.done:
			return
		}
	}
}

// checkpoint records the progress of the sessions of the partitions ps
// (nil: all assigned) that changed since their last checkpoint, then
// commits for each partition the lowest offset a new owner must read
// again: the first record not finished by any of its sessions, or the
// first one not read.
func (l *Listener) checkpoint(ctx context.Context, ps []int32) error {
	l.ckMu.Lock()
	type saved struct {
		s   *session
		rec *kgo.Record
	}
	var recs []saved
	commits := make(map[int32]kgo.EpochOffset)
	l.mu.Lock()
	if ps == nil {
		for id := range l.parts {
			ps = append(ps, id)
		}
	}
	lows := make(map[int32]int64, len(ps))
	for _, id := range ps {
		if p := l.parts[id]; p != nil && p.next >= 0 {
			lows[id] = p.next
		}
	}
	for _, s := range l.sessions {
		low, ok := lows[s.part]
		if !ok {
			continue
		}
		s.mu.Lock()
		lows[s.part] = min(low, s.low())
		if s.dirty && !s.ended && s.setup != nil {
			s.dirty = false
			recs = append(recs, saved{s, &kgo.Record{Topic: l.state, Key: s.id, Value: appendState(nil, s.state())}})
		}
		s.mu.Unlock()
	}
	for id, low := range lows {
		if p := l.parts[id]; low > p.committed {
			commits[id] = kgo.EpochOffset{Epoch: -1, Offset: low}
		}
	}
	l.mu.Unlock()
	var wg sync.WaitGroup
	var failed atomic.Value
	for _, r := range recs {
		wg.Add(1)
		l.cl.Produce(ctx, r.rec, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, err)
				r.s.mu.Lock()
				r.s.dirty = true
				r.s.mu.Unlock()
			}
			wg.Done()
		})
	}
	l.ckMu.Unlock()
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return fmt.Errorf("kafkatransport: writing session records: %w", err)
	}
	if len(commits) == 0 {
		return nil
	}
	var cerr error
	l.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{l.topic: commits},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if e := kerr.ErrorForCode(p.ErrorCode); e != nil && cerr == nil {
						cerr = e
					}
				}
			}
		})
	if cerr != nil {
		return fmt.Errorf("kafkatransport: committing offsets: %w", cerr)
	}
	l.mu.Lock()
	for id, o := range commits {
		if p := l.parts[id]; p != nil {
			p.committed = max(p.committed, o.Offset)
		}
	}
	l.mu.Unlock()
	return nil
}

// assigned restores the sessions of newly assigned partitions from their
// checkpoints before franz-go starts fetching them.
func (l *Listener) assigned(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	ps := m[l.topic]
	if len(ps) == 0 || l.closing.Load() {
		return
	}
	states, err := l.readStates(ctx, cl, ps)
	for err != nil && ctx.Err() == nil && !l.closing.Load() {
		l.log.Warn("kafkatransport: reading the session records; retrying", "err", err)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		case <-l.done:
		}
		states, err = l.readStates(ctx, cl, ps)
	}
	var restored []*session
	var streams [][]uint32
	l.mu.Lock()
	for _, id := range ps {
		l.parts[id] = &partition{next: -1, committed: -1}
	}
	for id, st := range states {
		if l.sessions[id] != nil {
			continue
		}
		s := restoreSession(l, cl, []byte(id), st)
		l.sessions[id] = s
		restored = append(restored, s)
		streams = append(streams, st.streams)
		l.offer(s)
	}
	l.mu.Unlock()
	for i, s := range restored {
		s.cancelStreams(streams[i])
	}
	if len(restored) > 0 {
		l.log.Info("kafkatransport: restored connections", "topic", l.topic, "partitions", ps, "connections", len(restored))
	}
}

// revoked hands the partitions over: their sessions finish their
// request-responses (for at most DefaultShutdownWait) and are
// checkpointed, and the offsets committed, for the next owner.
func (l *Listener) revoked(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
	if ps := m[l.topic]; len(ps) > 0 && !l.closing.Load() {
		ctx, cancel := context.WithTimeout(ctx, DefaultShutdownWait)
		l.stopPartitions(ctx, ps, true, true)
		cancel()
	}
}

// lost lets the partitions go without a checkpoint: another responder may
// own them already.
func (l *Listener) lost(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
	if ps := m[l.topic]; len(ps) > 0 && !l.closing.Load() {
		l.stopPartitions(ctx, ps, false, false)
	}
}

// stopPartitions detaches the sessions of ps (waiting for their
// request-responses, if wait, until ctx ends) and, with save, hands them
// over: ends their streams and checkpoints them, for at most
// DefaultShutdownWait more whatever ctx says (a hand-over cut short
// leaves the next responder an older checkpoint, to do again what was
// done since). The partitions are then forgotten.
func (l *Listener) stopPartitions(ctx context.Context, ps []int32, wait, save bool) {
	l.stopMu.Lock()
	defer l.stopMu.Unlock()
	l.mu.Lock()
	var ss []*session
	in := make(map[int32]bool, len(ps))
	for _, id := range ps {
		in[id] = true
		if p := l.parts[id]; p != nil {
			p.stopped = true
		}
	}
	for _, s := range l.sessions {
		if in[s.part] {
			ss = append(ss, s)
		}
	}
	l.mu.Unlock()
	for _, s := range ss {
		s.pause()
	}
	streams := make([][]uint32, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Go(func() { streams[i] = s.detach(ctx, wait) })
	}
	wg.Wait()
	if save {
		hctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownWait)
		defer cancel()
		for i, s := range ss {
			wg.Go(func() { s.handOver(hctx, streams[i]) })
		}
		wg.Wait()
		if err := l.checkpoint(hctx, ps); err != nil {
			l.log.Warn("kafkatransport: checkpoint of revoked partitions", "err", err)
		}
	}
	l.mu.Lock()
	for _, s := range ss {
		if l.sessions[string(s.id)] == s {
			delete(l.sessions, string(s.id))
		}
	}
	for _, id := range ps {
		delete(l.parts, id)
	}
	l.mu.Unlock()
}

// Close stops serving at once: no record is handed to an engine any more,
// the streams and channels under way are ended with ERROR[CANCELED], every
// connection is checkpointed (its unanswered request-responses included,
// for the next responder to answer), the group's offsets committed and the
// group left. The engines' connections end with ErrStopped; the requesters
// do not notice (their connections continue with the next responder).
func (l *Listener) Close() error {
	return l.shutdown(context.Background(), false)
}

// Shutdown is Close, but first waits, until ctx ends, for the
// request-responses the engines have been given to be answered (records
// not yet given to an engine are left for the next responder). The
// hand-over after the wait does not depend on ctx: it takes at most
// DefaultShutdownWait.
func (l *Listener) Shutdown(ctx context.Context) error {
	return l.shutdown(ctx, true)
}

func (l *Listener) shutdown(ctx context.Context, wait bool) error {
	l.once.Do(func() {
		// From here the group's callbacks leave the partitions to this.
		l.closing.Store(true)
		close(l.done)
		l.pollStop()
		l.loops.Wait()
		l.mu.Lock()
		var ps []int32
		for id := range l.parts {
			ps = append(ps, id)
		}
		l.mu.Unlock()
		l.stopPartitions(ctx, ps, wait, true)
		l.cl.Close()
	})
	return nil
}

// queued is the length of s's queue.
func (s *session) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// awaitRoom waits until s's queue is at most limit long, s stops, or ctx
// ends.
func (s *session) awaitRoom(ctx context.Context, limit int) {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	for len(s.queue) > limit && !s.stopped && !s.closed && ctx.Err() == nil {
		s.cond.Wait()
	}
	s.mu.Unlock()
}
