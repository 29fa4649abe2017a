package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/internal/echo"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/rsocket/router"
	"github.com/rshm/rshm/shm"
)

// ServeCommand is "rshm serve".
var ServeCommand = Command{
	Name:    "serve",
	Usage:   "serve [-v] [--print] [--route R]... [--resume] [--count N] [--mtu N] ADDR",
	Summary: "run an echo responder for every interaction model (^C stops it)",
	Run:     Serve,
}

// Serve implements "rshm serve": an echo.Responder on ADDR (shm://,
// tcp://, ws://host:port/path, or host:port, see rshm.ParseURL and
// rshm.Listen). With a bare host:port the port serves co-located clients
// over shared memory and every other RSocket peer over TCP. It prints
// "listening on URL" on stdout when ready (the real port when ADDR asks
// for port 0).
//
// It is quiet by default: stderr gets warnings and errors only. -v logs
// every connection, its SETUP and every request to stderr (which costs
// more than the echo itself). --print writes the data of every payload it
// receives to stdout, one line each (the metadata of a metadata push), and
// answers as without it.
//
// --route R (repeatable) answers only requests routed to one of the routes
// (the routing extension, bare or in composite metadata, as the client's
// SETUP says; package router), and refuses the others with REJECTED.
// --resume keeps sessions of resumable clients across broken transports.
//
// Serve serves until ctx is cancelled (the first ^C): it then stops
// listening and closes every connection at once, without draining the
// requests in flight (their requesters see the connection close), and
// returns nil.
func Serve(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	count := fs.Int("count", echo.DefaultCount, "payloads per request-stream when the request data is not \"count:N\"")
	mtu := fs.Int("mtu", 0, "fragment frames larger than `N` bytes (0: no fragmentation)")
	verbose := fs.Bool("v", false, "log every connection and request to stderr")
	printData := fs.Bool("print", false, "print the data of every payload received to stdout, one per line")
	var routes strList
	fs.Var(&routes, "route", "answer requests for route `R` only (repeat for more routes)")
	resume := fs.Bool("resume", false, "accept resumable sessions (rshm request --resume)")
	var scfgSHM shm.Config
	shmFlags(fs, &scfgSHM)
	metricsAddr := fs.String("metrics", "", "serve connection statistics for Prometheus at http://`ADDR`/metrics")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one ADDR, got %d arguments", len(pos))
	}
	addr, mode := pos[0], rshm.Auto
	if !isWebSocket(addr) {
		if addr, mode, err = rshm.ParseURL(pos[0]); err != nil {
			return usageErr("%v", err)
		}
	}
	for _, r := range routes {
		if len(r) > metadata.MaxTag {
			return usageErr("--route %.32q...: longer than %d bytes", r, metadata.MaxTag)
		}
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	h := &echo.Responder{Count: *count}
	if *count == 0 {
		h.Count = -1 // --count 0 asks for empty streams
	}
	if *verbose {
		h.Logger = log // not merely filtered: building each record is the cost
	}
	if *printData {
		h.Observe = echo.Printer(stdout)
	}
	scfg := serverConfig(h, routes, *mtu, *verbose, log)
	if *resume {
		scfg.Resume = &rsocket.ResumeConfig{}
	}
	ln, err := rshm.Listen(addr, rshm.Config{Handshake: rshm.Handshake{Mode: mode, Logger: log, SHM: scfgSHM}, Server: scfg})
	if err != nil {
		return err
	}
	defer ln.Close()
	if isWebSocket(addr) {
		fmt.Fprintf(stdout, "listening on ws://%s%s\n", ln.Addr(), wsPath(addr))
	} else {
		fmt.Fprintf(stdout, "listening on %s\n", rshm.URL(ln.Addr().String(), mode))
	}
	if *metricsAddr != "" {
		a, stop, err := serveMetrics(*metricsAddr, ln)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", a)
	}
	if !*verbose {
		_ = ln.Serve(ctx) // ^C is how serve ends; the listener closes every connection
		return nil
	}
	for {
		c, err := ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		log.Info("connection", "transport", c.Kind().String())
	}
}

// shmFlags defines the flags that say where regions live and who shares
// them.
func shmFlags(fs *flag.FlagSet, c *shm.Config) {
	fs.StringVar(&c.Dir, "shm-dir", "", "keep shared-memory regions in `DIR` (default /dev/shm); both sides must see the same directory")
	fs.StringVar(&c.Group, "shm-group", "", "share regions with group `G` (a name or id) instead of this user only, for peers that run as other users of the group; both sides set it")
}

// serverConfig returns the rsocket server configuration of rshm serve:
// every client is accepted and answered by h, through a router of routes
// when there are any.
func serverConfig(h *echo.Responder, routes []string, mtu int, verbose bool, log *slog.Logger) rsocket.ServerConfig {
	var r *router.Router
	if len(routes) > 0 {
		r = router.New(router.Config{Logger: log})
		r.OnMetadataPush(h.MetadataPush)
		seen := make(map[string]bool)
		for _, route := range routes {
			if seen[route] {
				continue // the router refuses a route registered twice
			}
			seen[route] = true
			r.OnRequestResponse(route, h.RequestResponse)
			r.OnFireAndForget(route, h.FireAndForget)
			r.OnRequestStream(route, h.RequestStream)
			r.OnRequestChannel(route, h.RequestChannel)
		}
	}
	return rsocket.ServerConfig{
		Acceptor: func(ctx context.Context, setup rsocket.SetupInfo, conn *rsocket.Conn) (rsocket.Handler, error) {
			if verbose {
				log.Info("client connected",
					slog.String("dataMIME", setup.DataMIME), slog.String("metadataMIME", setup.MetadataMIME),
					slog.Duration("keepalive", setup.KeepaliveInterval), slog.Duration("maxLifetime", setup.MaxLifetime),
					slog.String("setupData", preview(setup.Payload.Data)), slog.Int("setupDataLen", len(setup.Payload.Data)))
			}
			if r != nil {
				return r.WithSetup(setup), nil
			}
			return h, nil
		},
		MTU:    mtu,
		Logger: log,
	}
}

// preview shortens a payload for the log.
func preview(b []byte) string {
	const max = 64
	if len(b) <= max {
		return string(b)
	}
	return string(b[:max]) + "…"
}

// wsPath is the path of a ws:// URL, "/" when it has none.
func wsPath(s string) string {
	_, rest, _ := strings.Cut(s, "://")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}
