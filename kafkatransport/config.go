package kafkatransport

import (
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults used where a Config field is zero.
const (
	// DefaultMaxFrameSize is the largest frame one record carries: half of
	// a broker's default message.max.bytes (1,000,012), leaving room for
	// the batch and record headers. The engine fragments larger messages.
	DefaultMaxFrameSize = 512 << 10
	// DefaultPartitions is the partition count of a request topic the
	// transport creates.
	DefaultPartitions = 1
	// DefaultRetention is the retention of the topics the transport
	// creates: Kafka's own default.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultCheckpointInterval is how often a responder checkpoints.
	DefaultCheckpointInterval = time.Second
	// DefaultInFlight is how many records one connection may have sent
	// and not yet had acknowledged before Claim blocks.
	DefaultInFlight = 4096
	// DefaultQueue is how many records a responder holds for one
	// connection whose engine has not taken them before it stops reading
	// the request topic.
	DefaultQueue = 4096
	// DefaultShutdownWait bounds how long a responder that gives up
	// partitions in a rebalance waits for unanswered request-responses
	// (Listener.Shutdown takes a context instead), and then, apart, how
	// long any stop spends handing its connections over (ending their
	// streams, having what it sent acknowledged, checkpointing). Both stay
	// well under the consumer group's rebalance timeout.
	DefaultShutdownWait = 10 * time.Second
)

// Config configures Dial and Listen. The zero value works; the fields
// marked for one side are ignored by the other.
type Config struct {
	// ClientOpts are franz-go options added after the transport's own to
	// the Kafka client it makes: TLS (kgo.DialTLSConfig), SASL (kgo.SASL),
	// a dialer (kgo.Dialer), the client's logging (kgo.WithLogger). Options
	// that change what the transport relies on (the consumer group, the
	// topics consumed, manual commits) break it.
	ClientOpts []kgo.Opt
	// MaxFrameSize is the largest frame a record carries; zero means
	// DefaultMaxFrameSize. It must not exceed the topics' max.message.bytes.
	MaxFrameSize int
	// Partitions is the partition count of a request topic the transport
	// creates (Dial and Listen create a missing one); zero means
	// DefaultPartitions. Connections are spread over partitions by their
	// id, and a consumer group shares partitions among responders, so this
	// bounds how many responders share the load.
	Partitions int32
	// Retention is the retention.ms of the topics the transport creates:
	// how long a request waits in the log for a responder before Kafka
	// deletes it. Zero means DefaultRetention. Topics that exist keep
	// their own.
	Retention time.Duration
	// InFlight bounds the records of one connection sent and not yet
	// acknowledged by Kafka; Claim blocks beyond it. Zero means
	// DefaultInFlight.
	InFlight int

	// ReplyTopic (Dial) is the topic the responder answers on. Empty means
	// a topic of the connection's own, "<topic>.reply.<connection id>",
	// which Dial creates and Close deletes. A shared reply topic works too:
	// each requester reads it from its end when it connects and skips the
	// other connections' records.
	ReplyTopic string

	// Group (Listen) is the consumer group of the topic's responders;
	// empty means "<topic>.responders". Responders of one group share the
	// topic's partitions and take over the connections of a partition
	// that moves between them.
	Group string
	// MaxRequestAge (Listen): a request whose record is older than this
	// when the responder reads it is not handed to the engine: a
	// request-response, stream or channel is answered ERROR[REJECTED], a
	// fire-and-forget is dropped. Zero means no limit beyond the topic's
	// retention.
	MaxRequestAge time.Duration
	// CheckpointInterval (Listen) is how often the responder records each
	// connection's progress and commits the group's offsets; zero means
	// DefaultCheckpointInterval. A responder that dies without stopping
	// leaves what it did since its last checkpoint to be done again by the
	// next one.
	CheckpointInterval time.Duration
	// Queue (Listen) bounds the records held for one connection that its
	// engine has not taken; the responder stops reading until it has. Zero
	// means DefaultQueue.
	Queue int

	// Logger receives diagnostics; nil is silent.
	Logger *slog.Logger
}

func (c *Config) maxFrame() int {
	if c.MaxFrameSize <= 0 {
		return DefaultMaxFrameSize
	}
	return c.MaxFrameSize
}

func (c *Config) partitions() int32 {
	if c.Partitions <= 0 {
		return DefaultPartitions
	}
	return c.Partitions
}

func (c *Config) retention() time.Duration {
	if c.Retention <= 0 {
		return DefaultRetention
	}
	return c.Retention
}

func (c *Config) inFlight() int {
	if c.InFlight <= 0 {
		return DefaultInFlight
	}
	return c.InFlight
}

func (c *Config) queue() int {
	if c.Queue <= 0 {
		return DefaultQueue
	}
	return c.Queue
}

func (c *Config) checkpoint() time.Duration {
	if c.CheckpointInterval <= 0 {
		return DefaultCheckpointInterval
	}
	return c.CheckpointInterval
}

func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}
