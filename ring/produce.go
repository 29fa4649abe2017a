package ring

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
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
func (b *Buffer) Claim(n int) ([]byte, error) { return b.claim(n, b.local != nil) }

// ClaimInPlace is Claim for a record written in the ring itself even when
// the buffer stages locally (StageLocally): for a producer that claims
// many records between two locked instructions, which has no stall for
// local staging to avoid and would pay its second copy.
func (b *Buffer) ClaimInPlace(n int) ([]byte, error) { return b.claim(n, false) }

func (b *Buffer) claim(n int, local bool) ([]byte, error) {
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
	rest := b.capacity - pos&b.mask
	rec := pos
	if size > rest {
		rec += rest // close the lap with a padding record, start at offset 0
	}
	// The record and the zero header slot after it must fit.
	need := rec + size + RecordHeaderSize
	if need-b.pConsCache > b.capacity {
		if err := b.refreshConsumer(need); err != nil {
			b.pWant = need
			return nil, err
		}
	}
	if b.pZeroed > b.pFenced && need > b.pFenced {
		// The record may lie in lines PrefetchAhead zeroed: the zeroes
		// must land before its bytes do.
		storeFence()
		b.pFenced = b.pZeroed
	}
	b.pClaimPos, b.pClaimLen = rec, n
	if local && n <= b.localMax && b.localUsed+n <= len(b.local) {
		b.pClaimLoc = true
		return b.local[b.localUsed : b.localUsed+n : b.localUsed+n], nil
	}
	if len(b.localRecs) > 0 {
		// A record written in place comes after the locally staged ones
		// in the ring: they go to their places first (unpublished).
		b.materialize()
	}
	start := rec&b.mask + RecordHeaderSize
	return b.data[start : start+uint64(n) : start+uint64(n)], nil
}

// localRec is a record staged in the arena: where it goes in the ring and
// where its payload is in the arena.
type localRec struct {
	pos   uint64 // the producer position before it (a padding record may sit between)
	rec   uint64 // its position in the ring
	n     int    // payload length
	arena int    // payload offset in the arena
}

// StageLocally makes claims of at most maxRecord bytes return memory of
// this process (an arena of arena bytes) instead of the ring's: Stage
// records where the record goes, and Flush copies the staged payloads into
// the ring and writes their headers right before it publishes them. The
// record's space in the ring is reserved at Claim as for any claim, so
// Flush never waits. A claim that does not fit the arena's free bytes, or
// is larger than maxRecord, is written in place, after the locally staged
// records have been copied to the ring (still unpublished).
//
// The ring's bytes and the consumer see exactly what in-place claims would
// produce; what changes is when the producer's stores to shared memory
// happen: together at Flush, instead of one record at a time between the
// caller's other work. A caller that takes a lock (an atomic read-modify-
// write) around each claim then never waits, inside that lock, for stores
// to cache lines the consumer holds. Producer side only; call it before the
// first Claim. arena <= 0 turns local staging off (after the next Flush).
func (b *Buffer) StageLocally(arena, maxRecord int) {
	if arena <= 0 {
		b.materialize()
		b.local, b.localMax = nil, 0
		return
	}
	b.local = make([]byte, arena)
	b.localMax = min(maxRecord, arena)
}

// materialize copies the locally staged records into the ring and writes
// their headers as Stage does for a record written in place; nothing is
// published.
func (b *Buffer) materialize() {
	if hasPrefetchW && len(b.localRecs) > 1 {
		last := b.localRecs[len(b.localRecs)-1]
		b.prefetchW(b.localRecs[0].pos, last.rec+RecordHeaderSize+align8(uint64(last.n))+RecordHeaderSize)
	}
	for _, r := range b.localRecs {
		start := r.rec&b.mask + RecordHeaderSize
		copy(b.data[start:start+uint64(r.n)], b.local[r.arena:r.arena+r.n])
		b.writeHeaders(r.pos, r.rec, r.n)
	}
	b.localRecs = b.localRecs[:0]
	b.localUsed = 0
}

// prefetchW asks for ownership of the cache lines of ring positions
// [from, to), at most prefetchWMax bytes of them: the lines a batch of
// staged records is about to be written to, which the consumer read on the
// last lap. Their store misses then overlap instead of filling the store
// buffer one after another.
func (b *Buffer) prefetchW(from, to uint64) {
	start, lines, wrapped := prefetchSpans(from, min(to, from+prefetchWMax), b.mask)
	base := unsafe.Pointer(unsafe.SliceData(b.data))
	prefetchWLines(unsafe.Add(base, start), lines)
	prefetchWLines(base, wrapped)
}

// prefetchSpans maps ring positions [from, to) (at most a lap) to cache
// lines of a ring of mask+1 bytes: lines lines from offset start (a line
// boundary), then wrapped lines from offset 0 where the span wraps.
func prefetchSpans(from, to, mask uint64) (start uint64, lines, wrapped int) {
	off, n := from&mask, to-from
	first := min(n, mask+1-off)
	start = off &^ 63
	lines = int((off - start + first + 63) / 64)
	if n > first {
		wrapped = int((n - first + 63) / 64)
	}
	return start, lines, wrapped
}

// prefetchWMax bounds the bytes one prefetchW asks for.
const prefetchWMax = 8192

// writeHeaders writes the headers of a staged record at rec with an n-byte
// payload, the producer having been at pos before it: the zero slot after
// it, the padding header when it starts a new lap, and its own header (the
// first header of a batch held back for Flush).
func (b *Buffer) writeHeaders(pos, rec uint64, n int) {
	end := rec + RecordHeaderSize + align8(uint64(n))
	*b.slot(end) = 0 // free space: Claim checked that the slot fits
	if rec != pos {
		b.putHeader(pos, (rec-pos-RecordHeaderSize)|recordPadding<<32)
	}
	b.putHeader(rec, uint64(n)|recordData<<32)
}

// refreshConsumer loads the consumer counter and reports whether the ring
// has room up to position end.
func (b *Buffer) refreshConsumer(end uint64) error {
	var cons uint64
	if b.pJudge {
		t0 := time.Now()
		cons = b.consumer.Load()
		if cons != b.pConsCache {
			b.judgeDistance(time.Since(t0))
		}
	} else {
		cons = b.consumer.Load()
	}
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
	case cons > b.published():
		return fmt.Errorf("%w: consumer counter %d ahead of the published records' end %d", ErrCorrupt, cons, b.published())
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
// several records and flushing once makes one atomic store for all of them.
//
// Stage stores a zero in the header slot after the record, so the consumer
// stops there until the next record is published, and writes the record's
// header, and the padding header before it when the record starts a new
// lap; the first header of a batch is held back for Flush.
func (b *Buffer) Stage(n int) {
	if b.pClaimLen < 0 {
		panic("ring: Stage or Commit without a claim")
	}
	if n < 0 || n > b.pClaimLen {
		panic("ring: Stage or Commit of more than was claimed")
	}
	rec, end := b.pClaimPos, b.pClaimPos+RecordHeaderSize+align8(uint64(n))
	if b.pClaimLoc {
		b.localRecs = append(b.localRecs, localRec{pos: b.pPos, rec: rec, n: n, arena: b.localUsed})
		b.localUsed += int(align8(uint64(n)))
		b.pClaimLoc = false
	} else {
		b.writeHeaders(b.pPos, rec, n)
	}
	b.pPos = end
	b.pClaimLen = -1
}

// published returns the end of the published records: the held-back
// header's position while a batch is staged (or the position before the
// first locally staged record), else the producer's position.
func (b *Buffer) published() uint64 {
	if b.pGateHdr != 0 {
		return b.pGate
	}
	if len(b.localRecs) > 0 {
		return b.localRecs[0].pos
	}
	return b.pPos
}

// putHeader writes the header of a staged record at pos, or holds it back
// when it is the first of the batch: its slot, zero until Flush, keeps the
// consumer from reading past it, so the headers after it need no ordering.
func (b *Buffer) putHeader(pos, h uint64) {
	if b.pGateHdr == 0 {
		b.pGate, b.pGateHdr = pos, h
		return
	}
	*b.slot(pos) = h
}

// Flush publishes every staged record with one atomic store, of the first
// staged record's header, stores the producer counter, and wakes the
// consumer if it is parked in WaitData. It makes no system call while the
// consumer is awake.
func (b *Buffer) Flush() {
	if len(b.localRecs) > 0 {
		b.materialize()
	}
	if b.pGateHdr == 0 {
		return
	}
	atomic.StoreUint64(b.slot(b.pGate), b.pGateHdr) // release: the batch is written
	b.pGateHdr = 0
	b.producer.Store(b.pPos)
	if b.dataParked.Load() != 0 { // Dekker with WaitData: see wait.go
		b.dataParked.Store(0)
		futexWake(b.dataParked)
		b.pStats.Wakes++
	}
}

// Abort ends the outstanding claim without keeping it. It does nothing when
// no claim is outstanding.
func (b *Buffer) Abort() { b.pClaimLen, b.pClaimLoc = -1, false }

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

// PrefetchAhead prepares the cache lines of the free space up to ahead
// bytes past the producer, in steps of a quarter of ahead, for a producer
// about to write many records in place (ClaimInPlace), the next of n
// bytes. A store to a line the consumer's core read on the last lap must
// first take the line from that core, one store miss after another;
// PrefetchAhead asks for the lines while earlier records are written, with
// PREFETCHW. Where the CPU has CLZERO and n is at most zeroMax, it zeroes
// the whole lines past the producer's next header slot instead, which
// takes each line without reading it and without waiting: where the two
// cores share no cache, PREFETCHW leaves small records' stores waiting on
// the other core line by line, and zeroing is what frees them. Zeroed
// lines go through memory, which larger records need the bandwidth of
// where the cores share a cache; where they do not (judgeDistance), it
// zeroes for records of up to zeroFarMax bytes too.
// The next claim that reaches zeroed lines fences the zeroing before its
// stores. PrefetchAhead prepares only space the consumer has released, each
// line once, and nothing while a claim is outstanding (its record lies
// past the producer).
func (b *Buffer) PrefetchAhead(ahead, n int) {
	b.pJudge = hasCLZero && n > zeroMax && n <= zeroFarMax
	if !hasPrefetchW && !hasCLZero || b.pClaimLen >= 0 {
		return
	}
	zero := b.zeroes(n)
	from := max(b.pPos, b.pAsked)
	end := min(b.pPos+uint64(ahead), b.pConsCache+b.capacity)
	if zero {
		// Whole lines only, none holding the next header slot.
		from = (max(from, b.pPos+RecordHeaderSize) + 63) &^ 63
		end &^= 63
	}
	if end <= from || b.pAsked > b.pPos && end-from < uint64(ahead)/4 {
		return
	}
	if zero {
		start, lines, wrapped := prefetchSpans(from, end, b.mask)
		base := unsafe.Pointer(unsafe.SliceData(b.data))
		zeroLines(unsafe.Add(base, start), lines)
		zeroLines(base, wrapped)
		b.pZeroed = end
	} else if hasPrefetchW {
		b.prefetchW(from, end)
	}
	b.pAsked = end
}

// zeroMax is the largest record whose lines PrefetchAhead zeroes ahead
// (rshm bench's fire-and-forget and stream rows of 64 B and 256 B, with
// the two cores sharing a cache and not).
const zeroMax = 128

// zeroes reports whether PrefetchAhead zeroes the lines ahead of records
// of n bytes instead of asking for them.
func (b *Buffer) zeroes(n int) bool {
	return hasCLZero && (n <= zeroMax || b.pFar && n <= zeroFarMax)
}

// zeroFarMax is the largest record whose lines PrefetchAhead zeroes ahead
// when the consumer's core shares no cache with the producer's (pFar):
// there, larger records' stores wait on the other core line by line too,
// and zeroing frees them (fire-and-forget and stream of 256 B and 1 KiB);
// for 16 KiB the gain there is smaller than the loss where the cores do
// share a cache and the judge errs.
const zeroFarMax = 4096

// The producer judges whether its core and the consumer's share a cache by
// timing each load of the consumer counter that finds it moved: the
// counter's line then comes from the consumer's core, which takes several
// times longer where the two share no cache (across the last-level caches
// of an EPYC, or a VM whose vCPUs the host moves there). Each farWindow
// such loads vote against farNS, counted past what the two clock reads
// cost by themselves (clockReads: about 20 ns with the vDSO's clock, far
// more where reading the clock is a system call); with hysteresis, so
// that a window or two of interrupts does not flip the judgment back and
// forth. Loads are timed only where the judgment decides something: on a
// CPU with CLZERO, for a producer whose last PrefetchAhead was for records
// above zeroMax and up to zeroFarMax (pJudge); small records' producers,
// the ones with the least time per record, never read the clock. The
// counter is loaded once per ring's worth of free space, or per claim
// while the ring is full, when the producer is ahead of its consumer.
const (
	farWindow = 32
	farNS     = 110  // a moved line within one cache comes sooner
	farMaxNS  = 2000 // no line takes this long to move
	farVotes  = farWindow * 3 / 8
	nearVotes = farWindow / 8
)

// clockReads is the least that two back-to-back reads of the clock took
// in this process, out of a few.
var clockReads = sync.OnceValue(func() time.Duration {
	least := time.Duration(math.MaxInt64)
	for range 16 {
		t0 := time.Now()
		least = min(least, time.Since(t0))
	}
	return least
})

func (b *Buffer) judgeDistance(d time.Duration) {
	switch d -= clockReads(); {
	case d > farMaxNS:
		return // the thread was interrupted between the reads: no vote
	case d > farNS:
		b.pFarVotes++
	}
	if b.pTimed++; b.pTimed < farWindow {
		return
	}
	switch {
	case b.pFarVotes >= farVotes:
		b.pFar = true
	case b.pFarVotes <= nearVotes:
		b.pFar = false
	}
	b.pTimed, b.pFarVotes = 0, 0
}
