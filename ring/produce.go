package ring

import (
	"encoding/binary"
	"fmt"
)

// Claim reserves a record with an n-byte payload and returns the payload's
// bytes in the ring, exactly n long, for the caller to fill. It does not
// block. It returns ErrFull when the record does not fit now (wait and
// retry), ErrTooLarge when n is negative or above MaxRecord, ErrClaimed when
// a claim is already outstanding, ErrClosed when the consumer closed its
// side, or an ErrCorrupt error, which is sticky.
//
// The claim ends with Commit or Stage (the record is kept) or Abort (it is
// not). The returned slice must not be used after that.
func (b *Buffer) Claim(n int) ([]byte, error) {
	if b.pErr != nil {
		return nil, b.pErr
	}
	if b.pClaimLen >= 0 {
		return nil, ErrClaimed
	}
	if n < 0 || uint64(n) > b.maxRecord {
		return nil, ErrTooLarge
	}
	size := RecordHeaderSize + align8(uint64(n))
	pos := b.pPos
	off := pos & b.mask
	rest := b.capacity - off
	rec := pos
	if size > rest {
		rec += rest // close the lap with a padding record, start at offset 0
	}
	if end := rec + size; end-b.pConsCache > b.capacity {
		if err := b.refreshConsumer(end); err != nil {
			b.pWant = end
			return nil, err
		}
	}
	if rec != pos {
		binary.LittleEndian.PutUint64(b.data[off:], (rest-RecordHeaderSize)|recordPadding<<32)
	}
	b.pClaimPos, b.pClaimLen = rec, n
	start := rec&b.mask + RecordHeaderSize
	return b.data[start : start+uint64(n) : start+uint64(n)], nil
}

// refreshConsumer loads the consumer counter and reports whether the ring
// has room up to position end.
func (b *Buffer) refreshConsumer(end uint64) error {
	cons := b.consumer.Load()
	if err := b.checkConsumer(cons); err != nil {
		b.pErr = err
		return err
	}
	b.pConsCache = cons
	if end-cons <= b.capacity {
		return nil
	}
	if b.consClosed.Load() != 0 {
		b.pErr = ErrClosed
		return ErrClosed
	}
	return ErrFull
}

// checkConsumer checks a consumer counter loaded from shared memory against
// what the producer knows: aligned, not behind its last value, not ahead of
// what was published.
func (b *Buffer) checkConsumer(cons uint64) error {
	switch {
	case cons%RecordAlignment != 0:
		return fmt.Errorf("%w: consumer counter %d not %d-aligned", ErrCorrupt, cons, RecordAlignment)
	case cons < b.pConsCache:
		return fmt.Errorf("%w: consumer counter went back from %d to %d", ErrCorrupt, b.pConsCache, cons)
	case cons > b.pPublished:
		return fmt.Errorf("%w: consumer counter %d ahead of producer counter %d", ErrCorrupt, cons, b.pPublished)
	}
	return nil
}

// Commit ends the outstanding claim, keeping n bytes of its payload
// (n may be less than claimed: claim an upper bound, commit the exact size),
// and publishes it together with every staged record. Commit without a
// claim, or with n outside [0, claimed], is a programming error and panics.
func (b *Buffer) Commit(n int) {
	b.Stage(n)
	b.Flush()
}

// Stage ends the outstanding claim like Commit but does not publish the
// record: the consumer sees it only after the next Flush or Commit. Staging
// several records and flushing once stores the producer counter once.
func (b *Buffer) Stage(n int) {
	if b.pClaimLen < 0 {
		panic("ring: Stage or Commit without a claim")
	}
	if n < 0 || n > b.pClaimLen {
		panic("ring: Stage or Commit of more than was claimed")
	}
	off := b.pClaimPos & b.mask
	binary.LittleEndian.PutUint64(b.data[off:], uint64(n)|recordData<<32)
	b.pPos = b.pClaimPos + RecordHeaderSize + align8(uint64(n))
	b.pClaimLen = -1
}

// Flush publishes every staged record with one store of the producer
// counter, and wakes the consumer if it is parked in WaitData. It makes no
// system call while the consumer is awake.
func (b *Buffer) Flush() {
	if b.pPos == b.pPublished {
		return
	}
	b.producer.Store(b.pPos) // release: the records below pPos are written
	b.pPublished = b.pPos
	if b.dataParked.Load() != 0 { // Dekker with WaitData: see wait.go
		b.dataParked.Store(0)
		futexWake(b.dataParked)
		b.pStats.Wakes++
	}
}

// Abort ends the outstanding claim without keeping it. It does nothing when
// no claim is outstanding.
func (b *Buffer) Abort() { b.pClaimLen = -1 }

// Write publishes p as one record: Claim, copy, Commit. It returns Claim's
// errors, ErrFull included; it does not wait.
func (b *Buffer) Write(p []byte) error {
	buf, err := b.Claim(len(p))
	if err != nil {
		return err
	}
	copy(buf, p)
	b.Commit(len(p))
	return nil
}

// CloseWrite publishes the staged records and marks the producer side
// closed: once the consumer has read everything, its Read returns ErrClosed.
// An outstanding claim is aborted. Later producer calls return ErrClosed.
func (b *Buffer) CloseWrite() {
	b.Abort()
	b.Flush()
	b.prodClosed.Store(1)
	if b.pErr == nil {
		b.pErr = ErrClosed
	}
	if b.dataParked.Load() != 0 {
		b.dataParked.Store(0)
		futexWake(b.dataParked)
		b.pStats.Wakes++
	}
}
