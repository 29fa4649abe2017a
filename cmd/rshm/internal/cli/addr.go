package cli

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/rshm/rshm"
)

// ErrBadAddr reports an address the commands cannot use.
var ErrBadAddr = errors.New("cli: bad address")

// ParseAddr turns a command-line address into a host:port and the transport
// it asks for.
//
// It accepts "shm://host:port" (shared memory required), "tcp://host:port"
// (RSocket over TCP only) and a bare "host:port" (auto: shared memory when
// the peer is co-located, else TCP). An empty host means 127.0.0.1: rshm
// never listens on every interface unless asked to ("0.0.0.0:port" or
// "[::]:port"). Port 0 asks the kernel for a free port.
func ParseAddr(s string) (string, rshm.Transport, error) {
	hostport, mode := s, rshm.Auto
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		switch scheme {
		case "tcp":
			mode = rshm.TCPOnly
		case "shm":
			mode = rshm.SHMOnly
		default:
			return "", 0, fmt.Errorf("%q: scheme %q not supported (want shm://, tcp:// or host:port): %w", s, scheme, ErrBadAddr)
		}
		hostport = rest
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %v: %w", s, err, ErrBadAddr)
	}
	if port == "" {
		return "", 0, fmt.Errorf("%q: missing port: %w", s, ErrBadAddr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), mode, nil
}

// URL writes addr with the scheme of mode: what ParseAddr reads back.
func URL(addr string, mode rshm.Transport) string {
	switch mode {
	case rshm.SHMOnly:
		return "shm://" + addr
	case rshm.TCPOnly:
		return "tcp://" + addr
	}
	return addr
}
