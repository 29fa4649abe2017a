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

// drain reads b until it is empty or failed, or for a few calls more than
// a valid ring can need, checking that every call ends within a lap and that
// the error, if any, is one the ring may return. Memory full of valid record
// headers reads as an endless stream, as a hostile producer could write one,
// so the number of calls is not bounded, only each call.
func drain(t *testing.T, b *Buffer) {
	for range 8 {
		n, err := b.Read(func(rec []byte) bool {
			if len(rec) > b.MaxRecord() {
				t.Fatalf("record of %d bytes above MaxRecord", len(rec))
			}
			return true
		})
		if n > fuzzCap/RecordHeaderSize {
			t.Fatalf("one Read returned %d records, more than a lap holds", n)
		}
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
// counters the peer stores after Attach, on both sides (the consumer does
// not read the producer counter after Attach; the producer checks the
// consumer counter), and a record header to overwrite.
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
