package rsocket

import "encoding/binary"

// frameStore is the retransmit store of a resumable session: the frames
// this side sent that count toward the resume position (REQUEST_*,
// REQUEST_N, CANCEL, stream ERROR and PAYLOAD) and that the peer has not yet
// acknowledged, in send order.
//
// It is a circular byte buffer of records, each the frame's length (4
// bytes, not part of the position) followed by the frame. Positions count
// frame bytes only, as the spec does: the record at first spans positions
// [first, first+len). Memory grows by doubling up to limit bytes of records
// and never beyond: append reports false instead.
//
//	buf: ... | len | frame ......... | len | frame ... | free ... |
//	          ^head (position first)                    ^head+used
type frameStore struct {
	buf   []byte
	head  int // offset of the oldest record
	used  int // bytes of records (headers included)
	limit int
	first uint64 // position of the oldest stored frame
	end   uint64 // position after the newest frame: bytes of counted frames sent
	// sent is the position up to which frames were handed to a
	// transport: end while the session has one, less while it has none or
	// is retransmitting after a resume. The peer cannot have received
	// more, so an acknowledgement beyond it is wrong (ack).
	sent uint64
	// relaid counts re-layouts (grow): offsets held by a reader are stale
	// when it changed. Appends and trims never move a record.
	relaid uint64
}

const recordHeader = 4

// append stores a copy of frame; false if the store would exceed its limit.
func (s *frameStore) append(frame []byte) bool {
	need := recordHeader + len(frame)
	if s.used+need > s.limit {
		return false
	}
	if s.used+need > len(s.buf) {
		s.grow(s.used + need)
	}
	tail := (s.head + s.used) % len(s.buf)
	if tail+need <= len(s.buf) {
		// Contiguous: one header store and one copy.
		binary.BigEndian.PutUint32(s.buf[tail:], uint32(len(frame)))
		copy(s.buf[tail+recordHeader:], frame)
	} else {
		var hdr [recordHeader]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(frame)))
		s.put(s.put(tail, hdr[:]), frame)
	}
	s.used += need
	s.end += uint64(len(frame))
	return true
}

// put copies b into the ring at offset off (which may be past the end:
// it wraps) and returns the offset after it.
func (s *frameStore) put(off int, b []byte) int {
	n := len(s.buf)
	off %= n
	k := copy(s.buf[off:], b)
	copy(s.buf, b[k:])
	return off + len(b)
}

// get copies len(b) bytes from offset off into b.
func (s *frameStore) get(off int, b []byte) {
	n := len(s.buf)
	off %= n
	k := copy(b, s.buf[off:])
	copy(b[k:], s.buf)
}

// grow re-lays the records at the start of a buffer of at least need bytes.
func (s *frameStore) grow(need int) {
	size := max(2*len(s.buf), 4096)
	for size < need {
		size *= 2
	}
	size = min(size, s.limit)
	nb := make([]byte, size)
	if s.used > 0 {
		s.get(s.head, nb[:s.used])
	}
	s.buf, s.head = nb, 0
	s.relaid++
}

// frameLen returns the length of the frame of the record at offset off.
func (s *frameStore) frameLen(off int) int {
	var hdr [recordHeader]byte
	s.get(off, hdr[:])
	return int(binary.BigEndian.Uint32(hdr[:]))
}

// trim drops the frames wholly before position pos (the peer received
// them). A pos inside a frame keeps that frame.
func (s *frameStore) trim(pos uint64) {
	for s.used > 0 {
		n := s.frameLen(s.head)
		if s.first+uint64(n) > pos {
			return
		}
		s.head = (s.head + recordHeader + n) % len(s.buf)
		s.used -= recordHeader + n
		s.first += uint64(n)
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

// canResumeFrom reports whether the frames from pos on are all stored: pos
// is a frame boundary between first and end.
func (s *frameStore) canResumeFrom(pos uint64) bool {
	if pos < s.first || pos > s.end {
		return false
	}
	p, off, left := s.first, s.head, s.used
	for left > 0 && p < pos {
		n := s.frameLen(off)
		p += uint64(n)
		off = (off + recordHeader + n) % len(s.buf)
		left -= recordHeader + n
	}
	return p == pos
}

// seek returns the offset of the record of the frame at position pos,
// which canResumeFrom accepted and which is not at the end.
func (s *frameStore) seek(pos uint64) int {
	p, off := s.first, s.head
	for p < pos {
		n := s.frameLen(off)
		p += uint64(n)
		off = (off + recordHeader + n) % len(s.buf)
	}
	return off
}

// frameAt appends the frame of the record at offset off to dst and returns
// it with the offset of the next record.
func (s *frameStore) frameAt(off int, dst []byte) ([]byte, int) {
	n := s.frameLen(off)
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	s.get(off+recordHeader, dst[start:])
	return dst, (off + recordHeader + n) % len(s.buf)
}
