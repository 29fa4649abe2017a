package handshake

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Message framing; every message is drawn in doc.go. Integers are
// big-endian, like RSocket's.
const (
	// Version is the handshake protocol version this package speaks.
	Version = 1

	// Magic sits at bytes 3..6 of every message, where an RSocket-over-TCP
	// frame has its stream id. The first frame of an RSocket connection is
	// SETUP or RESUME, whose stream id MUST be 0, so no RSocket client ever
	// starts with these bytes, and a server tells the two apart from the
	// first 7 bytes of a connection.
	Magic = "RSHM"

	lengthSize = 3
	// preambleSize: u24 length, magic, u8 type, u16 version.
	preambleSize = lengthSize + len(Magic) + 1 + 2
	// sniffSize is how many bytes the server peeks to classify a peer.
	sniffSize = lengthSize + len(Magic)
	// maxMessage bounds the length field of a message this package reads.
	maxMessage = 1024
)

// Message types, byte 7.
const (
	msgHello = 1 // client -> server
	msgReply = 2 // server -> client
	msgProof = 3 // client -> server
	msgFinal = 4 // server -> client
)

// Flags of the hello.
const (
	flagRequired = 0x01 // the client accepts no TCP fallback
	flagHuge     = 0x02 // the client would like huge pages
)

// Status of a reply, proof or final.
const (
	statusOK       = 0
	statusFallback = 1 // continue with RSocket over TCP on this socket
)

// Body sizes of the fixed parts (after the preamble).
const (
	helloBody = 1 + 1 + 2 + 4 + 8 + 16 + 8 + 8 + 4 + 4  // 56
	replyBody = 1 + 1 + 2 + 4 + 4 + 8 + 16 + 16 + 8 + 8 // 68, then name and text
	proofBody = 1 + 1                                   // then text
)

// hello is the client's first message.
type hello struct {
	version  uint16
	flags    uint8
	wait     Wait
	pageSize uint32
	ringSize uint64 // wanted capacity of each ring; 0: the server chooses
	host     hostID
	uid, pid uint32
}

// hostID is what makes two processes co-located: the same kernel (boot id)
// and the same shm directory (device and inode).
type hostID struct {
	bootID         [16]byte
	dirDev, dirIno uint64
}

// reply is the server's answer to a hello.
type reply struct {
	version  uint16
	status   uint8
	reason   Reason
	pid, uid uint32
	ringSize uint64 // capacity of each ring
	nonce    [16]byte
	host     hostID
	name     string // region name, at most 255 bytes
	text     string // why, when status is statusFallback; at most 255 bytes
}

// status is the body of a proof (client) or final (server) message.
type status struct {
	version uint16
	status  uint8
	reason  Reason
	text    string
}

func appendPreamble(b []byte, typ uint8, version uint16) []byte {
	b = append(b, 0, 0, 0) // length, patched by finish
	b = append(b, Magic...)
	b = append(b, typ)
	return binary.BigEndian.AppendUint16(b, version)
}

// finish patches the length of the message that starts at b[start:].
func finish(b []byte, start int) []byte {
	n := len(b) - start - lengthSize
	b[start], b[start+1], b[start+2] = byte(n>>16), byte(n>>8), byte(n)
	return b
}

func appendString8(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	b = append(b, byte(len(s)))
	return append(b, s...)
}

func appendHello(b []byte, h hello) []byte {
	start := len(b)
	b = appendPreamble(b, msgHello, h.version)
	b = append(b, h.flags, byte(h.wait), 0, 0)
	b = binary.BigEndian.AppendUint32(b, h.pageSize)
	b = binary.BigEndian.AppendUint64(b, h.ringSize)
	b = appendHost(b, h.host)
	b = binary.BigEndian.AppendUint32(b, h.uid)
	b = binary.BigEndian.AppendUint32(b, h.pid)
	return finish(b, start)
}

func appendHost(b []byte, h hostID) []byte {
	b = append(b, h.bootID[:]...)
	b = binary.BigEndian.AppendUint64(b, h.dirDev)
	return binary.BigEndian.AppendUint64(b, h.dirIno)
}

func appendReply(b []byte, r reply) []byte {
	start := len(b)
	b = appendPreamble(b, msgReply, r.version)
	b = append(b, r.status, byte(r.reason), 0, 0)
	b = binary.BigEndian.AppendUint32(b, r.pid)
	b = binary.BigEndian.AppendUint32(b, r.uid)
	b = binary.BigEndian.AppendUint64(b, r.ringSize)
	b = append(b, r.nonce[:]...)
	b = appendHost(b, r.host)
	b = appendString8(b, r.name)
	b = appendString8(b, r.text)
	return finish(b, start)
}

func appendStatus(b []byte, typ uint8, s status) []byte {
	start := len(b)
	b = appendPreamble(b, typ, s.version)
	b = append(b, s.status, byte(s.reason))
	b = appendString8(b, s.text)
	return finish(b, start)
}

// parseMessage checks that the whole message m (length prefix included) is
// of type want with a body of at least minBody bytes, and returns its
// version and body; what names the message in errors. A message whose magic
// is wrong is not ours: ErrNotRSHM.
func parseMessage(m []byte, want uint8, minBody int, what string) (version uint16, body []byte, err error) {
	typ, version, body, err := parsePreamble(m)
	if err != nil {
		return 0, nil, err
	}
	if typ != want {
		return 0, nil, fmt.Errorf("%w: type %d, want %s (%d)", ErrMalformed, typ, what, want)
	}
	if len(body) < minBody {
		return 0, nil, fmt.Errorf("%w: %s body %d bytes, want at least %d", ErrMalformed, what, len(body), minBody)
	}
	return version, body, nil
}

// parsePreamble checks the preamble of the whole message m (length prefix
// included) and returns its type, version and body.
func parsePreamble(m []byte) (typ uint8, version uint16, body []byte, err error) {
	if len(m) < preambleSize {
		if len(m) >= sniffSize && string(m[lengthSize:sniffSize]) != Magic {
			return 0, 0, nil, ErrNotRSHM
		}
		return 0, 0, nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte preamble", ErrMalformed, len(m), preambleSize)
	}
	if string(m[lengthSize:sniffSize]) != Magic {
		return 0, 0, nil, ErrNotRSHM
	}
	if n := int(m[0])<<16 | int(m[1])<<8 | int(m[2]); n != len(m)-lengthSize {
		return 0, 0, nil, fmt.Errorf("%w: length field %d, message has %d bytes", ErrMalformed, n, len(m)-lengthSize)
	}
	typ = m[sniffSize]
	version = binary.BigEndian.Uint16(m[sniffSize+1:])
	if version == 0 {
		return 0, 0, nil, fmt.Errorf("%w: version 0", ErrMalformed)
	}
	return typ, version, m[preambleSize:], nil
}

// parseHello parses a whole hello message. Bytes after the fields of
// version 1 are ignored (a later version may append fields); a hello of a
// later version parses as far as version 1 goes.
func parseHello(m []byte) (hello, error) {
	var h hello
	v, body, err := parseMessage(m, msgHello, helloBody, "hello")
	if err != nil {
		return h, err
	}
	h.version = v
	h.flags, h.wait = body[0], Wait(body[1])
	h.pageSize = binary.BigEndian.Uint32(body[4:])
	h.ringSize = binary.BigEndian.Uint64(body[8:])
	h.host = parseHost(body[16:])
	h.uid = binary.BigEndian.Uint32(body[48:])
	h.pid = binary.BigEndian.Uint32(body[52:])
	return h, nil
}

func parseHost(b []byte) hostID {
	var h hostID
	copy(h.bootID[:], b[:16])
	h.dirDev = binary.BigEndian.Uint64(b[16:])
	h.dirIno = binary.BigEndian.Uint64(b[24:])
	return h
}

// parseString8 reads a one-byte length and that many bytes.
func parseString8(b []byte, what string) (string, []byte, error) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, fmt.Errorf("%w: %s runs past the message", ErrMalformed, what)
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], nil
}

func parseReply(m []byte) (reply, error) {
	var r reply
	v, body, err := parseMessage(m, msgReply, replyBody, "reply")
	if err != nil {
		return r, err
	}
	r.version = v
	r.status, r.reason = body[0], Reason(body[1])
	r.pid = binary.BigEndian.Uint32(body[4:])
	r.uid = binary.BigEndian.Uint32(body[8:])
	r.ringSize = binary.BigEndian.Uint64(body[12:])
	copy(r.nonce[:], body[20:36])
	r.host = parseHost(body[36:])
	rest := body[replyBody:]
	if r.name, rest, err = parseString8(rest, "region name"); err != nil {
		return r, err
	}
	if r.text, _, err = parseString8(rest, "reason text"); err != nil {
		return r, err
	}
	if r.status > statusFallback {
		return r, fmt.Errorf("%w: reply status %d", ErrMalformed, r.status)
	}
	return r, nil
}

func parseStatus(m []byte, want uint8) (status, error) {
	var s status
	v, body, err := parseMessage(m, want, proofBody, "status")
	if err != nil {
		return s, err
	}
	s.version, s.status, s.reason = v, body[0], Reason(body[1])
	if s.text, _, err = parseString8(body[proofBody:], "reason text"); err != nil {
		return s, err
	}
	if s.status > statusFallback {
		return s, fmt.Errorf("%w: status %d", ErrMalformed, s.status)
	}
	return s, nil
}

// readMessage reads one whole message (length prefix included) from r into
// buf, which must hold maxMessage+lengthSize bytes. It checks the length
// and the magic before it reads the body, so a peer that is not rshm is
// told apart without waiting for a body that will not come.
func readMessage(r io.Reader, buf []byte) ([]byte, error) {
	if _, err := io.ReadFull(r, buf[:sniffSize]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: %v", ErrNotRSHM, err)
		}
		return nil, err
	}
	if string(buf[lengthSize:sniffSize]) != Magic {
		return nil, notRSHMAnswer(buf[:sniffSize])
	}
	n := int(buf[0])<<16 | int(buf[1])<<8 | int(buf[2])
	if n < preambleSize-lengthSize || n > maxMessage {
		return nil, fmt.Errorf("%w: length %d", ErrMalformed, n)
	}
	if _, err := io.ReadFull(r, buf[sniffSize:lengthSize+n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf[:lengthSize+n], nil
}

// notRSHMAnswer is the error for a peer that answered with b, the first
// bytes of something other than an rshm message: ErrNotRSHM, and
// ErrNotRSocket too when b is the start of an HTTP response.
func notRSHMAnswer(b []byte) error {
	if bytes.HasPrefix(b, []byte("HTTP/")) {
		return fmt.Errorf("%w: %w: it answered with HTTP (%q)", ErrNotRSocket, ErrNotRSHM, b)
	}
	return fmt.Errorf("%w: it answered %q", ErrNotRSHM, b)
}
