package kafkatransport

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// closeWait bounds how long Close spends sending what was committed, the
// close record and deleting the connection's own reply topic.
const closeWait = 2 * time.Second

// Dial connects to the responders of the request topic topic on the
// brokers and returns the requester's side of the connection, for
// rsocket.Client. It creates the request topic if it is missing (and the
// connection's own reply topic, see Config.ReplyTopic), starts reading the
// reply topic at its end, announces the connection on the request topic
// (a connect record naming the reply topic) and waits until a responder
// confirms it, or ctx ends: while no responder runs, Dial waits. Once
// connected, the requests it sends wait in the log while the responder is
// down; the engine's keepalive (rsocket.ClientConfig.MaxLifetime) is what
// decides how long a silent responder is tolerated.
//
// Goroutines: those of the connection's franz-go client, ended by Close.
func Dial(ctx context.Context, brokers []string, topic string, cfg Config) (rsocket.Transport, error) {
	if err := checkTopic(brokers, topic); err != nil {
		return nil, err
	}
	id := newID()
	reply, own := cfg.ReplyTopic, cfg.ReplyTopic == ""
	if own {
		reply = topic + replySuffix + string(id)
	} else if !validTopic(reply) {
		return nil, fmt.Errorf("kafkatransport: reply topic %q is not a Kafka topic name", reply)
	}
	cl, err := newClient(brokers, &cfg)
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	fail := func(err error) (rsocket.Transport, error) {
		if own {
			dctx, cancel := context.WithTimeout(context.Background(), closeWait)
			_, _ = adm.DeleteTopic(dctx, reply)
			cancel()
		}
		cl.Close()
		return nil, err
	}
	conf := retentionConfig(cfg.retention(), "max.message.bytes", strconv.Itoa(maxMessageBytes(&cfg, false)))
	if err := ensureTopic(ctx, adm, topic, cfg.partitions(), conf); err != nil {
		return fail(err)
	}
	// A shared reply topic gets the request topic's partitions, its own
	// one: what the connection reads.
	replyParts := cfg.partitions()
	if own {
		replyParts = 1
	}
	if err := ensureTopic(ctx, adm, reply, replyParts, conf); err != nil {
		return fail(err)
	}
	ends, err := adm.ListEndOffsets(ctx, reply)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fail(fmt.Errorf("kafkatransport: reading the end of %s: %w", reply, err))
	}
	cl.AddConsumePartitions(ends.KOffsets())

	t := &clientTransport{cl: cl, adm: adm, id: id, topic: topic, reply: reply, own: own, stop: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.sender = newSender(cl, topic, id, &cfg, t.stop, t.stopErr)
	t.sender.onFail = t.failSend
	connect := controlRecord(topic, id, kindConnect, nil, headerVersion, protocolVersion, headerReply, reply)
	if err := cl.ProduceSync(ctx, connect).FirstErr(); err != nil {
		t.cancel()
		return fail(fmt.Errorf("kafkatransport: announcing the connection on %s: %w", topic, err))
	}
	if err := t.awaitConfirm(ctx); err != nil {
		t.cancel()
		// The responder may yet read the connect record: tell it.
		cctx, cancel := context.WithTimeout(context.Background(), closeWait)
		_ = cl.ProduceSync(cctx, controlRecord(topic, id, kindClose, nil)).FirstErr()
		cancel()
		return fail(err)
	}
	return t, nil
}

// clientTransport is the requester's side of a connection.
type clientTransport struct {
	*sender
	cl    *kgo.Client
	adm   *kadm.Client
	id    []byte
	topic string
	reply string
	own   bool // reply is the connection's own topic: Close deletes it

	ctx    context.Context // the reading of the reply topic; cancelled by Close or a failure
	cancel context.CancelFunc
	// backlog holds the records read with the confirm record that come
	// after it (Receive delivers them first).
	backlog []*kgo.Record

	stop      chan struct{} // closed by Close or a failure: no more sending
	stopOnce  sync.Once
	closeOnce sync.Once
	mu        sync.Mutex
	err       error // why stop was closed
	peerGone  bool  // the responder's close record arrived
}

// awaitConfirm reads the reply topic until the responder confirms or
// refuses the connection.
func (t *clientTransport) awaitConfirm(ctx context.Context) error {
	for {
		fs := t.cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("kafkatransport: no responder confirmed the connection on %s: %w", t.topic, err)
		}
		var err error
		fs.EachError(func(topic string, _ int32, e error) {
			if err == nil {
				err = fmt.Errorf("kafkatransport: reading %s: %w", topic, e)
			}
		})
		if err != nil {
			return err
		}
		confirmed := false
		fs.EachRecord(func(r *kgo.Record) {
			if confirmed {
				t.backlog = append(t.backlog, r)
				return
			}
			if string(r.Key) != string(t.id) || err != nil {
				return
			}
			switch kind(r) {
			case kindConfirm:
				confirmed = true
			case kindRefuse:
				err = fmt.Errorf("%w: %s", ErrRefused, r.Value)
			}
		})
		if err != nil || confirmed {
			return err
		}
	}
}

func (t *clientTransport) MaxFrameSize() int { return t.max }

// Receive delivers the frames of the connection's records on the reply
// topic, in order, until the responder closes the connection
// (ErrPeerClosed), the transport closes or fails, or fn fails. A frame is
// valid while fn runs (it is the record's value, which franz-go does not
// reuse; the engine copies what it keeps anyway).
func (t *clientTransport) Receive(fn func(frame []byte) error) error {
	deliver := func(r *kgo.Record) (bool, error) {
		if string(r.Key) != string(t.id) {
			return false, nil // another connection's, on a shared reply topic
		}
		switch kind(r) {
		case "":
			return false, fn(r.Value)
		case kindClose:
			t.mu.Lock()
			t.peerGone = true
			t.mu.Unlock()
			return true, ErrPeerClosed
		}
		return false, nil
	}
	for len(t.backlog) > 0 {
		r := t.backlog[0]
		t.backlog = t.backlog[1:]
		if _, err := deliver(r); err != nil {
			return err
		}
	}
	for {
		fs := t.cl.PollFetches(t.ctx)
		if t.ctx.Err() != nil {
			return t.stopErr()
		}
		var err error
		fs.EachError(func(topic string, p int32, e error) {
			// Retriable errors do not come here; these end the
			// connection (the reply topic deleted, authorization).
			if err == nil && !errors.Is(e, context.Canceled) {
				err = fmt.Errorf("kafkatransport: reading %s: %w", topic, e)
			}
		})
		if err != nil {
			t.fail(err)
			return err
		}
		iter := fs.RecordIter()
		for !iter.Done() {
			if _, err := deliver(iter.Next()); err != nil {
				return err
			}
		}
	}
}

// stopErr is why the transport stopped.
func (t *clientTransport) stopErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		return ErrClosed
	}
	return t.err
}

// failSend ends the connection when a record could not be produced: the
// frames after it would arrive without it.
func (t *clientTransport) failSend(err error) {
	t.fail(fmt.Errorf("kafkatransport: producing to %s: %w", t.topic, err))
}

// fail stops the transport with err, unless it has stopped already.
func (t *clientTransport) fail(err error) {
	t.mu.Lock()
	first := t.err == nil
	if first {
		t.err = err
	}
	t.mu.Unlock()
	if first {
		t.stopOnce.Do(func() { close(t.stop) })
		t.cancel()
	}
}

// Close sends what was committed and the close record (unless the
// responder closed first), deletes the connection's own reply topic and
// closes the Kafka client. Each step is bounded by closeWait together.
func (t *clientTransport) Close() error {
	t.closeOnce.Do(func() {
		t.stopOnce.Do(func() { close(t.stop) })
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		_ = t.drain(ctx)
		t.mu.Lock()
		peerGone := t.peerGone
		t.mu.Unlock()
		if !peerGone {
			_ = t.cl.ProduceSync(ctx, controlRecord(t.topic, t.id, kindClose, nil)).FirstErr()
		}
		t.cancel()
		if t.own {
			_, _ = t.adm.DeleteTopic(ctx, t.reply)
		}
		t.cl.Close()
	})
	return nil
}
