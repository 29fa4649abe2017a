package shm

import (
	"encoding/binary"
	"fmt"
)

// The region header occupies the first HeaderSize bytes of every region.
// Multi-byte fields are little-endian. The handshake words sit on their own
// cache lines, away from the fields the creator writes once.
//
//	 0                   8         12        16                  24
//	+-------------------+---------+---------+-------------------+
//	| magic "RSHMREGN"  | version | hdrSize | total size        |   creator line
//	+---------+---------+---------+---------+-------------------+   (written once
//	|creatorPID reserved| creator start time| ring capacity     |    by Create,
//	+---------+---------+-------------------+-------------------+    then read-only)
//	24        28        32                  40                  48
//	+-------------------+
//	| creator pid ns    |   the creator's PID namespace (inode of
//	+-------------------+   /proc/self/ns/pid); 0 where unknown
//	48                  56
//	  ... zero to byte 128 ...
//	128       132       136                                     152
//	+---------+---------+---------------------------------------+
//	| opened  |openerPID| nonce [16]                            |   opener line
//	+---------+---------+---------------------------------------+
//	  ... zero to HeaderSize (4096); the data area starts page aligned ...
//
// Publication protocol: Create writes every creator field before the name is
// handed to anyone, so an opener that can open the file sees them. The
// opener writes openerPID and the nonce, then stores 1 into opened with an
// atomic store; the creator loads opened atomically and only a 1 publishes
// the nonce. The creator never writes the opener line and the opener never
// writes the creator line.
const (
	offMagic        = 0
	offVersion      = offMagic + 8
	offHeaderSize   = offVersion + 4
	offTotalSize    = offHeaderSize + 4
	offCreatorPID   = offTotalSize + 8
	offReserved     = offCreatorPID + 4
	offCreatorStart = offReserved + 4
	offRingCap      = offCreatorStart + 8
	offCreatorNS    = offRingCap + 8
	creatorEnd      = offCreatorNS + 8

	// openerLine is where the opener's fields start: two cache lines (128
	// bytes, the adjacent-line prefetcher's pair) after the creator's.
	openerLine   = 128
	offOpened    = openerLine
	offOpenerPID = offOpened + 4
	offNonce     = offOpenerPID + 4
	openerEnd    = offNonce + NonceSize

	// HeaderSize is the number of bytes the header reserves at the start of
	// a region. It is one 4 KiB page so the data area is page aligned.
	HeaderSize = 4096

	// NonceSize is the size of the nonce an opener writes to prove it
	// mapped the region.
	NonceSize = 16

	// Version is the layout version this package writes and accepts.
	Version = 1

	// MaxSize bounds the total size of a region that Open accepts.
	MaxSize = 1 << 40
)

// Magic is the first eight bytes of every region.
const Magic = "RSHMREGN"

// header is the creator line of the region header.
type header struct {
	version      uint32
	headerSize   uint32
	totalSize    uint64
	creatorPID   uint32
	creatorStart uint64
	ringCap      uint64
	// creatorNS identifies the creator's PID namespace: its pid means
	// something only there. Zero (unknown, or a creator that did not
	// record it) is taken as this process's namespace.
	creatorNS uint64
}

// appendHeader appends the creator line of h, creatorEnd bytes, to b.
func appendHeader(b []byte, h header) []byte {
	b = append(b, Magic...)
	b = binary.LittleEndian.AppendUint32(b, h.version)
	b = binary.LittleEndian.AppendUint32(b, h.headerSize)
	b = binary.LittleEndian.AppendUint64(b, h.totalSize)
	b = binary.LittleEndian.AppendUint32(b, h.creatorPID)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, h.creatorStart)
	b = binary.LittleEndian.AppendUint64(b, h.ringCap)
	b = binary.LittleEndian.AppendUint64(b, h.creatorNS)
	return b
}

// parseHeader reads and validates the creator line at the start of b, a
// region whose file is size bytes long. It trusts nothing: every field is
// checked before it is returned.
func parseHeader(b []byte, size int64) (header, error) {
	var h header
	if len(b) < creatorEnd {
		return h, fmt.Errorf("%w: %d bytes, need %d", ErrBadHeader, len(b), creatorEnd)
	}
	if string(b[offMagic:offMagic+8]) != Magic {
		return h, fmt.Errorf("%w: magic %q", ErrBadHeader, b[offMagic:offMagic+8])
	}
	h.version = binary.LittleEndian.Uint32(b[offVersion:])
	if h.version != Version {
		return h, fmt.Errorf("%w: layout version %d, want %d", ErrVersion, h.version, Version)
	}
	h.headerSize = binary.LittleEndian.Uint32(b[offHeaderSize:])
	if h.headerSize != HeaderSize {
		return h, fmt.Errorf("%w: header size %d, want %d", ErrBadHeader, h.headerSize, HeaderSize)
	}
	h.totalSize = binary.LittleEndian.Uint64(b[offTotalSize:])
	if size < 0 || h.totalSize != uint64(size) {
		return h, fmt.Errorf("%w: header says %d bytes, file has %d", ErrSize, h.totalSize, size)
	}
	if h.totalSize < HeaderSize || h.totalSize > MaxSize {
		return h, fmt.Errorf("%w: %d bytes", ErrSize, h.totalSize)
	}
	h.creatorPID = binary.LittleEndian.Uint32(b[offCreatorPID:])
	if h.creatorPID == 0 || h.creatorPID > 1<<22 {
		return h, fmt.Errorf("%w: creator pid %d", ErrBadHeader, h.creatorPID)
	}
	h.creatorStart = binary.LittleEndian.Uint64(b[offCreatorStart:])
	h.ringCap = binary.LittleEndian.Uint64(b[offRingCap:])
	h.creatorNS = binary.LittleEndian.Uint64(b[offCreatorNS:])
	if h.ringCap > h.totalSize {
		return h, fmt.Errorf("%w: ring capacity %d in a %d-byte region", ErrBadHeader, h.ringCap, h.totalSize)
	}
	return h, nil
}
