package rsocket

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

func storeFrames(t *testing.T, s *frameStore, from uint64) [][]byte {
	t.Helper()
	var out [][]byte
	if !s.canResumeFrom(from) {
		t.Fatalf("canResumeFrom(%d) false (first %d end %d)", from, s.first, s.end)
	}
	if from == s.end {
		return nil
	}
	k, _ := s.record(from)
	for p := from; p < s.end; k++ {
		f, ok := s.frameAt(k, p, nil)
		if !ok {
			t.Fatalf("record %d at position %d not stored", k, p)
		}
		out = append(out, f)
		p += uint64(len(f))
	}
	return out
}

// TestFrameStore: positions, trimming, wrap-around, growth and the bound.
func TestFrameStore(t *testing.T) {
	s := frameStore{limit: 8192}
	var sent [][]byte
	var pos []uint64 // pos[i]: position of sent[i]
	var end uint64
	trimmed := 0
	for i := range 2000 {
		f := bytes.Repeat([]byte{byte(i)}, 10+i%97)
		for !s.append(f) {
			// Full: the peer acknowledges half of what is stored.
			if trimmed == len(sent) {
				t.Fatalf("append of %d bytes fails on an empty store", len(f))
			}
			k := trimmed + (len(sent)-trimmed+1)/2
			s.trim(pos[k-1] + uint64(len(sent[k-1])))
			trimmed = k
			if s.first != pos[k-1]+uint64(len(sent[k-1])) {
				t.Fatalf("first %d after trim, want %d", s.first, pos[k-1]+uint64(len(sent[k-1])))
			}
		}
		sent = append(sent, f)
		pos = append(pos, end)
		end += uint64(len(f))
		if s.end != end {
			t.Fatalf("end %d, want %d", s.end, end)
		}
		if i%211 == 0 {
			// Every frame from any stored boundary comes back in order.
			for _, k := range []int{trimmed, (trimmed + len(sent)) / 2, len(sent) - 1} {
				got := storeFrames(t, &s, pos[k])
				if len(got) != len(sent)-k {
					t.Fatalf("from frame %d: %d frames, want %d", k, len(got), len(sent)-k)
				}
				for j, g := range got {
					if !bytes.Equal(g, sent[k+j]) {
						t.Fatalf("frame %d differs", k+j)
					}
				}
			}
		}
	}
	if len(s.data) > s.limit || 4*len(s.lens) > s.limit*4/10 {
		t.Fatalf("buffers grew to %d bytes and %d lengths, limit %d", len(s.data), len(s.lens), s.limit)
	}
	// A position inside a frame or outside the store cannot be resumed from.
	k := len(sent) - 1
	for _, p := range []uint64{pos[k] + 1, s.end + 1, s.first - 1} {
		if s.canResumeFrom(p) {
			t.Errorf("canResumeFrom(%d) true (first %d end %d)", p, s.first, s.end)
		}
	}
	if !s.canResumeFrom(s.end) {
		t.Error("cannot resume from the end (nothing to retransmit)")
	}
	// A trim inside a frame keeps it.
	s.trim(pos[k] + 1)
	if s.first != pos[k] {
		t.Errorf("trim inside the last frame: first %d, want %d", s.first, pos[k])
	}
	// A frame larger than the bound never fits.
	if s.append(make([]byte, s.limit)) {
		t.Error("append of a frame as large as the limit succeeded")
	}
}

// TestFrameStoreReader: a reader's record number and position stay valid
// while the store grows and is trimmed before them, and fail once the
// record is trimmed.
func TestFrameStoreReader(t *testing.T) {
	s := frameStore{limit: 1 << 20}
	for i := range 10 {
		s.append([]byte(fmt.Sprint("frame-", i)))
	}
	k, ok := s.record(uint64(len("frame-0")))
	if !ok || k != 1 {
		t.Fatalf("record at the second frame: %d %v", k, ok)
	}
	data, lens := len(s.data), len(s.lens)
	for i := range 1000 {
		s.append(bytes.Repeat([]byte{'x'}, 100+i))
	}
	if len(s.data) == data || len(s.lens) == lens {
		t.Fatal("the store did not grow")
	}
	s.trim(uint64(len("frame-0")))
	f, ok := s.frameAt(k, uint64(len("frame-0")), nil)
	if !ok || string(f) != "frame-1" {
		t.Fatalf("after growing and trimming: %q %v", f, ok)
	}
	s.trim(uint64(2 * len("frame-0")))
	if _, ok := s.frameAt(k, uint64(len("frame-0")), nil); ok {
		t.Fatal("a trimmed record was read")
	}
}

// TestFrameStoreAck: an acknowledgement beyond what was sent is refused
// and trims nothing; one going backwards trims nothing; one within what
// was sent trims the frames before it.
func TestFrameStoreAck(t *testing.T) {
	s := frameStore{limit: 8192}
	for range 4 {
		s.append(make([]byte, 10))
	}
	s.sent = 20 // two frames handed to a transport
	if s.ack(30) {
		t.Fatal("ack(30) beyond the 20 bytes sent: accepted")
	}
	if s.first != 0 {
		t.Fatalf("ack(30) refused but trimmed to %d", s.first)
	}
	if !s.ack(20) || s.first != 20 {
		t.Fatalf("ack(20): first %d, want 20", s.first)
	}
	if !s.ack(10) || s.first != 20 {
		t.Fatalf("ack(10) after ack(20): first %d, want 20", s.first)
	}
}

// sentProbe is a transport that records, at each Commit, the position the
// session's store counts as sent.
type sentProbe struct {
	l      *resumeLink
	buf    []byte
	sentAt []uint64
}

func (p *sentProbe) MaxFrameSize() int { return 1 << 16 }
func (p *sentProbe) Claim(_ context.Context, n int) ([]byte, error) {
	if cap(p.buf) < n {
		p.buf = make([]byte, n)
	}
	return p.buf[:n], nil
}
func (p *sentProbe) Commit(int) error {
	p.l.storeMu.Lock()
	p.sentAt = append(p.sentAt, p.l.store.sent)
	p.l.storeMu.Unlock()
	return nil
}
func (p *sentProbe) Abort()                           {}
func (p *sentProbe) Receive(func([]byte) error) error { return nil }
func (p *sentProbe) Close() error                     { return nil }

// TestCatchUpCountsBeforePublishing: a retransmitted frame counts as sent
// before the transport publishes it. The peer may receive it, lose the
// transport and resume from the position after it at once; a store that
// counted it only after Commit returned would refuse that resume.
func TestCatchUpCountsBeforePublishing(t *testing.T) {
	probe := &sentProbe{}
	l := newResumeLink(&ResumeConfig{}, true, []byte("tok"), probe)
	probe.l = l
	l.c = &Conn{ctx: context.Background()}
	l.mu.Lock()
	l.setLive(nil, false) // disconnected: the frames below are stored, not sent
	l.mu.Unlock()
	var ends []uint64
	for i := range 3 {
		f := []byte(fmt.Sprintf("frame %d", i))
		if !l.store.append(f) {
			t.Fatal("store full")
		}
		ends = append(ends, l.store.end)
	}
	gen := l.newGen()
	if err := l.accept(probe, gen, 0); err != nil {
		t.Fatal(err)
	}
	l.catchUp(probe, gen, 0)
	if len(probe.sentAt) != len(ends) {
		t.Fatalf("%d frames retransmitted, want %d", len(probe.sentAt), len(ends))
	}
	for i, s := range probe.sentAt {
		if s < ends[i] {
			t.Errorf("frame %d published with the store's sent at %d, want %d (its end)", i, s, ends[i])
		}
	}
	l.mu.Lock()
	cur := l.current()
	l.mu.Unlock()
	if cur != Transport(probe) {
		t.Error("the transport did not become the session's after the retransmission")
	}
}
