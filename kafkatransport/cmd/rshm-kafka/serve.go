package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/rshm/rshm/internal/echo"
	"github.com/rshm/rshm/kafkatransport"
	"github.com/rshm/rshm/rsocket"
)

// stopWait bounds how long serve, stopped, waits for the request-responses
// under way before it hands its connections over.
const stopWait = 10 * time.Second

// serveConfig is serve's command line.
type serveConfig struct {
	url     kafkatransport.URL
	count   int
	maxAge  time.Duration
	verbose bool
	print   bool
}

func parseServe(args []string) (*serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := &serveConfig{}
	fs.IntVar(&cfg.count, "count", echo.DefaultCount, "payloads per request-stream when the request data is not \"count:N\"")
	fs.DurationVar(&cfg.maxAge, "max-age", 0, "refuse requests that waited longer than `D` in the log (0: no limit)")
	fs.BoolVar(&cfg.verbose, "v", false, "log every connection and request to stderr")
	fs.BoolVar(&cfg.print, "print", false, "print the data of every payload received to stdout, one per line")
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		return nil, fmt.Errorf("%w: want one kafka:// URL, got %d arguments", errUsage, len(pos))
	}
	if cfg.url, err = kafkatransport.ParseURL(pos[0]); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if cfg.url.Reply != "" {
		return nil, fmt.Errorf("%w: reply= is a requester's parameter", errUsage)
	}
	if cfg.count < 0 || cfg.maxAge < 0 {
		return nil, fmt.Errorf("%w: --count and --max-age must not be negative", errUsage)
	}
	return cfg, nil
}

// serve implements "rshm-kafka serve".
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if cfg.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	h := &echo.Responder{Count: cfg.count}
	if cfg.count == 0 {
		h.Count = -1 // --count 0 asks for empty streams
	}
	if cfg.verbose {
		h.Logger = log
	}
	if cfg.print {
		h.Observe = echo.Printer(stdout)
	}
	l, err := kafkatransport.Listen(ctx, cfg.url.Brokers, cfg.url.Topic, kafkatransport.Config{
		Group: cfg.url.Group, MaxRequestAge: cfg.maxAge, Logger: log,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", cfg.url)
	err = l.Serve(ctx, rsocket.ServerConfig{
		Acceptor: func(_ context.Context, setup rsocket.SetupInfo, _ *rsocket.Conn) (rsocket.Handler, error) {
			log.Info("connection", "dataMIME", setup.DataMIME, "metadataMIME", setup.MetadataMIME,
				"keepalive", setup.KeepaliveInterval, "maxLifetime", setup.MaxLifetime)
			return h, nil
		},
		Logger: log,
	})
	sctx, cancel := context.WithTimeout(context.Background(), stopWait)
	defer cancel()
	_ = l.Shutdown(sctx)
	if ctx.Err() != nil {
		return nil // a signal is how serve ends
	}
	return err
}
