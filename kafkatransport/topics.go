package kafkatransport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Errors of a connection. The end-of-connection ones also match, with
// errors.Is, the errors of a socket in the same state (net.ErrClosed,
// io.EOF), so that code written against any transport (rsocket.IsPeerGone)
// reads them.
var (
	// ErrClosed: the transport was closed locally. It matches
	// net.ErrClosed.
	ErrClosed error = &kindError{"kafkatransport: closed", net.ErrClosed}
	// ErrPeerClosed: the other side closed the connection (its close
	// record arrived). It matches io.EOF.
	ErrPeerClosed error = &kindError{"kafkatransport: peer closed the connection", io.EOF}
	// ErrStopped: the responder stopped serving the connection (its
	// Listener closed, or the connection's partition moved to another
	// responder), which continues it. It matches net.ErrClosed.
	ErrStopped error = &kindError{"kafkatransport: responder stopped; another continues the connection", net.ErrClosed}
	// ErrRefused: the responder refused the connection (Dial), with its
	// reason after it.
	ErrRefused = errors.New("kafkatransport: connection refused by the responder")
)

// kindError is a sentinel error that also matches the error of the socket
// state it stands for.
type kindError struct {
	msg  string
	like error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.like }

// Suffixes of the topic names the transport derives from a request topic.
const (
	replySuffix   = ".reply."     // + connection id: a requester's own reply topic
	stateSuffix   = ".sessions"   // the responders' session records
	groupSuffix   = ".responders" // the responders' default consumer group
	idLen         = 32            // hex digits of a connection id
	maxDerivedLen = maxTopicLen - len(replySuffix) - idLen
)

// newID returns a fresh connection id: 16 random bytes in hex.
func newID() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.AppendEncode(nil, b)
}

// checkTopic validates a request topic given to Dial or Listen.
func checkTopic(brokers []string, topic string) error {
	if len(brokers) == 0 {
		return errors.New("kafkatransport: no brokers")
	}
	if !validTopic(topic) || len(topic) > maxDerivedLen {
		return fmt.Errorf("kafkatransport: topic %q is not a Kafka topic name of at most %d characters (a-z A-Z 0-9 . _ -)", topic, maxDerivedLen)
	}
	return nil
}

// newClient makes the transport's Kafka client: opts, then the user's.
// Lingering is off: a frame is often a request that someone waits for, and
// franz-go batches the records that arrive while a produce is in flight.
// A batch holds a frame with room for the record and batch headers, a
// session record (state.go) one SETUP frame with its offsets; the topics
// the transport creates take as much (maxMessageBytes).
func newClient(brokers []string, cfg *Config, opts ...kgo.Opt) (*kgo.Client, error) {
	all := append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ProducerLinger(0),
		kgo.ProducerBatchMaxBytesFn(func(topic string) int32 {
			return int32(maxMessageBytes(cfg, strings.HasSuffix(topic, stateSuffix)))
		}),
		kgo.MaxBufferedRecords(max(cfg.inFlight()*4, 50000)),
	}, opts...)
	return kgo.NewClient(append(all, cfg.ClientOpts...)...)
}

// maxMessageBytes is the batch limit of the transport's records: a frame
// and 64 KiB of headers, or for session records two frames' worth.
func maxMessageBytes(cfg *Config, session bool) int {
	if session {
		return 2*cfg.maxFrame() + 64<<10
	}
	return cfg.maxFrame() + 64<<10
}

// ensureTopic creates topic unless it exists.
func ensureTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int32, configs map[string]*string) error {
	_, err := adm.CreateTopic(ctx, partitions, -1, configs, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("kafkatransport: creating topic %s: %w", topic, err)
	}
	return nil
}

// retentionConfig is the topic configuration for a retention of d.
func retentionConfig(d time.Duration, more ...string) map[string]*string {
	m := map[string]*string{"retention.ms": kadm.StringPtr(strconv.FormatInt(d.Milliseconds(), 10))}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i]] = kadm.StringPtr(more[i+1])
	}
	return m
}
