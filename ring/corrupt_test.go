package ring

import (
	"encoding/binary"
	"errors"
	"testing"
)

const corruptCap = 1024 // MaxRecord 192

// crafted returns a ring whose counters and record headers were written by
// hand, as a hostile producer would, and a handle on it whose producer and
// consumer start at those counters.
func crafted(t *testing.T, cons, prod uint64, hdrs map[uint64][2]uint64) *Buffer {
	t.Helper()
	mem := AlignedMem(Size(corruptCap))
	if _, err := Init(mem, corruptCap); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(mem[consumerOffset:], cons)
	binary.LittleEndian.PutUint64(mem[producerOffset:], prod)
	for off, h := range hdrs {
		binary.LittleEndian.PutUint64(mem[HeaderSize+off:], h[0]|h[1]<<32)
	}
	b := newBuffer(mem, corruptCap)
	b.cPos = cons
	b.pPos, b.pConsCache = prod, cons
	return b
}

func TestCorruptConsumer(t *testing.T) {
	const (
		d   = recordData
		pad = recordPadding
	)
	tests := []struct {
		name       string
		cons, prod uint64
		hdrs       map[uint64][2]uint64
		wantRecs   int // records delivered before the error
	}{
		{"length above MaxRecord", 0, 256, map[uint64][2]uint64{0: {193, d}}, 0},
		{"length huge", 0, 256, map[uint64][2]uint64{0: {1<<32 - 1, d}}, 0},
		{"second record length above MaxRecord", 0, 32, map[uint64][2]uint64{0: {0, d}, 8: {200, d}}, 1},
		{"record past end of ring", 1000, 1000 + 32 + 64, map[uint64][2]uint64{1000: {17, d}}, 0},
		{"unknown type", 0, 16, map[uint64][2]uint64{0: {0, 3}}, 0},
		{"no type, a length", 0, 16, map[uint64][2]uint64{0: {8, 0}}, 0},
		{"padding at offset 0", 0, 64, map[uint64][2]uint64{0: {corruptCap - 8, pad}}, 0},
		{"padding short of the end", 960, 1024 + 16, map[uint64][2]uint64{960: {48, pad}}, 0},
		{"padding past the end", 960, 1024 + 16, map[uint64][2]uint64{960: {64, pad}}, 0},
		{"record after padding corrupt", 960, 1024 + 16, map[uint64][2]uint64{960: {56, pad}, 0: {200, d}}, 0},
	}
	for i, tt := range tests {
		b := crafted(t, tt.cons, tt.prod, tt.hdrs)
		recs := 0
		n, err := b.Read(func([]byte) bool { recs++; return true })
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%d %s: Read err = %v; want ErrCorrupt", i, tt.name, err)
			continue
		}
		if n != tt.wantRecs || recs != tt.wantRecs {
			t.Errorf("%d %s: Read = %d (%d calls); want %d", i, tt.name, n, recs, tt.wantRecs)
		}
		// Sticky, even after the memory is repaired.
		clear(b.data)
		for _, call := range []func() error{
			func() error { _, err := b.Read(func([]byte) bool { t.Error("fn called"); return true }); return err },
			func() error { b.All(func([]byte) bool { return true }); return b.Err() },
			func() error {
				if !b.WaitData(0) {
					return errors.New("WaitData false")
				}
				return b.Err()
			},
		} {
			if err2 := call(); err2 != err {
				t.Errorf("%d %s: later call err = %v; want the same %v", i, tt.name, err2, err)
			}
		}
	}
}

// The producer checks the consumer counter when it reloads it.
func TestCorruptProducerSide(t *testing.T) {
	tests := []struct {
		name       string
		prod, cons uint64
	}{
		{"consumer counter misaligned", 1024, 4},
		{"consumer counter ahead of producer", 1024, 4096},
		{"consumer counter went back", 2048, 8}, // cache says 1024
		{"consumer counter huge", 1024, 1 << 63},
	}
	for i, tt := range tests {
		b := crafted(t, 1024, tt.prod, nil)
		b.pConsCache = 1024
		binary.LittleEndian.PutUint64(b.mem[consumerOffset:], tt.cons)
		var err error
		for j := 0; j < 20 && err == nil; j++ {
			err = b.Write(make([]byte, 100))
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%d %s: Write err = %v; want ErrCorrupt", i, tt.name, err)
			continue
		}
		if _, err2 := b.Claim(0); err2 != err {
			t.Errorf("%d %s: later Claim err = %v; want %v", i, tt.name, err2, err)
		}
		if !b.WaitSpace(0, 0) {
			t.Errorf("%d %s: WaitSpace = false on a failed producer", i, tt.name)
		}
	}
}

// A producer that keeps the ring full of valid records cannot keep the
// consumer in one Read call for more than a lap: here every header slot
// holds an empty record, and the headers are never zero.
func TestCorruptEndlessRecords(t *testing.T) {
	b := crafted(t, 0, 0, nil)
	for off := uint64(0); off < corruptCap; off += RecordHeaderSize {
		binary.LittleEndian.PutUint64(b.data[off:], recordData<<32)
	}
	for lap := range 3 {
		n, err := b.Read(func([]byte) bool { return true })
		if n != corruptCap/RecordHeaderSize || err != nil {
			t.Fatalf("lap %d: Read = %d, %v; want %d records of one lap", lap, n, err, corruptCap/RecordHeaderSize)
		}
	}
}
