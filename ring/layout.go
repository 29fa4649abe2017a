package ring

import (
	"fmt"
	"unsafe"
)

// The shared memory of one ring. All integers are little-endian; every
// offset is relative to the start of the memory given to Init or Attach,
// which must be 64-byte aligned.
//
//	offset  size  field              written by           read by
//	     0     8  magic "RSHMRING"   Init                 Attach
//	     8     4  layout version     Init                 Attach
//	    12     4  reserved (zero)
//	    16     8  capacity           Init                 Attach
//	    24   104  reserved (zero)
//	   128     8  producer counter   producer (publish)   Attach
//	   136   120  reserved
//	   256     8  consumer counter   consumer (read)      producer (when cache full)
//	   264     4  consumer closed    consumer (Close)     producer (when full)
//	   268   116  reserved
//	   384     4  consumer parked    consumer (park)      producer (every publish)
//	   388   124  reserved
//	   512     4  producer parked    producer (park)      consumer (every read)
//	   516   124  reserved
//	   640     4  producer closed    producer (Close)     consumer (when no record)
//	   644   124  reserved
//	   768     -  data, capacity bytes, a power of two
//
// Every word that one side writes while running sits on its own 128-byte
// line (two 64-byte cache lines, because adjacent-line prefetchers pull lines
// in pairs), so the producer's and the consumer's hot words are at least 128
// bytes apart. The counters are byte positions that only grow; a position's
// offset in the data area is position & (capacity-1).
//
// The consumer does not poll the producer counter: it polls the header of
// the next record in the data area, which the producer stores last (see
// ring.go, "Publication protocol"). So a record reaches the consumer in the
// cache lines that carry it, with no separate line for the counter; the
// producer counter only tells Attach where the producer stopped.
//
// The parked words are futex words. A side that is about to sleep stores 1,
// re-checks for the other side's work (the next record header, the consumer
// counter), and sleeps only while the word is 1; the other side, after
// publishing, loads the parked word and only if it is not zero stores 0 and
// wakes the sleeper. See wait.go.
const (
	lineSize = 128

	magicOffset    = 0
	versionOffset  = magicOffset + 8
	capacityOffset = versionOffset + 8

	producerLine   = lineSize
	producerOffset = producerLine

	consumerLine         = producerLine + lineSize
	consumerOffset       = consumerLine
	consumerClosedOffset = consumerOffset + 8

	dataParkedOffset     = consumerLine + lineSize // consumer waits for data
	spaceParkedOffset    = dataParkedOffset + lineSize
	producerClosedOffset = spaceParkedOffset + lineSize

	// HeaderSize is the number of bytes before the data area.
	HeaderSize = producerClosedOffset + lineSize
)

// Layout constants of the record format and of the memory.
const (
	// Magic opens every ring.
	Magic = "RSHMRING"
	// Version is the layout version this package writes and accepts.
	// Version 1 published records with the producer counter alone;
	// version 2 capped a record's payload at capacity/8, without
	// HeaderSlack.
	Version = 3
	// MinCapacity and MaxCapacity bound the data area (both powers of two).
	MinCapacity = 1 << 10
	MaxCapacity = 1 << 30
	// Alignment is the alignment Init and Attach require of the memory.
	Alignment = 64
	// RecordHeaderSize is the size of [u32 length][u32 type].
	RecordHeaderSize = 8
	// RecordAlignment is the alignment of every record in the data area.
	RecordAlignment = 8
	// HeaderSlack is what MaxRecord allows above an eighth of the ring:
	// room for a protocol's frame header (RSocket's is 6 to 9 bytes, more
	// with metadata) in front of a payload of capacity/8, which is then
	// one record and not a full record and a few bytes' tail.
	HeaderSlack = 64
)

// Record types, the high word of a record header. Zero is no type, so
// zeroed memory never parses as a record: a header word of zero is where
// the producer has not written yet.
const (
	recordData    = 1
	recordPadding = 2
)

// Size returns the number of bytes of memory a ring of the given data
// capacity needs: HeaderSize + capacity. It does not check capacity.
func Size(capacity int) int { return HeaderSize + capacity }

// AlignedMem returns n zeroed bytes of heap memory starting at a 64-byte
// boundary, for rings that live inside one process (tests, benchmarks).
func AlignedMem(n int) []byte {
	if n < 0 {
		panic("ring: AlignedMem: negative size")
	}
	buf := make([]byte, n+Alignment)
	off := 0
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % Alignment); r != 0 {
		off = Alignment - r
	}
	return buf[off : off+n : off+n]
}

// checkCapacity reports whether c is a usable data capacity.
func checkCapacity(c uint64) error {
	if c < MinCapacity || c > MaxCapacity || c&(c-1) != 0 {
		return fmt.Errorf("capacity %d is not a power of two in [%d, %d]: %w",
			c, MinCapacity, MaxCapacity, ErrBadLayout)
	}
	return nil
}

// checkMem reports whether mem can hold a ring of capacity c.
func checkMem(mem []byte, c uint64) error {
	if err := checkCapacity(c); err != nil {
		return err
	}
	if uint64(len(mem)) != uint64(Size(int(c))) {
		return fmt.Errorf("memory is %d bytes, a ring of capacity %d needs %d: %w",
			len(mem), c, Size(int(c)), ErrBadLayout)
	}
	if p := uintptr(unsafe.Pointer(unsafe.SliceData(mem))); p%Alignment != 0 {
		return fmt.Errorf("memory at %#x is not %d-byte aligned: %w", p, Alignment, ErrBadLayout)
	}
	return nil
}

func align8(n uint64) uint64 { return (n + RecordAlignment - 1) &^ (RecordAlignment - 1) }
