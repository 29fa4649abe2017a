package handshake

import (
	"bufio"
	"net"
)

// isRSHM reports whether the first sniffSize bytes of a connection start an
// rshm hello: bytes 3..6 are the magic. RSocket over TCP starts with a
// 24-bit length and a SETUP or RESUME frame whose stream id, bytes 3..6,
// MUST be zero, so the two never collide.
func isRSHM(first []byte) bool {
	return len(first) >= sniffSize && string(first[lengthSize:sniffSize]) == Magic
}

// bufioReader returns a small reader over c for the liveness goroutine,
// which reads at most one byte.
func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 16) }
