package rsocket

import (
	"testing"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// TestStreamIDWrap starts the id counter just below MaxStreamID and checks
// the ids handed out across the wrap: they keep the side's parity, are
// never 0, and skip ids still in the table (spec: a stream id MUST NOT be
// re-used; rsocket-java also wraps and skips live ids). Before the first
// wrap the table is not consulted (every id is new); the lap2 cases model
// a counter on a later lap, with ids from the previous lap still live.
func TestStreamIDWrap(t *testing.T) {
	const top = wire.MaxStreamID // odd
	tests := []struct {
		name   string
		server bool
		start  uint32
		lap2   bool // the counter wrapped before: ids ahead of it may be live
		live   []uint32
		want   []uint32
	}{
		{"client", false, top - 2, false, nil, []uint32{top - 2, top, 1, 3, 5}},
		{"client skips live", false, top - 4, true, []uint32{top - 2, 1, 5}, []uint32{top - 4, top, 3, 7, 9}},
		{"server", true, top - 3, false, nil, []uint32{top - 3, top - 1, 2, 4}},
		{"server skips live", true, top - 1, false, []uint32{2, 4, 8}, []uint32{top - 1, 6, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newConn(&sinkTransport{}, tc.server, resolve(0, 0, 0, nil, MaxFrameLength))
			for _, id := range tc.live {
				c.streams.put(id, newStream(c, wire.TypeRequestStream))
			}
			k := uint64(tc.start-c.idFirst) / 2
			if tc.lap2 {
				k += c.idLap
			}
			c.idSeq.Store(k)
			parity := uint32(1)
			if tc.server {
				parity = 0
			}
			for i, want := range tc.want {
				s := newStream(c, wire.TypeRequestStream)
				if err := c.register(s); err != nil {
					t.Fatal(err)
				}
				if s.id != want {
					t.Errorf("id %d: got %d, want %d", i, s.id, want)
				}
				if s.id == 0 || s.id > top || s.id%2 != parity {
					t.Errorf("id %d: %d is 0, too large or of the wrong parity", i, s.id)
				}
				for _, l := range tc.live {
					if s.id == l {
						t.Errorf("id %d: %d is still in use", i, s.id)
					}
				}
			}
		})
	}
}

// TestFNFIDWrap: fire-and-forget ids, taken without the table's lock on the
// first lap, come from the same sequence as registered streams' ids and
// follow the same wrap: parity kept, live ids skipped after it.
func TestFNFIDWrap(t *testing.T) {
	const top = wire.MaxStreamID
	c := newConn(&sinkTransport{}, false, resolve(0, 0, 0, nil, MaxFrameLength))
	c.streams.put(1, newStream(c, wire.TypeRequestStream)) // live from the last lap
	c.idSeq.Store(uint64(top-4-1) / 2)
	s := newStream(c, wire.TypeRequestStream)
	var got []uint32
	for i := range 5 {
		if i == 2 {
			if err := c.register(s); err != nil {
				t.Fatal(err)
			}
			got = append(got, s.id)
			continue
		}
		id, err := c.nextFNF()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	want := []uint32{top - 4, top - 2, top, 3, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ids %v, want %v", got, want)
		}
	}
	c.mu.Lock()
	c.closing = true
	c.shut.Store(true)
	c.mu.Unlock()
	if _, err := c.nextFNF(); err != ErrClosing {
		t.Fatalf("nextFNF while closing: %v, want ErrClosing", err)
	}
}
