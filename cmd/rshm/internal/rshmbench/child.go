package rshmbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/affinity"
	"github.com/rshm/rshm/internal/benchkit"
	"github.com/rshm/rshm/rsocket"
)

// ServeChild is the server process of a benchmark: it answers the client's
// control requests read from in, one JSON object a line, with replies
// written to out, and runs the server each "listen" asks for. It returns
// when in ends, on "exit", or when ctx is done, after stopping the server.
func ServeChild(ctx context.Context, in io.Reader, out io.Writer) error {
	dec, enc := json.NewDecoder(in), json.NewEncoder(out)
	var srv *server
	defer func() { srv.close() }()
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("rshmbench: control: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var r reply
		switch req.Op {
		case "hello":
			r.PID = os.Getpid()
			if req.Pin {
				if _, err := affinity.PinProcess(req.CPU); err != nil {
					r.Err = err.Error()
				} else {
					r.Pinned = true
					runtime.GOMAXPROCS(1) // as the client does
				}
			}
			r.GOMAXPROCS = runtime.GOMAXPROCS(0)
			if req.Profile != "" {
				stop, err := startProfile(req.Profile)
				if err != nil {
					r.Err = err.Error()
				} else {
					defer stop()
				}
			}
		case "listen":
			srv.close()
			srv = nil
			t, err := benchkit.ParseTransport(req.Transport)
			if err == nil {
				srv, err = listen(t)
			}
			if err != nil {
				r.Err = err.Error()
			} else {
				r.Addr = srv.addr
			}
		case "usage":
			r.UserNS, r.SysNS, _ = benchkit.CPUTime()
			if srv != nil && srv.echo != nil {
				r.FNF = srv.echo.fnf.Load()
			}
		case "stop":
			srv.close()
			srv = nil
		case "exit":
			return enc.Encode(r)
		default:
			r.Err = fmt.Sprintf("unknown op %q", req.Op)
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
}

// server is one transport's server in the child.
//
// Goroutines: for rshm, one accepting connections until close; the raw
// servers own theirs (rawServer).
type server struct {
	addr   string
	echo   *echo
	rl     *rshm.Listener
	raw    *rawServer
	dir    string // the Unix socket's directory
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []*rshm.Conn
}

func listen(t benchkit.Transport) (*server, error) {
	s := &server{}
	switch t {
	case benchkit.RawTCP:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.raw, s.addr = serveRaw(ln), ln.Addr().String()
		return s, nil
	case benchkit.RawUnix:
		dir, err := os.MkdirTemp("", "rshm-bench-")
		if err != nil {
			return nil, err
		}
		s.dir, s.addr = dir, filepath.Join(dir, "echo.sock")
		ln, err := net.Listen("unix", s.addr)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.raw = serveRaw(ln)
		return s, nil
	}
	s.echo = &echo{}
	cfg := clientConfig(t)
	cfg.Server = rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return s.echo, nil },
	}
	at := "127.0.0.1:0"
	if t == benchkit.WebSocket {
		at = "ws://127.0.0.1:0" + wsPath
	}
	l, err := rshm.Listen(at, cfg)
	if err != nil {
		return nil, err
	}
	s.rl, s.addr = l, l.Addr().String()
	if t == benchkit.WebSocket {
		s.addr += wsPath
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept(ctx)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// wsPath is where the WebSocket server serves RSocket.
const wsPath = "/rsocket"

// clientConfig is the rshm.Config both sides of transport t use.
func clientConfig(t benchkit.Transport) rshm.Config {
	switch t {
	case benchkit.SHMSpin:
		return rshm.Config{Handshake: rshm.Handshake{Mode: rshm.SHMOnly, Wait: rshm.WaitSpin}}
	case benchkit.SHMDefault:
		return rshm.Config{Handshake: rshm.Handshake{Mode: rshm.SHMOnly}}
	case benchkit.SHMBackoff:
		return rshm.Config{Handshake: rshm.Handshake{Mode: rshm.SHMOnly, Wait: rshm.WaitBackoff}}
	case benchkit.SHMBlock:
		return rshm.Config{Handshake: rshm.Handshake{Mode: rshm.SHMOnly, Wait: rshm.WaitBlock}}
	}
	return rshm.Config{Handshake: rshm.Handshake{Mode: rshm.TCPOnly}}
}

// close stops the server and closes its connections; nil is a no-op.
func (s *server) close() {
	if s == nil {
		return
	}
	if s.raw != nil {
		_ = s.raw.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
	if s.rl != nil {
		s.cancel()
		_ = s.rl.Close()
		s.wg.Wait()
		for _, c := range s.conns {
			_ = c.Close()
		}
	}
}

// startProfile starts a CPU profile of this process into path and returns
// the function that ends it.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
