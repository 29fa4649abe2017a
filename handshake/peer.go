package handshake

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// errNoSocket: no row of the kernel's socket table matches the connection.
var errNoSocket = errors.New("socket not found in /proc/net/tcp{,6}")

// parseBootID parses the text of /proc/sys/kernel/random/boot_id, a UUID
// such as "a69272cb-6d44-41fb-9e8d-ba796401b192\n".
func parseBootID(b []byte) ([16]byte, error) {
	var id [16]byte
	s := bytes.TrimSpace(b)
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("boot id %q is not a UUID", s)
	}
	var hexDigits [32]byte
	n := 0
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		hexDigits[n] = c
		n++
	}
	if _, err := hex.Decode(id[:], hexDigits[:]); err != nil {
		return id, fmt.Errorf("boot id %q: %v", s, err)
	}
	return id, nil
}

// socketUID scans the text of /proc/net/tcp or /proc/net/tcp6 for the
// socket whose local address is local and whose remote address is remote,
// and returns its owner's uid. IPv4-mapped IPv6 addresses compare equal to
// their IPv4 form.
//
// A row reads, after a header line:
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid ...
//	 1: 0100007F:8B38 0100007F:AB49 01 00000000:00000000 00:00000000 00000000  1000 ...
//
// An IPv4 address is one 32-bit word printed as a native-endian integer,
// an IPv6 address four such words; ports are plain hex.
func socketUID(table []byte, local, remote netip.AddrPort) (uint32, bool, error) {
	local = unmap(local)
	remote = unmap(remote)
	lines := bytes.Split(table, []byte{'\n'})
	for i, line := range lines {
		if i == 0 {
			continue // header
		}
		f := bytes.Fields(line)
		if len(f) < 8 {
			continue
		}
		l, err := parseProcAddr(f[1])
		if err != nil {
			return 0, false, fmt.Errorf("line %d: %w", i+1, err)
		}
		if unmap(l) != local {
			continue
		}
		r, err := parseProcAddr(f[2])
		if err != nil {
			return 0, false, fmt.Errorf("line %d: %w", i+1, err)
		}
		if unmap(r) != remote {
			continue
		}
		uid, err := strconv.ParseUint(string(f[7]), 10, 32)
		if err != nil {
			return 0, false, fmt.Errorf("line %d: uid %q: %w", i+1, f[7], err)
		}
		return uint32(uid), true, nil
	}
	return 0, false, nil
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// parseProcAddr parses "0100007F:1ED2" (IPv4) or 32 hex digits and a port
// (IPv6). Each 32-bit group is printed by the kernel as a native-endian
// integer: byte-swapped on little-endian machines (addrWord).
func parseProcAddr(s []byte) (netip.AddrPort, error) {
	i := bytes.IndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("address %q has no port", s)
	}
	h, p := s[:i], s[i+1:]
	port, err := strconv.ParseUint(string(p), 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: port: %v", s, err)
	}
	var raw [16]byte
	switch len(h) {
	case 8, 32:
	default:
		return netip.AddrPort{}, fmt.Errorf("address %q: %d hex digits", s, len(h))
	}
	if _, err := hex.Decode(raw[:len(h)/2], h); err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %v", s, err)
	}
	for w := 0; w < len(h)/8; w++ {
		addrWord(raw[4*w : 4*w+4])
	}
	var a netip.Addr
	if len(h) == 8 {
		a = netip.AddrFrom4([4]byte(raw[:4]))
	} else {
		a = netip.AddrFrom16(raw)
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

// addrPort converts a net.Addr of a TCP connection.
func addrPort(a net.Addr) (netip.AddrPort, error) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%v is not a TCP address", a)
	}
	return ta.AddrPort(), nil
}

// addrWord turns one 32-bit group of a /proc/net/tcp address, decoded from
// hex as printed, into network byte order. The kernel prints the group as
// a native-endian integer.
func addrWord(w []byte) {
	if nativeLittle {
		w[0], w[1], w[2], w[3] = w[3], w[2], w[1], w[0]
	}
}

var nativeLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1
