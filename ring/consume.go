package ring

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Read drains the records that are available now, calling fn with each
// record's payload in order, and returns how many records it consumed. It
// does not block: with nothing to read it returns 0, nil. It stops early
// after the record for which fn returns false (that record is consumed),
// and after one lap of the ring. A record is available when its header is
// (see "Publication protocol" in ring.go), so Read touches no shared word
// but the record headers until it hands the space back.
//
// The payload is a view into the ring, valid only until fn returns; copy it
// to keep it. fn must not call the consumer methods of b.
//
// Read stores the consumer counter once per call, if it consumed anything,
// and after every quarter of the ring in a long call, and then wakes the
// producer if it is parked in WaitSpace. It returns ErrClosed after the last
// record of a closed producer, and an error wrapping ErrCorrupt when the
// ring breaks the format; both are sticky.
func (b *Buffer) Read(fn func(rec []byte) bool) (int, error) {
	if b.cErr != nil {
		return 0, b.cErr
	}
	pos := b.cPos
	h := atomic.LoadUint64(b.slot(pos)) // acquire: the record below is written
	if h == 0 {
		return 0, b.checkClosed()
	}
	end := pos + b.capacity // one lap at most
	n := 0
	var err error
loop:
	for {
		off := pos & b.mask
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
			start := off + RecordHeaderSize
			if length > 64-RecordHeaderSize {
				prefetchRecord(b.data[start : start+length])
			}
			more := fn(b.data[start : start+length : start+length])
			pos += size
			n++
			if !more {
				break loop
			}
		case recordPadding:
			rest := b.capacity - off
			if off == 0 || length != rest-RecordHeaderSize {
				err = fmt.Errorf("%w: padding record at %d of length %d does not end the lap", ErrCorrupt, pos, length)
				break loop
			}
			pos += rest
		default:
			err = fmt.Errorf("%w: record at %d has unknown type %d", ErrCorrupt, pos, typ)
			break loop
		}
		if pos >= end {
			break
		}
		if h = atomic.LoadUint64(b.slot(pos)); h == 0 {
			break
		}
		if pos-b.cPos >= b.capacity/4 {
			b.handBack(pos) // a producer keeping up must not wait for the lap
		}
	}
	if err != nil {
		b.cErr = err
	}
	if pos != b.cPos {
		b.handBack(pos)
	}
	return n, err
}

// handBack stores the consumer counter, which gives the space below pos
// back to the producer, and wakes the producer if it is parked in WaitSpace.
func (b *Buffer) handBack(pos uint64) {
	b.cPos = pos
	b.consumer.Store(pos)
	if b.spaceParked.Load() != 0 { // Dekker with WaitSpace: see wait.go
		b.spaceParked.Store(0)
		futexWake(b.spaceParked)
		b.cStats.Wakes++
	}
}

// checkClosed is Read's answer when the next header slot is empty: nil, or
// ErrClosed (sticky) when the producer has closed its side. The producer
// publishes its last records before it sets the flag, so one more look at
// the slot after seeing the flag tells whether they are all read.
func (b *Buffer) checkClosed() error {
	if b.prodClosed.Load() == 0 || atomic.LoadUint64(b.slot(b.cPos)) != 0 {
		return nil
	}
	b.cErr = ErrClosed
	return ErrClosed
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

// prefetchMax bounds how many bytes of a record prefetchRecord asks for.
const prefetchMax = 4096

// prefetchRecord starts loading the lines of a record's payload, at most
// prefetchMax bytes of it, once its header has been read. Copying the
// payload out loads one line after another, each a miss on a line the
// producer's core wrote; asking for them first lets the misses overlap.
func prefetchRecord(p []byte) {
	data := unsafe.Pointer(unsafe.SliceData(p))
	prefetchLines(data, prefetchSpan(uintptr(data), len(p)))
}

// prefetchSpan returns how many 64-byte lines, from the one holding start,
// hold the first min(n, prefetchMax) bytes from start.
func prefetchSpan(start uintptr, n int) int {
	end := start + uintptr(min(n, prefetchMax))
	return int((end - start&^63 + 63) / 64)
}
