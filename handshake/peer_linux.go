package handshake

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// readBootID reads the id the kernel drew at boot: two processes that read
// the same one run on the same kernel.
func readBootID() ([16]byte, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return [16]byte{}, err
	}
	return parseBootID(b)
}

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
// whose remote address is c's local address, from the kernel's tables
// /proc/net/tcp and /proc/net/tcp6 (of this network namespace).
func peerUID(c net.Conn) (uint32, error) {
	local, err := addrPort(c.LocalAddr())
	if err != nil {
		return 0, err
	}
	remote, err := addrPort(c.RemoteAddr())
	if err != nil {
		return 0, err
	}
	for _, f := range [...]string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			if os.IsNotExist(err) {
				continue // no IPv6
			}
			return 0, err
		}
		uid, ok, err := socketUID(b, remote, local)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		if ok {
			return uid, nil
		}
	}
	return 0, fmt.Errorf("%w: %v -> %v", errNoSocket, remote, local)
}
