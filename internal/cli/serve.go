package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/rshm/rshm/rsocket"
)

// Serve implements "rshm serve [--count N] [--mtu N] ADDR": an Echo responder
// on a TCP address. It prints "listening on tcp://HOST:PORT" on stdout when
// ready (the real port when ADDR asks for port 0), logs every request to
// stderr, and serves until ctx is cancelled.
func Serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", DefaultCount, "payloads per request-stream when the request data is not \"count:N\"")
	mtu := fs.Int("mtu", 0, "fragment frames larger than `N` bytes (0: no fragmentation)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one ADDR, got %d arguments", len(pos))
	}
	addr, err := ParseAddr(pos[0])
	if err != nil {
		return usageErr("%v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	echo := &Echo{Count: *count, Logger: log}
	if *count == 0 {
		echo.Count = -1 // --count 0 asks for empty streams
	}
	ln, err := rsocket.ListenTCP(addr, ServerConfig(echo, *mtu, log))
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Fprintf(stdout, "listening on tcp://%s\n", ln.Addr())
	err = ln.Serve(ctx)
	if ctx.Err() != nil {
		return nil // ^C is how serve ends
	}
	if errors.Is(err, rsocket.ErrClosed) {
		return nil
	}
	return err
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
