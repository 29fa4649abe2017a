package rsocket

import "github.com/rshm/rshm/rsocket/internal/wire"

// frameStore is the retransmit store of a resumable session: the frames
// this side sent that count toward the resume position (REQUEST_*,
// REQUEST_N, CANCEL, stream ERROR and PAYLOAD) and that the peer has not yet
// acknowledged, in send order.
//
// Positions count frame bytes, as the spec does, so the frames are kept
// back to back in a circular byte buffer where a position's offset is
// arithmetic: position first is at data[head], first+k at data[head+k]
// (wrapped). Their lengths, which the wire frame does not carry, are kept
// apart in a circular slice of their own, one per record: finding a frame
// boundary (trim, canResumeFrom) walks that compact slice instead of the
// frame bytes, which an acknowledgement finds long out of the cache.
// Records are numbered from the session's first: the oldest stored is
// number firstRec, and a reader holding a number and a position (catchUp)
// stays valid across appends, trims and growth.
//
// The records (a frame and its four-byte length) never take more than
// limit bytes: append reports false instead. The buffers grow by doubling:
// the frame bytes' up to limit, the lengths' up to the most records limit
// bytes can hold (a frame has at least a header), so the memory held stays
// under 1.4 times limit.
type frameStore struct {
	data     []byte   // frame bytes; position first at data[head]
	head     int      //
	lens     []uint32 // frame lengths; record firstRec at lens[lhead]
	lhead    int      //
	recs     int      // records stored
	firstRec uint64   // number of the oldest stored record
	limit    int
	first    uint64 // position of the oldest stored frame
	end      uint64 // position after the newest frame: bytes of counted frames sent
	// sent is the position up to which frames were handed to a
	// transport: end while the session has one, less while it has none or
	// is retransmitting after a resume. The peer cannot have received
	// more, so an acknowledgement beyond it is wrong (ack).
	sent uint64
}

// recordHeader is what a record costs beside its frame: its length.
const recordHeader = 4

// used is the memory the records count against the limit.
func (s *frameStore) used() int { return int(s.end-s.first) + recordHeader*s.recs }

// append stores a copy of frame; false if the store would exceed its limit.
func (s *frameStore) append(frame []byte) bool {
	if s.used()+recordHeader+len(frame) > s.limit {
		return false
	}
	size := int(s.end - s.first)
	if size+len(frame) > len(s.data) {
		s.growData(size + len(frame))
	}
	if s.recs == len(s.lens) {
		s.growLens()
	}
	tail := wrap(s.head+size, len(s.data))
	if k := copy(s.data[tail:], frame); k < len(frame) {
		copy(s.data, frame[k:])
	}
	s.lens[wrap(s.lhead+s.recs, len(s.lens))] = uint32(len(frame))
	s.recs++
	s.end += uint64(len(frame))
	return true
}

// wrap maps an offset below 2n into [0, n).
func wrap(off, n int) int {
	if off >= n {
		off -= n
	}
	return off
}

// growData moves the frames to the start of a buffer of at least need
// bytes.
func (s *frameStore) growData(need int) {
	size := max(2*len(s.data), 4096)
	for size < need {
		size *= 2
	}
	size = min(size, s.limit)
	nb := make([]byte, size)
	if n := int(s.end - s.first); n > 0 {
		if k := copy(nb[:n], s.data[s.head:]); k < n {
			copy(nb[k:n], s.data)
		}
	}
	s.data, s.head = nb, 0
}

// growLens doubles the room for lengths, up to the most records the limit
// holds.
func (s *frameStore) growLens() {
	most := s.limit / (recordHeader + wire.HeaderSize)
	nl := make([]uint32, max(min(2*len(s.lens), most), 256, s.recs+1))
	k := copy(nl[:s.recs], s.lens[s.lhead:])
	copy(nl[k:s.recs], s.lens)
	s.lens, s.lhead = nl, 0
}

// lenOf returns the frame length of record number k (stored).
func (s *frameStore) lenOf(k uint64) int {
	return int(s.lens[wrap(s.lhead+int(k-s.firstRec), len(s.lens))])
}

// trim drops the frames wholly before position pos (the peer received
// them). A pos inside a frame keeps that frame.
func (s *frameStore) trim(pos uint64) {
	for s.recs > 0 {
		n := s.lens[s.lhead]
		if s.first+uint64(n) > pos {
			return
		}
		s.first += uint64(n)
		s.head = wrap(s.head+int(n), len(s.data))
		s.lhead = wrap(s.lhead+1, len(s.lens))
		s.recs--
		s.firstRec++
	}
}

// ack trims the frames the peer reports received up to pos (its KEEPALIVE)
// and reports whether pos was believable: at most what was sent, so that
// no frame not yet sent is dropped. A position behind first (going
// backwards) trims nothing. A peer that reports more than it received but
// no more than was sent (rsocket-go v0.8.16 answers KEEPALIVE with its own
// position) makes the store drop frames the peer lacks: its next RESUME is
// then refused (canResumeFrom), and nothing is resumed with a gap.
func (s *frameStore) ack(pos uint64) bool {
	if pos > s.sent {
		return false
	}
	s.trim(pos)
	return true
}

// record returns the number of the record that starts at position pos,
// and false if pos is not a frame boundary between first and end (end
// itself is one: the number is then that of the next frame stored).
func (s *frameStore) record(pos uint64) (uint64, bool) {
	if pos < s.first || pos > s.end {
		return 0, false
	}
	p, k := s.first, s.firstRec
	for p < pos {
		p += uint64(s.lenOf(k))
		k++
	}
	return k, p == pos
}

// canResumeFrom reports whether the frames from pos on are all stored: pos
// is a frame boundary between first and end.
func (s *frameStore) canResumeFrom(pos uint64) bool {
	_, ok := s.record(pos)
	return ok
}

// frameAt appends the frame of record number k, which starts at position
// pos, to dst; false if that record is no longer (or not yet) stored.
func (s *frameStore) frameAt(k, pos uint64, dst []byte) ([]byte, bool) {
	if k < s.firstRec || k >= s.firstRec+uint64(s.recs) || pos < s.first {
		return dst, false
	}
	n := s.lenOf(k)
	off := wrap(s.head+int(pos-s.first), len(s.data))
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	if c := copy(dst[start:], s.data[off:]); c < n {
		copy(dst[start+c:], s.data)
	}
	return dst, true
}
