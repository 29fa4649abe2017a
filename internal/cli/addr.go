package cli

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrBadAddr reports an address the commands cannot use.
var ErrBadAddr = errors.New("cli: bad address")

// ParseAddr turns a command-line address into a TCP host:port.
//
// It accepts "tcp://host:port" and a bare "host:port". An empty host means
// 127.0.0.1: rshm never listens on every interface unless asked to
// ("0.0.0.0:port" or "[::]:port"). Port 0 asks the kernel for a free port.
func ParseAddr(s string) (string, error) {
	hostport := s
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if scheme != "tcp" {
			return "", fmt.Errorf("%q: scheme %q not supported (want tcp://host:port): %w", s, scheme, ErrBadAddr)
		}
		hostport = rest
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", fmt.Errorf("%q: %v: %w", s, err, ErrBadAddr)
	}
	if port == "" {
		return "", fmt.Errorf("%q: missing port: %w", s, ErrBadAddr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}
