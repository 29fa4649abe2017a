package wstransport

import "encoding/binary"

// The transport encodes the frames it sends itself (the library reads, and
// writes the control frames): a final binary frame per RSocket frame, as
// RFC 6455 section 5.2 draws it:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-------+-+-------------+-------------------------------+
//	|F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//	|I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//	|N|V|V|V|       |S|             |   (if payload len==126/127)   |
//	| |1|2|3|       |K|             |                               |
//	+-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//	|     Extended payload length continued, if payload len == 127  |
//	+ - - - - - - - - - - - - - - - +-------------------------------+
//	|                               |Masking-key, if MASK set to 1  |
//	+-------------------------------+-------------------------------+
//	| Masking-key (continued)       |          Payload Data         |
//	+-------------------------------- - - - - - - - - - - - - - - - +
//
// "The minimal number of bytes MUST be used to encode the length", and a
// client MUST mask every frame it sends with a fresh, unpredictable key
// (section 5.3); a server MUST NOT mask.

const (
	finBinary   = 0x80 | 0x2 // FIN, opcode 2 (binary)
	maskBit     = 0x80
	maskKeySize = 4
	// maxHeaderSize is the largest header: 2 + 8 bytes of length + the key.
	maxHeaderSize = 2 + 8 + maskKeySize
)

// headerSize is the size of the header of a frame of n payload bytes,
// without the masking key.
func headerSize(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 2 + 2
	}
	return 2 + 8
}

// putHeader writes the header of a final binary frame of n payload bytes to
// b, with key as the masking key when masked, and returns its size.
func putHeader(b []byte, n int, masked bool, key [maskKeySize]byte) int {
	b[0] = finBinary
	var m byte
	if masked {
		m = maskBit
	}
	h := headerSize(n)
	switch h {
	case 2:
		b[1] = m | byte(n)
	case 4:
		b[1] = m | 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b[1] = m | 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
	if masked {
		copy(b[h:], key[:])
		h += maskKeySize
	}
	return h
}

// mask XORs b with key, repeated from its first byte (section 5.3).
func mask(b []byte, key [maskKeySize]byte) {
	k32 := binary.LittleEndian.Uint32(key[:])
	k := uint64(k32) | uint64(k32)<<32
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= key[i&3]
	}
}
