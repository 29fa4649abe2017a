package handshake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// The sock_diag codec: one exact lookup of a TCP socket by its 4-tuple
// (SOCK_DIAG_BY_FAMILY without NLM_F_DUMP), the kernel's O(1) alternative
// to reading all of /proc/net/tcp. x/sys/unix has the constants but not the
// structures, so the bytes are laid out here (linux/netlink.h,
// linux/sock_diag.h, linux/inet_diag.h). Fields marked "host" are in the
// machine's byte order, "be" in network byte order.
//
// A request is a netlink header and an inet_diag_req_v2, 72 bytes:
//
//	0        4        6        8        12       16
//	+--------+--------+--------+--------+--------+
//	| len    | type   | flags  | seq    | pid    |  nlmsghdr, host
//	+--------+--------+--------+--------+--------+
//	16  family u8 | protocol u8 | ext u8 | pad u8
//	20  states u32 host (a bit per TCP state; ignored by an exact lookup)
//	24  inet_diag_sockid, 48 bytes:
//	    24 sport be16 | 26 dport be16
//	    28 src [16]byte (an IPv4 address in its first 4 bytes)
//	    44 dst [16]byte
//	    60 if u32 host | 64 cookie [2]u32 host (INET_DIAG_NOCOOKIE: none)
//	72
//
// src/sport is the wanted socket's own (local) address, dst/dport its peer's.
//
// The answer is one message: either SOCK_DIAG_BY_FAMILY carrying an
// inet_diag_msg (72 bytes) and then attributes we skip,
//
//	16  family u8 | state u8 | timer u8 | retrans u8
//	20  inet_diag_sockid (48 bytes, as above)
//	68  expires u32 | 72 rqueue u32 | 76 wqueue u32
//	80  uid u32 host (offset 64 of inet_diag_msg)
//	84  inode u32 host
//	88  attributes...
//
// or NLMSG_ERROR carrying a negative errno (int32 host) and the request's
// header: -ENOENT when no such socket exists.
const (
	nlHdrLen = unix.NLMSG_HDRLEN // 16

	diagSockIDLen = 48
	diagReqLen    = 8 + diagSockIDLen // inet_diag_req_v2: 56
	diagMsgLen    = 4 + diagSockIDLen + 20

	// Offsets in a whole request.
	reqFamily = nlHdrLen
	reqProto  = reqFamily + 1
	reqStates = reqFamily + 4
	reqID     = reqFamily + 8
	reqEnd    = reqFamily + diagReqLen // 72

	// Offsets in an inet_diag_sockid.
	idSport  = 0
	idDport  = 2
	idSrc    = 4
	idDst    = idSrc + 16
	idIf     = idDst + 16
	idCookie = idIf + 4

	// Offsets in an inet_diag_msg.
	msgFamily = 0
	msgState  = 1
	msgID     = 4
	msgUID    = msgID + diagSockIDLen + 12 // 64
	msgInode  = msgUID + 4

	inetDiagNoCookie = ^uint32(0)

	// TCP states whose diag record carries no owner (include/net/tcp_states.h).
	tcpTimeWait   = 6
	tcpNewSynRecv = 12
)

// errDiagNotFound: the kernel knows no socket with that 4-tuple (ENOENT).
var errDiagNotFound = errors.New("sock_diag: no such socket")

// appendDiagRequest appends the exact lookup of the TCP socket whose local
// address is src and whose peer is dst, in address family family (AF_INET:
// src and dst must be IPv4; AF_INET6: 16-byte addresses, IPv4-mapped ones
// included).
func appendDiagRequest(b []byte, seq uint32, family uint8, src, dst netip.AddrPort) []byte {
	start := len(b)
	b = append(b, make([]byte, reqEnd)...)
	m := b[start:]
	ne := binary.NativeEndian
	ne.PutUint32(m[0:], reqEnd)
	ne.PutUint16(m[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(m[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(m[8:], seq)
	// pid 0: the kernel fills in ours.
	m[reqFamily] = family
	m[reqProto] = unix.IPPROTO_TCP
	ne.PutUint32(m[reqStates:], ^uint32(0))
	putSockID(m[reqID:reqID+diagSockIDLen], family, src, dst)
	ne.PutUint32(m[reqID+idCookie:], inetDiagNoCookie)
	ne.PutUint32(m[reqID+idCookie+4:], inetDiagNoCookie)
	return b
}

func putSockID(id []byte, family uint8, src, dst netip.AddrPort) {
	binary.BigEndian.PutUint16(id[idSport:], src.Port())
	binary.BigEndian.PutUint16(id[idDport:], dst.Port())
	putDiagAddr(id[idSrc:idSrc+16], family, src.Addr())
	putDiagAddr(id[idDst:idDst+16], family, dst.Addr())
}

func putDiagAddr(b []byte, family uint8, a netip.Addr) {
	if family == unix.AF_INET {
		a4 := a.As4()
		copy(b, a4[:])
		return
	}
	a16 := a.As16()
	copy(b, a16[:])
}

// diagReply is what a lookup answered.
type diagReply struct {
	family, state uint8
	src, dst      netip.AddrPort // the socket's local and peer address
	uid, inode    uint32
}

// parseDiagReply parses the kernel's answer b (what one recv returned) to
// request number seq. A NLMSG_ERROR answer is a syscall.Errno error
// (errDiagNotFound for ENOENT). Every length is checked against b: a short,
// oversized or mismatched message is an error, never a panic.
func parseDiagReply(b []byte, seq uint32) (diagReply, error) {
	var r diagReply
	if len(b) < nlHdrLen {
		return r, fmt.Errorf("sock_diag: %d-byte reply", len(b))
	}
	ne := binary.NativeEndian
	n := ne.Uint32(b[0:])
	typ := ne.Uint16(b[4:])
	if n < nlHdrLen || uint64(n) > uint64(len(b)) {
		return r, fmt.Errorf("sock_diag: message length %d in a %d-byte reply", n, len(b))
	}
	if got := ne.Uint32(b[8:]); got != seq {
		return r, fmt.Errorf("sock_diag: reply to request %d, want %d", got, seq)
	}
	body := b[nlHdrLen:n]
	switch typ {
	case unix.NLMSG_ERROR:
		if len(body) < 4 {
			return r, fmt.Errorf("sock_diag: %d-byte error message", len(body))
		}
		errno := int32(ne.Uint32(body))
		switch {
		case errno == -int32(unix.ENOENT):
			return r, errDiagNotFound
		case errno < 0:
			return r, fmt.Errorf("sock_diag: %w", syscall.Errno(-errno))
		}
		// errno 0 is an acknowledgement, which we did not ask for.
		return r, errors.New("sock_diag: acknowledgement without an answer")
	case unix.SOCK_DIAG_BY_FAMILY:
	default:
		return r, fmt.Errorf("sock_diag: message type %d", typ)
	}
	if len(body) < diagMsgLen {
		return r, fmt.Errorf("sock_diag: %d-byte inet_diag_msg, want %d", len(body), diagMsgLen)
	}
	r.family = body[msgFamily]
	r.state = body[msgState]
	var alen int
	switch r.family {
	case unix.AF_INET:
		alen = 4
	case unix.AF_INET6:
		alen = 16
	default:
		return r, fmt.Errorf("sock_diag: address family %d", r.family)
	}
	id := body[msgID : msgID+diagSockIDLen]
	src, _ := netip.AddrFromSlice(id[idSrc : idSrc+alen])
	dst, _ := netip.AddrFromSlice(id[idDst : idDst+alen])
	r.src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(id[idSport:]))
	r.dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(id[idDport:]))
	r.uid = ne.Uint32(body[msgUID:])
	r.inode = ne.Uint32(body[msgInode:])
	return r, nil
}

// owner checks that the answer describes the socket asked for (src/dst,
// IPv4-mapped addresses equal to their IPv4 form) in a state that has an
// owner, and returns its uid.
func (r diagReply) owner(src, dst netip.AddrPort) (uint32, error) {
	if unmap(r.src) != unmap(src) || unmap(r.dst) != unmap(dst) {
		return 0, fmt.Errorf("sock_diag: asked for %v -> %v, got %v -> %v", src, dst, r.src, r.dst)
	}
	if r.state == tcpTimeWait || r.state == tcpNewSynRecv {
		return 0, fmt.Errorf("sock_diag: socket %v -> %v in state %d has no owner", src, dst, r.state)
	}
	return r.uid, nil
}
