package ring

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// Read drains the records that are available now, calling fn with each
// record's payload in order, and returns how many records it consumed. It
// does not block: with nothing to read it returns 0, nil. It stops early
// after the record for which fn returns false (that record is consumed).
// "Available" is what the cached producer counter covers; only when the
// cache is used up does Read load the shared counter, once.
//
// The payload is a view into the ring, valid only until fn returns; copy it
// to keep it. fn must not call the consumer methods of b.
//
// Read stores the consumer counter once per call, if it consumed anything,
// and then wakes the producer if it is parked in WaitSpace. It returns
// ErrClosed after the last record of a closed producer, and an error wrapping
// ErrCorrupt when the ring breaks the format; both are sticky.
func (b *Buffer) Read(fn func(rec []byte) bool) (int, error) {
	if b.cErr != nil {
		return 0, b.cErr
	}
	pos, limit := b.cPos, b.cProdCache
	if pos == limit {
		var err error
		if limit, err = b.refreshProducer(); err != nil || pos == limit {
			return 0, err
		}
	}
	n := 0
	var err error
loop:
	for pos != limit {
		// pos and limit are 8-aligned and pos < limit, so the header fits.
		off := pos & b.mask
		h := binary.LittleEndian.Uint64(b.data[off:])
		length, typ := h&0xffffffff, h>>32
		switch typ {
		case recordData:
			if length > b.maxRecord {
				err = fmt.Errorf("%w: record at %d has length %d above the maximum %d", ErrCorrupt, pos, length, b.maxRecord)
				break loop
			}
			size := RecordHeaderSize + align8(length)
			if size > b.capacity-off {
				err = fmt.Errorf("%w: record at %d of length %d runs past the end of the ring", ErrCorrupt, pos, length)
				break loop
			}
			if size > limit-pos {
				err = fmt.Errorf("%w: record at %d of length %d runs past the producer counter %d", ErrCorrupt, pos, length, limit)
				break loop
			}
			start := off + RecordHeaderSize
			more := fn(b.data[start : start+length : start+length])
			pos += size
			n++
			if !more {
				break loop
			}
		case recordPadding:
			rest := b.capacity - off
			if off == 0 || length != rest-RecordHeaderSize || rest > limit-pos {
				err = fmt.Errorf("%w: padding record at %d of length %d does not end the lap", ErrCorrupt, pos, length)
				break loop
			}
			pos += rest
		default:
			err = fmt.Errorf("%w: record at %d has unknown type %d", ErrCorrupt, pos, typ)
			break loop
		}
	}
	if err != nil {
		b.cErr = err
	}
	if pos != b.cPos {
		b.cPos = pos
		b.consumer.Store(pos)          // hands the space back
		if b.spaceParked.Load() != 0 { // Dekker with WaitSpace: see wait.go
			b.spaceParked.Store(0)
			futexWake(b.spaceParked)
			b.cStats.Wakes++
		}
	}
	return n, err
}

// refreshProducer loads the producer counter, checks it, and returns it. With
// nothing new to read from a closed producer it returns ErrClosed.
func (b *Buffer) refreshProducer() (uint64, error) {
	prod := b.producer.Load()
	if prod == b.cPos && b.prodClosed.Load() != 0 {
		// The producer flushes before it sets the flag: one more load
		// sees its last records.
		if prod = b.producer.Load(); prod == b.cPos {
			b.cErr = ErrClosed
			return prod, ErrClosed
		}
	}
	if err := b.checkProducer(prod); err != nil {
		b.cErr = err
		return b.cPos, err
	}
	b.cProdCache = prod
	if prod != b.cPos {
		b.prefetch(b.cPos, prod)
	}
	return prod, nil
}

// checkProducer checks a producer counter loaded from shared memory:
// aligned, not behind its last value, at most a capacity ahead of what the
// consumer has read.
func (b *Buffer) checkProducer(prod uint64) error {
	switch {
	case prod%RecordAlignment != 0:
		return fmt.Errorf("%w: producer counter %d not %d-aligned", ErrCorrupt, prod, RecordAlignment)
	case prod < b.cProdCache:
		return fmt.Errorf("%w: producer counter went back from %d to %d", ErrCorrupt, b.cProdCache, prod)
	case prod-b.cPos > b.capacity:
		return fmt.Errorf("%w: producer counter %d more than capacity %d ahead of consumer counter %d",
			ErrCorrupt, prod, b.capacity, b.cPos)
	}
	return nil
}

// All is Read as an iterator, for use as
//
//	for rec := range b.All { ... }
//	if err := b.Err(); err != nil { ... }
//
// It yields the records available now and ends; breaking out of the loop
// consumes the records yielded so far. The same view rule as Read applies.
func (b *Buffer) All(yield func(rec []byte) bool) {
	_, _ = b.Read(yield) // the error is sticky: Err reports it
}

// Err returns the consumer side's sticky error: nil, ErrClosed, or an error
// wrapping ErrCorrupt.
func (b *Buffer) Err() error { return b.cErr }

// CloseRead marks the consumer side closed: the producer's Claim returns
// ErrClosed once the ring is full, and WaitSpace returns at once. Later
// consumer calls return ErrClosed.
func (b *Buffer) CloseRead() {
	b.consClosed.Store(1)
	if b.cErr == nil {
		b.cErr = ErrClosed
	}
	if b.spaceParked.Load() != 0 {
		b.spaceParked.Store(0)
		futexWake(b.spaceParked)
		b.cStats.Wakes++
	}
}

// prefetchMax bounds how many bytes of new records prefetch asks for.
const prefetchMax = 4096

// prefetch starts loading the lines of the records between positions from
// and to, which the producer has just published. Each record's position
// comes from the length in the header before it, so parsing them loads one
// line after another, each a miss on a line the producer's core wrote;
// asking for all of them first lets the misses overlap.
func (b *Buffer) prefetch(from, to uint64) {
	off1, n1, off2, n2 := b.prefetchSpans(from, to)
	prefetchLines(unsafe.Pointer(&b.data[off1]), int(n1))
	if n2 > 0 {
		prefetchLines(unsafe.Pointer(&b.data[off2]), int(n2))
	}
}

// prefetchSpans returns the lines that hold positions from .. to-1, at most
// prefetchMax bytes of them, as a data offset and a count of 64-byte lines,
// and a second span from offset 0 when they wrap.
func (b *Buffer) prefetchSpans(from, to uint64) (off1, n1, off2, n2 uint64) {
	to = min(to, from+prefetchMax)
	off1 = from & b.mask &^ 63
	end := off1 + to - from&^63 // to's offset past off1, unwrapped
	if end > b.capacity {
		return off1, (b.capacity - off1) / 64, 0, (end - b.capacity + 63) / 64
	}
	return off1, (end - off1 + 63) / 64, 0, 0
}
