package ring

import (
	"encoding/binary"
	"errors"
	"testing"
)

const fuzzCap = 1024

// validRing returns the memory of a ring holding a few records, wrapped
// once, for seeds.
func validRing(tb testing.TB) []byte {
	b := newRing(tb, fuzzCap)
	for seq := range uint64(40) {
		n := recordLen(seq, b.MaxRecord())
		for {
			buf, err := b.Claim(n)
			if err == ErrFull {
				b.Read(func([]byte) bool { return true })
				continue
			}
			if err != nil {
				tb.Fatal(err)
			}
			fillRecord(buf, seq)
			b.Commit(n)
			break
		}
	}
	return b.Mem()
}

// drain reads b until it is empty or failed, checking that the loop ends
// and that the error, if any, is one the ring may return.
func drain(t *testing.T, b *Buffer) {
	for i := 0; ; i++ {
		if i > fuzzCap {
			t.Fatal("Read kept returning records from a ring that cannot hold that many")
		}
		n, err := b.Read(func(rec []byte) bool {
			if len(rec) > b.MaxRecord() {
				t.Fatalf("record of %d bytes above MaxRecord", len(rec))
			}
			return true
		})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && err != ErrClosed {
				t.Fatalf("Read: unexpected error %v", err)
			}
			if _, err2 := b.Read(func([]byte) bool { return true }); err2 != err {
				t.Fatalf("error not sticky: %v then %v", err, err2)
			}
			return
		}
		if n == 0 {
			return
		}
	}
}

// FuzzConsumer uses arbitrary bytes as the ring memory, header included.
// With fix set, the magic, version and capacity are forced valid so the
// fuzzer works on counters and records; without, Attach must refuse or
// accept cleanly. Then the consumer drains it: no panic, no hang.
func FuzzConsumer(f *testing.F) {
	f.Add(validRing(f), true)
	f.Add(validRing(f), false)
	f.Add(make([]byte, Size(fuzzCap)), true)
	f.Add([]byte("RSHMRING"), false)
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		mem := AlignedMem(Size(fuzzCap))
		copy(mem, data)
		if fix {
			copy(mem, Magic)
			binary.LittleEndian.PutUint32(mem[versionOffset:], Version)
			binary.LittleEndian.PutUint64(mem[capacityOffset:], fuzzCap)
		}
		b, err := Attach(mem)
		if err != nil {
			if fix && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Attach of a fixed header: %v", err)
			}
			return
		}
		drain(t, b)
	})
}

// FuzzCounters starts from a valid ring and lets the fuzzer pick the
// counters the peer publishes after Attach, on both sides, and a record
// header to overwrite.
func FuzzCounters(f *testing.F) {
	f.Add(uint64(0), uint64(0), uint16(0), uint64(0))
	f.Add(uint64(8), uint64(4), uint16(8), uint64(3|recordData<<32))
	f.Add(uint64(1<<63), uint64(1024), uint16(1016), uint64(0|recordPadding<<32))
	f.Add(uint64(2048), uint64(1), uint16(512), uint64(129|recordData<<32))
	f.Fuzz(func(t *testing.T, prod, cons uint64, off uint16, hdr uint64) {
		mem := validRing(t)
		c, err := Attach(mem)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Attach(mem)
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint64(mem[HeaderSize+int(off)%fuzzCap&^7:], hdr)
		word64(mem, producerOffset).Store(prod)
		word64(mem, consumerOffset).Store(cons)
		drain(t, c)
		for i := 0; i < 2*fuzzCap/RecordHeaderSize; i++ {
			if _, err := p.Claim(i % 64); err != nil {
				if err != ErrFull && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Claim: unexpected error %v", err)
				}
				return
			}
			p.Commit(i % 64)
		}
		t.Fatal("producer claimed twice the ring without ErrFull")
	})
}
