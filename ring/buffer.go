package ring

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// A Buffer is one side's handle on a ring. The shared state lives in the
// memory; the Buffer adds each side's private positions and caches.
//
// One goroutine may use the producer methods (Claim, Commit, Stage, Flush,
// Abort, Write, WaitSpace, CloseWrite) and one goroutine the consumer methods
// (Read, All, Err, WaitData, CloseRead) at the same time, on the same Buffer
// or on two Buffers over the same memory in two processes. The methods of
// one side are not safe for concurrent use.
type Buffer struct {
	// Read-only after Init or Attach; read by both sides.
	mem         []byte
	data        []byte // mem[HeaderSize:], len == capacity
	capacity    uint64
	mask        uint64
	maxRecord   uint64
	producer    *atomic.Uint64
	consumer    *atomic.Uint64
	prodClosed  *atomic.Uint32
	consClosed  *atomic.Uint32
	dataParked  *atomic.Uint32
	spaceParked *atomic.Uint32

	// intr is this process's, not shared: set by Interrupt, it makes
	// every wait on this Buffer return.
	intr atomic.Bool
	// nudged is this process's too: set by Nudge, it makes the
	// consumer's current or next WaitData return once.
	nudged atomic.Bool

	_ [lineSize]byte

	// Producer side.
	pPos       uint64 // end of the last staged or committed record
	pGate      uint64 // position of the held-back header of the first staged record
	pGateHdr   uint64 // that header; 0 when nothing is staged
	pConsCache uint64 // consumer counter as last loaded
	pClaimPos  uint64 // position of the claimed record's header
	pClaimLen  int    // claimed payload length; -1 when nothing is claimed
	pWant      uint64 // bytes the last failed Claim needed, for Block
	pAsked     uint64 // end of the free space PrefetchAhead has asked for
	pZeroed    uint64 // end of the free space PrefetchAhead has zeroed
	pFenced    uint64 // end of the zeroed space that a claim has fenced
	pTimed     uint8  // timed loads of the moved consumer counter in this window
	pFarVotes  uint8  // of them, the ones slower than farNS (past the clock's cost)
	pFar       bool   // the consumer's core shares no cache with this one, as judged
	pJudge     bool   // the records PrefetchAhead last prepared for depend on pFar
	pErr       error  // sticky
	pStats     Stats

	// Local staging (StageLocally): claims of at most localMax bytes are
	// written in this process's memory and copied into the ring by Flush.
	local     []byte     // the arena; nil: local staging off
	localMax  int        // largest claim staged locally
	localUsed int        // bytes of the arena held by staged records
	localRecs []localRec // records staged locally, in ring order
	pClaimLoc bool       // the outstanding claim is in the arena

	_ [lineSize]byte

	// Consumer side.
	cPos   uint64 // next record to read
	cErr   error  // sticky (ErrCorrupt or ErrClosed)
	cStats Stats

	_ [lineSize]byte
}

// Stats counts the slow-path events of one side of a ring, for tests,
// benchmarks and tuning.
type Stats struct {
	Wakes    uint64 // futex wake calls made for the peer
	Parks    uint64 // futex waits entered
	Timeouts uint64 // futex waits that ended by their timeout
	Late     uint64 // timeouts after which the work was there: lost wake-ups
	// Interrupts counts futex waits that ended with nobody having woken
	// them and nothing ready (a signal, a spurious wake-up); the waiter
	// waits again for the rest of its timeout.
	Interrupts uint64
}

// Init formats mem as an empty ring with the given data capacity and
// returns the creator's handle. mem must be exactly Size(capacity) bytes and
// 64-byte aligned; capacity a power of two in [MinCapacity, MaxCapacity].
// The peer must not use the memory until Init returns.
func Init(mem []byte, capacity int) (*Buffer, error) {
	if capacity < 0 {
		return nil, fmt.Errorf("capacity %d: %w", capacity, ErrBadLayout)
	}
	if err := checkMem(mem, uint64(capacity)); err != nil {
		return nil, err
	}
	clear(mem[:HeaderSize])
	clear(mem[HeaderSize : HeaderSize+RecordHeaderSize]) // the first header slot: nothing yet
	copy(mem[magicOffset:], Magic)
	binary.LittleEndian.PutUint32(mem[versionOffset:], Version)
	binary.LittleEndian.PutUint64(mem[capacityOffset:], uint64(capacity))
	b := newBuffer(mem, uint64(capacity))
	// The counters start at zero; store them atomically so a peer
	// attaching concurrently with a re-Init never sees a torn value.
	b.producer.Store(0)
	b.consumer.Store(0)
	return b, nil
}

// Attach returns the peer's handle on a ring that Init formatted in mem. It
// checks the magic, the version and the capacity against len(mem) and the
// counters for sanity, and trusts nothing else in the header.
func Attach(mem []byte) (*Buffer, error) {
	if len(mem) < HeaderSize {
		return nil, fmt.Errorf("memory is %d bytes, shorter than the %d-byte header: %w",
			len(mem), HeaderSize, ErrBadLayout)
	}
	if string(mem[magicOffset:magicOffset+len(Magic)]) != Magic {
		return nil, fmt.Errorf("magic %q, want %q: %w", mem[magicOffset:magicOffset+len(Magic)], Magic, ErrBadLayout)
	}
	if v := binary.LittleEndian.Uint32(mem[versionOffset:]); v != Version {
		return nil, fmt.Errorf("layout version %d, want %d: %w", v, Version, ErrBadLayout)
	}
	c := binary.LittleEndian.Uint64(mem[capacityOffset:])
	if err := checkMem(mem, c); err != nil {
		return nil, err
	}
	b := newBuffer(mem, c)
	// Start both sides where the ring is now, so a consumer attaching to a
	// ring with records in it reads them, and a producer appends after them.
	prod, cons := b.producer.Load(), b.consumer.Load()
	if err := b.checkCounters(prod, cons); err != nil {
		return nil, err
	}
	b.pPos, b.pConsCache = prod, cons
	b.cPos = cons
	return b, nil
}

func newBuffer(mem []byte, capacity uint64) *Buffer {
	b := &Buffer{
		mem:       mem,
		data:      mem[HeaderSize : HeaderSize+capacity : HeaderSize+capacity],
		capacity:  capacity,
		mask:      capacity - 1,
		maxRecord: capacity/8 + HeaderSlack,
		pClaimLen: -1,
	}
	b.producer = word64(mem, producerOffset)
	b.consumer = word64(mem, consumerOffset)
	b.prodClosed = word32(mem, producerClosedOffset)
	b.consClosed = word32(mem, consumerClosedOffset)
	b.dataParked = word32(mem, dataParkedOffset)
	b.spaceParked = word32(mem, spaceParkedOffset)
	return b
}

// slot returns the record header word at position pos, for atomic access:
// the producer's store that publishes and the consumer's load that polls.
// The data area starts 64-byte aligned and positions are 8-aligned.
func (b *Buffer) slot(pos uint64) *uint64 {
	return (*uint64)(unsafe.Pointer(&b.data[pos&b.mask]))
}

// word64 and word32 view a header word as an atomic. The memory is 64-byte
// aligned and the offsets are multiples of 8, so the words are aligned.
func word64(mem []byte, off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&mem[off]))
}

func word32(mem []byte, off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&mem[off]))
}

// checkCounters checks a producer and consumer counter pair read from the
// shared memory: both 8-aligned, the consumer not ahead of the producer and
// the producer not more than a capacity, less the consumer's header slot,
// ahead.
func (b *Buffer) checkCounters(prod, cons uint64) error {
	switch {
	case prod%RecordAlignment != 0:
		return fmt.Errorf("%w: producer counter %d not %d-aligned", ErrCorrupt, prod, RecordAlignment)
	case cons%RecordAlignment != 0:
		return fmt.Errorf("%w: consumer counter %d not %d-aligned", ErrCorrupt, cons, RecordAlignment)
	case prod-cons > b.capacity-RecordHeaderSize: // also catches cons > prod, by wrap-around
		return fmt.Errorf("%w: producer counter %d, consumer counter %d, capacity %d",
			ErrCorrupt, prod, cons, b.capacity)
	}
	return nil
}

// Capacity returns the size of the data area in bytes.
func (b *Buffer) Capacity() int { return int(b.capacity) }

// MaxRecord returns the largest payload a record may have:
// Capacity()/8 + HeaderSlack.
func (b *Buffer) MaxRecord() int { return int(b.maxRecord) }

// ProducerStats returns the producer side's counts. Producer side only.
func (b *Buffer) ProducerStats() Stats { return b.pStats }

// ConsumerStats returns the consumer side's counts. Consumer side only.
func (b *Buffer) ConsumerStats() Stats { return b.cStats }

// ConsumerWakes is ConsumerStats().Wakes alone, for a caller that holds the
// consumer side while a WaitDataAt of another goroutine may count its park.
func (b *Buffer) ConsumerWakes() uint64 { return b.cStats.Wakes }

// Mem returns the memory the ring lives in.
func (b *Buffer) Mem() []byte { return b.mem }
