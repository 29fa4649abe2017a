package rsocket

// TransportStats is what a transport counts of its traffic (see
// TrafficCounter and RingCounter). The transports of this module count at
// no cost to their hot paths: each side counts under a lock or token it
// holds anyway, and reading takes them for a moment.
type TransportStats struct {
	// FramesSent and BytesSent count the frames committed and their bytes
	// (frame bytes, without a transport's own framing); FramesReceived and
	// BytesReceived those delivered.
	FramesSent, FramesReceived uint64
	BytesSent, BytesReceived   uint64
	// Shared memory: the capacity of each ring, the times this side's
	// receive loop parked on its ring's futex word, and the futex wakes
	// this side made for the peer. Zero over other transports.
	RingSize     int
	Parks, Wakes uint64
}

// TrafficCounter is implemented by a Transport that counts its traffic
// (the TCP, shared-memory and pipe transports do): the frames committed and
// delivered, and their bytes. Its methods use basic types so that a
// transport implements it without importing this package.
type TrafficCounter interface {
	Traffic() (framesSent, bytesSent, framesReceived, bytesReceived uint64)
}

// RingCounter is implemented by a Transport over rings (shared memory):
// their capacity, and the parks and wakes of this side.
type RingCounter interface {
	RingStats() (size int, parks, wakes uint64)
}

// Stats is a snapshot of a connection's counters.
type Stats struct {
	// Transport is the current transport's count (for a resumable session,
	// the transport it runs on now; each one counts from zero).
	Transport TransportStats
	// StreamsOpen is the streams open now, in both directions.
	StreamsOpen int
	// Resumptions counts the times a resumable session moved to a new
	// transport.
	Resumptions uint64
}

// Stats returns the connection's counters now.
func (c *Conn) Stats() Stats {
	s := Stats{StreamsOpen: c.openStreams()}
	t := c.t
	if c.res != nil {
		t = c.res.current()
		s.Resumptions = c.res.resumptions.Load()
	}
	if r, ok := t.(TrafficCounter); ok {
		ts := &s.Transport
		ts.FramesSent, ts.BytesSent, ts.FramesReceived, ts.BytesReceived = r.Traffic()
	}
	if r, ok := t.(RingCounter); ok {
		ts := &s.Transport
		ts.RingSize, ts.Parks, ts.Wakes = r.RingStats()
	}
	return s
}
