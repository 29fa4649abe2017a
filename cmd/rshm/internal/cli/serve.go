package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/internal/echo"
	"github.com/rshm/rshm/rsocket"
)

// Serve implements "rshm serve [--count N] [--mtu N] ADDR": an echo.Responder
// on ADDR (shm://, tcp:// or host:port, see rshm.ParseURL). With a bare
// host:port the port serves co-located clients over shared memory and every
// other RSocket peer over TCP. It prints "listening on URL" on stdout when
// ready (the real port when ADDR asks for port 0), logs every connection
// with its transport and every request to stderr, and serves until ctx is
// cancelled.
func Serve(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	count := fs.Int("count", echo.DefaultCount, "payloads per request-stream when the request data is not \"count:N\"")
	mtu := fs.Int("mtu", 0, "fragment frames larger than `N` bytes (0: no fragmentation)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one ADDR, got %d arguments", len(pos))
	}
	addr, mode, err := rshm.ParseURL(pos[0])
	if err != nil {
		return usageErr("%v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	h := &echo.Responder{Count: *count, Logger: log}
	if *count == 0 {
		h.Count = -1 // --count 0 asks for empty streams
	}
	ln, err := rshm.Listen(addr, rshm.Config{Handshake: rshm.Handshake{Mode: mode}, Server: ServerConfig(h, *mtu, log)})
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Fprintf(stdout, "listening on %s\n", rshm.URL(ln.Addr().String(), mode))
	var conns []*rshm.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for {
		c, err := ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // ^C is how serve ends
			}
			return err
		}
		log.Info("connection", "transport", c.Kind().String())
		conns = append(slices.DeleteFunc(conns, closed), c)
	}
}

// closed reports whether c has closed (its peer went away).
func closed(c *rshm.Conn) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// ServerConfig returns the rsocket server configuration of rshm serve: every
// client is accepted and answered by h.
func ServerConfig(h rsocket.Handler, mtu int, log *slog.Logger) rsocket.ServerConfig {
	return rsocket.ServerConfig{
		Acceptor: func(ctx context.Context, setup rsocket.SetupInfo, conn *rsocket.Conn) (rsocket.Handler, error) {
			if log != nil {
				log.Info("client connected",
					slog.String("dataMIME", setup.DataMIME), slog.String("metadataMIME", setup.MetadataMIME),
					slog.Duration("keepalive", setup.KeepaliveInterval), slog.Duration("maxLifetime", setup.MaxLifetime))
			}
			return h, nil
		},
		MTU:    mtu,
		Logger: log,
	}
}
