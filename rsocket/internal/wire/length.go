package wire

// The length prefix of byte-stream transports (TCP):
//
//	 0                   1                   2
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Frame Length               |
//	+-----------------------------------------------+
//	|                RSocket Frame                 ...
//	+-----------------------------------------------+
//
// Frame Length: "(24 = max 16,777,215 bytes) Length of Frame. Excluding
// Framing Length Field." Message transports (WebSocket, shared-memory rings)
// do not use it.

// AppendLength appends the 24-bit big-endian length prefix n. n must be in
// [0, MaxFrameLength]; a larger n is a programming error and panics.
func AppendLength(b []byte, n int) []byte {
	if n < 0 || n > MaxFrameLength {
		panic("wire: frame length out of 24-bit range")
	}
	return append(b, byte(n>>16), byte(n>>8), byte(n))
}

// ReadLength decodes the 24-bit length prefix at the start of b, which must
// hold at least LengthSize bytes. The result is in [0, MaxFrameLength]; a
// receiver still checks it against HeaderSize and its own frame limit.
func ReadLength(b []byte) int {
	_ = b[2]
	return int(b[0])<<16 | int(b[1])<<8 | int(b[2])
}
