// Package ring is a single-producer single-consumer byte ring for records,
// laid out in memory that two processes may share.
//
// A Buffer works over a []byte that is either heap memory (AlignedMem) or a
// shared mapping. The memory is a fixed header followed by a data area whose
// capacity is a power of two; the exact bytes are drawn in layout.go. The
// creator calls Init, the peer calls Attach, and from then on exactly one
// goroutine (in one of the processes) produces and exactly one consumes.
//
// # Records
//
// Every record is an 8-byte header [u32 length][u32 type] followed by length
// bytes of payload, padded to a multiple of 8 bytes. A record never straddles
// the end of the data area: when the next record does not fit before the end,
// the producer closes the lap with a padding record that runs exactly to the
// end and writes the record at offset 0. The largest payload is MaxRecord,
// capacity/8 + HeaderSlack bytes (an eighth of the ring and room for a
// protocol's header in front of it), so padding wastes at most that.
//
// # Publication protocol
//
// The header word of the next record is the flag the consumer polls. The
// producer writes a record's payload, stores a zero header word just after
// the record (the next record's header slot), and stores the record's header
// last, with an atomic store (release). The consumer loads the header at its
// position (an atomic load: acquire): zero means nothing yet; anything else
// is a record whose payload, and the zero after it, are already visible. A
// one-way trip therefore moves the lines that hold the record and nothing
// else, where polling a separate counter would move one more line first.
//
// Publication still comes in batches: Stage keeps the header of the first
// staged record back (its slot stays zero, so the consumer stops there) and
// writes the headers behind it at once; Flush stores the held-back header,
// which publishes the whole batch. The producer also stores its position in
// the producer counter, which only Attach reads. The consumer stores the
// consumer counter once per Read call, which hands the space back; the
// producer keeps a cached copy of it and loads the shared one only when the
// cache says there is no room. Because the producer zeroes the slot after
// each record, it never fills the last 8 bytes before the consumer's
// position: that slot belongs to the consumer's next header.
//
// # Trust
//
// The peer may be buggy, hostile or dead. Every counter, length and type read
// from shared memory is checked before it is used; a bad one makes the side
// that saw it fail with an error wrapping ErrCorrupt, and that side stays
// failed. Nothing read from the ring can cause a panic, an out-of-range slice
// or an endless loop: one Read call consumes at most one lap of the ring.
//
// # Waiting
//
// Claim and Read never block. To wait, loop with a Strategy (Spin, Yield,
// Backoff, or a Block that parks on the ring's futex words), or call
// ClaimWait and ReadWait, which run that loop for you. See wait.go for when
// to use which.
package ring

import "errors"

// Errors returned by the ring. Errors about a corrupted ring wrap ErrCorrupt
// with the detail, so test them with errors.Is.
var (
	// ErrFull reports that the claimed record does not fit now; the caller
	// waits (a Strategy, WaitSpace) and retries.
	ErrFull = errors.New("ring: full")
	// ErrTooLarge reports a claim longer than MaxRecord or negative.
	ErrTooLarge = errors.New("ring: record too large")
	// ErrCorrupt reports that the shared memory breaks the layout or the
	// protocol. It is sticky: the side that saw it returns it from then on.
	ErrCorrupt = errors.New("ring: corrupt")
	// ErrClosed reports that the peer closed its side: a producer sees it
	// when the consumer is gone, a consumer once it has read every record
	// the closed producer published.
	ErrClosed = errors.New("ring: closed")
	// ErrClaimed reports a Claim while another claim is outstanding.
	ErrClaimed = errors.New("ring: claim outstanding")
	// ErrBadLayout reports memory that Init or Attach cannot use: wrong
	// size, misaligned, bad magic, unknown version or bad capacity.
	ErrBadLayout = errors.New("ring: bad layout")
)
