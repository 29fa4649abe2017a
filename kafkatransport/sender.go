package kafkatransport

import (
	"context"
	"errors"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

var errFrameTooLarge = errors.New("kafkatransport: frame larger than the transport's MaxFrameSize")

// sender is the send side of a connection, either end: each committed
// frame becomes one record with the connection's key, produced
// asynchronously in commit order (claims are serialized, and franz-go keeps
// the order of one partition's records, retrying with its idempotent
// producer without reordering or duplicating them).
//
// Each Claim gets a buffer of its own, which franz-go holds until Kafka
// acknowledges the record: a frame travels by record, so the buffer cannot
// be reused before the broker has answered, and a record costs far more
// than its allocation.
type sender struct {
	cl    *kgo.Client
	topic string
	key   []byte
	max   int

	sem   chan struct{} // held from Claim to Commit or Abort
	slots chan struct{} // one per record produced and not yet acknowledged
	wg    sync.WaitGroup
	// stop is closed when the connection stops sending; stopErr then
	// says why (what Claim and Commit return).
	stop    <-chan struct{}
	stopErr func() error
	// onAck is called with each frame Kafka acknowledged (nil: none);
	// onFail with the error of a record that could not be produced.
	onAck  func(frame []byte)
	onFail func(err error)

	claimed []byte
}

func newSender(cl *kgo.Client, topic string, key []byte, cfg *Config, stop <-chan struct{}, stopErr func() error) *sender {
	return &sender{
		cl: cl, topic: topic, key: key, max: cfg.maxFrame(),
		sem:   make(chan struct{}, 1),
		slots: make(chan struct{}, cfg.inFlight()),
		stop:  stop, stopErr: stopErr,
	}
}

func (s *sender) Claim(ctx context.Context, n int) ([]byte, error) {
	if n < 0 || n > s.max {
		return nil, errFrameTooLarge
	}
	select {
	case <-s.stop:
		return nil, s.stopErr()
	default:
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stop:
		return nil, s.stopErr()
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		<-s.sem
		return nil, ctx.Err()
	case <-s.stop:
		<-s.sem
		return nil, s.stopErr()
	}
	s.claimed = make([]byte, n)
	return s.claimed, nil
}

func (s *sender) Commit(n int) error {
	v := s.claimed[:n]
	s.claimed = nil
	select {
	case <-s.stop:
		<-s.slots
		<-s.sem
		return s.stopErr()
	default:
	}
	s.wg.Add(1)
	// The slots keep what franz-go buffers under its MaxBufferedRecords,
	// so Produce does not block here.
	s.cl.Produce(context.Background(), &kgo.Record{Topic: s.topic, Key: s.key, Value: v}, s.acked)
	<-s.sem
	return nil
}

func (s *sender) Abort() {
	s.claimed = nil
	<-s.slots
	<-s.sem
}

// acked is the promise of every record: on franz-go's goroutine, in
// produce order per partition.
func (s *sender) acked(r *kgo.Record, err error) {
	if err != nil {
		if s.onFail != nil {
			s.onFail(err)
		}
	} else if s.onAck != nil {
		s.onAck(r.Value)
	}
	<-s.slots
	s.wg.Done()
}

// send produces one record outside a claim (a control record, or a frame
// the transport makes itself) after the frames committed so far; the
// record's promise is done.
func (s *sender) send(r *kgo.Record, done func(error)) {
	s.sem <- struct{}{}
	s.wg.Add(1)
	s.cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
		if err == nil && s.onAck != nil && kind(r) == "" {
			s.onAck(r.Value)
		}
		if done != nil {
			done(err)
		}
		s.wg.Done()
	})
	<-s.sem
}

// drain waits until every record produced so far has been acknowledged or
// has failed, or ctx ends. New records must not be produced meanwhile.
func (s *sender) drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
