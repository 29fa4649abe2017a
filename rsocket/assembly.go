package rsocket

import "github.com/rshm/rshm/rsocket/internal/wire"

// assembly reassembles a fragmented message on the receive goroutine. Its
// buffers belong to the stream and are reused for the stream's next message.
type assembly struct {
	active   bool
	kind     wire.FrameType // type of the first fragment
	initialN uint32
	next     bool
	hasMD    bool
	md, data []byte
	slot     int // index in the connection's partials while active
	reserved int // the capacity presize gave data, counted in partials.presized
}

func (a *assembly) start(f *wire.Frame) {
	a.active = true
	a.kind = f.Type
	a.initialN = f.InitialN
	a.next = f.Flags&wire.FlagNext != 0
	a.hasMD = false
	a.md = a.md[:0]
	a.data = a.data[:0]
}

// size is how many message bytes the assembly holds.
func (a *assembly) size() int { return len(a.md) + len(a.data) }

// add appends a fragment.
func (a *assembly) add(f *wire.Frame) {
	if f.Metadata != nil {
		a.hasMD = true
		a.md = append(a.md, f.Metadata...)
	}
	a.data = append(a.data, f.Data...)
}

func (a *assembly) message() (md, data []byte) {
	if a.hasMD {
		md = a.md
		if md == nil {
			md = []byte{}
		}
	}
	return md, a.data
}

// asmOverhead is what a partial message counts in the reassembly budget
// beside its bytes: its stream's record and buffers, so that a flood of
// tiny partial messages is bounded too.
const asmOverhead = 1 << 10

// partials is a connection's account of its partial messages, receive
// goroutine only: the streams whose assembly is active and what they hold
// (bytes, plus asmOverhead each), checked against MaxReassemblyBytes. A
// stream leaves it when its message completes or fails here; a stream that
// ended elsewhere (a cancel, the peer's ERROR, its handler) stays counted
// until sweep finds it out of the table, which it does before a fragment
// is refused.
type partials struct {
	held     int
	presized int       // the capacity presize gave active assemblies
	streams  []*stream // s.asm.slot is s's index
}

// reassemble adds fragment f to s's message, starting one if none is under
// way. It fails with ErrMessageTooLarge past MaxMessageSize and with
// ErrReassemblyLimit past the connection's reassembly budget; the caller
// then drops the assembly (rejectMessage).
func (c *Conn) reassemble(s *stream, f *wire.Frame) error {
	p := &c.partial
	if !s.asm.active {
		s.asm.start(f)
		s.asm.slot = len(p.streams)
		p.streams = append(p.streams, s)
		p.held += asmOverhead
		if h := c.presize(); cap(s.asm.data) < h {
			s.asm.data = make([]byte, 0, h)
			s.asm.reserved = h
			p.presized += h
		}
	}
	n := len(f.Metadata) + len(f.Data)
	if s.asm.size()+n > c.set.maxMessage {
		return ErrMessageTooLarge
	}
	if b := c.set.maxAsm; b > 0 && p.held+n > b {
		c.sweep()
		if p.held+n > b {
			return ErrReassemblyLimit
		}
	}
	s.asm.add(f)
	p.held += n
	return nil
}

// presize is the capacity a new assembly's data buffer starts with, or 0
// to let it grow: the size of the last fragmented message (its successors
// are likely as large) instead of a doubling chain of buffers, each copied
// into the next. Buffers given out this way that are not yet filled stay
// within half the reassembly budget (and spareCap each), so that streams
// that start messages and never finish them hold little beyond it.
func (c *Conn) presize() int {
	h := min(c.asmHint, c.spareCap())
	if b := c.set.maxAsm; b > 0 && c.partial.presized+h > b/2 {
		return 0
	}
	return h
}

// finish takes s's completed message out of the account; its buffers stay
// with s (the message is a view of them).
func (c *Conn) finish(s *stream) {
	p := &c.partial
	c.asmHint = len(s.asm.data)
	p.presized -= s.asm.reserved
	s.asm.reserved = 0
	p.held -= s.asm.size() + asmOverhead
	last := p.streams[len(p.streams)-1]
	p.streams[s.asm.slot] = last
	last.asm.slot = s.asm.slot
	p.streams[len(p.streams)-1] = nil
	p.streams = p.streams[:len(p.streams)-1]
	s.asm.active = false
}

// drop ends s's assembly, if active, and frees its buffers.
func (c *Conn) drop(s *stream) {
	if s.asm.active {
		c.finish(s)
	}
	s.asm.md, s.asm.data = nil, nil
}

// sweep drops the partial messages of streams no longer in the table.
func (c *Conn) sweep() {
	p := &c.partial
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < len(p.streams); {
		if s := p.streams[i]; c.streams.get(s.id) != s {
			c.drop(s) // moves the last one into slot i
			continue
		}
		i++
	}
}

// maxSpare bounds the reassembly buffer a connection keeps for its next
// fragmented request (Conn.asmSpare); a smaller reassembly budget bounds
// it too.
const maxSpare = 8 << 20

// spareCap is the largest spare buffer the connection keeps.
func (c *Conn) spareCap() int {
	if b := c.set.maxAsm; b > 0 {
		return min(maxSpare, b)
	}
	return maxSpare
}

// releaseReceive lets go of what the receive side keeps for the next
// frames (partial messages, the spare buffer, the last stream looked up),
// once no frame can be delivered any more: a closed Conn the application
// still refers to then holds none of it.
func (c *Conn) releaseReceive() {
	for _, s := range c.partial.streams {
		s.asm = assembly{}
	}
	c.partial = partials{}
	c.asmSpare = nil
	c.lastStream = nil
}
