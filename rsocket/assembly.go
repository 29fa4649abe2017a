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

// add appends a fragment; false means the message exceeds limit.
func (a *assembly) add(f *wire.Frame, limit int) bool {
	if len(a.md)+len(a.data)+len(f.Metadata)+len(f.Data) > limit {
		return false
	}
	if f.Metadata != nil {
		a.hasMD = true
		a.md = append(a.md, f.Metadata...)
	}
	a.data = append(a.data, f.Data...)
	return true
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

func (a *assembly) reset() {
	a.active = false
}
