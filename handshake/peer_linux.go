package handshake

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// readBootID reads the id the kernel drew at boot: two processes that read
// the same one run on the same kernel. It is read once per process (both
// sides of every handshake need it, twice each): a process cannot change
// kernels, so the first successful read stays true. Failures are not
// remembered.
func readBootID() ([16]byte, error) {
	if id := bootIDCache.Load(); id != nil {
		return *id, nil
	}
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return [16]byte{}, err
	}
	id, err := parseBootID(b)
	if err != nil {
		return id, err
	}
	bootIDCache.Store(&id)
	return id, nil
}

var bootIDCache atomic.Pointer[[16]byte]

// dirID returns the device and inode of dir: two processes that see the
// same pair see the same directory (the same tmpfs mount).
func dirID(dir string) (dev, ino uint64, err error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return 0, 0, &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	return uint64(st.Dev), uint64(st.Ino), nil
}

// peerUID returns the uid that owns the other end of the loopback TCP
// connection c: the socket whose local address is c's remote address and
// whose remote address is c's local address, in this network namespace.
// It asks the kernel with one sock_diag lookup (diagUID) and, where
// netlink fails (no NETLINK_SOCK_DIAG, EPERM, ENOENT, an unexpected
// answer), reads the tables /proc/net/tcp and /proc/net/tcp6 instead,
// which costs milliseconds on a host with many sockets.
func peerUID(c net.Conn) (uint32, error) {
	local, err := addrPort(c.LocalAddr())
	if err != nil {
		return 0, err
	}
	remote, err := addrPort(c.RemoteAddr())
	if err != nil {
		return 0, err
	}
	uid, derr := diagUID(remote, local)
	if derr == nil {
		return uid, nil
	}
	uid, err = procUID(remote, local)
	if err != nil {
		return 0, fmt.Errorf("%v; /proc: %w", derr, err)
	}
	return uid, nil
}

// diagSeq numbers sock_diag requests, so that a reply is matched to its
// request.
var diagSeq atomic.Uint32

// diagUID returns the uid owning the TCP socket whose local address is src
// and whose peer is dst, by exact sock_diag lookup: AF_INET for IPv4 and
// IPv4-mapped addresses, then AF_INET6 with the mapped form (a socket of
// an IPv6 listener on [::] serving an IPv4 client), or AF_INET6 alone for
// IPv6 addresses.
func diagUID(src, dst netip.AddrPort) (uint32, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, fmt.Errorf("sock_diag: socket: %w", err)
	}
	defer unix.Close(fd)
	// The kernel answers within sendto; the timeout only guards recvfrom
	// against a kernel that would not.
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return 0, fmt.Errorf("sock_diag: SO_RCVTIMEO: %w", err)
	}
	var families [2]uint8
	fams := families[:0]
	s4, d4 := unmap(src), unmap(dst)
	if s4.Addr().Is4() && d4.Addr().Is4() {
		fams = append(fams, unix.AF_INET, unix.AF_INET6)
		src = netip.AddrPortFrom(netip.AddrFrom16(s4.Addr().As16()), src.Port())
		dst = netip.AddrPortFrom(netip.AddrFrom16(d4.Addr().As16()), dst.Port())
	} else {
		fams = append(fams, unix.AF_INET6)
	}
	var req [reqEnd]byte
	var buf [8192]byte
	for _, fam := range fams {
		s, d := src, dst
		if fam == unix.AF_INET {
			s, d = s4, d4
		}
		seq := diagSeq.Add(1)
		m := appendDiagRequest(req[:0], seq, fam, s, d)
		if err := unix.Sendto(fd, m, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return 0, fmt.Errorf("sock_diag: sendto: %w", err)
		}
		n, from, err := unix.Recvfrom(fd, buf[:], 0)
		if err != nil {
			return 0, fmt.Errorf("sock_diag: recvfrom: %w", err)
		}
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
			return 0, fmt.Errorf("sock_diag: reply from %v, not the kernel", from)
		}
		r, err := parseDiagReply(buf[:n], seq)
		if errors.Is(err, errDiagNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		return r.owner(s, d)
	}
	return 0, fmt.Errorf("%w: %v -> %v", errDiagNotFound, src, dst)
}

// procUID finds the uid owning the socket src -> dst in the kernel's
// tables /proc/net/tcp and /proc/net/tcp6.
func procUID(src, dst netip.AddrPort) (uint32, error) {
	for _, f := range [...]string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			if os.IsNotExist(err) {
				continue // no IPv6
			}
			return 0, err
		}
		uid, ok, err := socketUID(b, src, dst)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		if ok {
			return uid, nil
		}
	}
	return 0, fmt.Errorf("%w: %v -> %v", errNoSocket, src, dst)
}
