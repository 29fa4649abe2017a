package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"

	"github.com/rshm/rshm/affinity"
	"github.com/rshm/rshm/internal/benchkit"
)

// errAddr reports a --listen address that is neither tcp:// nor unix://.
var errAddr = errors.New("rshm-grpc: bad address")

// splitAddr reads tcp://HOST:PORT or unix:///PATH as a network and an
// address for net.Listen.
func splitAddr(s string) (network, addr string, err error) {
	if a, ok := strings.CutPrefix(s, "tcp://"); ok && a != "" {
		return "tcp", a, nil
	}
	if a, ok := strings.CutPrefix(s, "unix://"); ok && a != "" {
		return "unix", a, nil
	}
	return "", "", fmt.Errorf("%w: %q (want tcp://HOST:PORT or unix:///PATH)", errAddr, s)
}

// hello is serve's first line on stdout.
type hello struct {
	PID        int      `json:"pid"`
	Addrs      []string `json:"addrs"` // as --listen gave them, ports filled in
	Pinned     bool     `json:"pinned"`
	PinErr     string   `json:"pin_err,omitempty"`
	GOMAXPROCS int      `json:"gomaxprocs"`
}

// usageReply answers a "usage" line.
type usageReply struct {
	UserNS int64  `json:"user_ns"`
	SysNS  int64  `json:"sys_ns"`
	Err    string `json:"err,omitempty"`
}

// serve runs the server on addrs (pinned to cpu unless it is negative):
// it writes a hello line to out, then answers in's lines until in ends or
// ctx is done.
//
// Goroutines: one per listener (grpc.Server.Serve), ended before serve
// returns, and one reading in, which ends when in does (at once, when serve
// has returned and a line arrives).
func serve(ctx context.Context, addrs []string, cpu int, in io.Reader, out io.Writer) error {
	h := hello{PID: os.Getpid()}
	if cpu >= 0 {
		if _, err := affinity.PinProcess(cpu); err != nil {
			h.PinErr = err.Error()
		} else {
			h.Pinned = true
			runtime.GOMAXPROCS(1) // as rshm bench's server does
		}
	}
	h.GOMAXPROCS = runtime.GOMAXPROCS(0)
	srv := newServer()
	var lns []net.Listener
	defer func() {
		srv.Stop() // closes the listeners and every connection
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for _, a := range addrs {
		network, addr, err := splitAddr(a)
		if err != nil {
			return err
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		h.Addrs = append(h.Addrs, network+"://"+ln.Addr().String())
	}
	for _, ln := range lns {
		go func() { _ = srv.Serve(ln) }() // ends at srv.Stop
	}
	enc := json.NewEncoder(out)
	if err := enc.Encode(h); err != nil {
		return err
	}
	lines := make(chan string)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() { // ends when in does (the parent closes it, or exits)
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-done:
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				return <-readErr
			}
			var r usageReply
			switch strings.TrimSpace(l) {
			case "usage":
				var ok bool
				if r.UserNS, r.SysNS, ok = benchkit.CPUTime(); !ok {
					r.Err = "CPU time is not measured on " + runtime.GOOS
				}
			default:
				r.Err = fmt.Sprintf("unknown request %q", l)
			}
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	}
}
