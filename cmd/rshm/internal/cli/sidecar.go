package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rshm/rshm/cmd/rshm/internal/sidecar"
)

// SidecarCommand is "rshm sidecar".
var SidecarCommand = Command{
	Name:    "sidecar",
	Usage:   "sidecar [-v] --config FILE",
	Summary: "serve the local app over shared memory and forward its requests by route to upstreams (SIGHUP reloads FILE, ^C stops)",
	Run:     Sidecar,
}

// Sidecar implements "rshm sidecar": it starts a sidecar.Sidecar from the
// configuration file (see sidecar.Config), prints the addresses it
// serves, reloads the file on SIGHUP (a file that does not parse, or a
// change that needs a restart, is reported and the running configuration
// kept), and on ^C shuts down gracefully for up to --drain, then closes.
func Sidecar(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sidecar", flag.ContinueOnError)
	path := fs.String("config", "", "the configuration `FILE` (JSON; see the sidecar section of docs/operations.md)")
	verbose := fs.Bool("v", false, "log connections, reloads and upstream changes to stderr")
	drain := fs.Duration("drain", 5*time.Second, "on ^C, let requests in flight finish for up to `D`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *path == "" || len(pos) != 0 {
		return usageErr("want --config FILE and no arguments")
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := sidecar.Load(*path)
	if err != nil {
		return err
	}
	s, err := sidecar.Start(cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", s.Addr())
	if a := s.AdminAddr(); a != nil {
		fmt.Fprintf(stdout, "admin on http://%s\n", a)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			cfg, err := sidecar.Load(*path)
			if err == nil {
				err = s.Reload(cfg)
			}
			if err != nil {
				log.Error("sidecar: reload refused, the running configuration stays", "err", err)
				continue
			}
			fmt.Fprintln(stdout, "reloaded", *path)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *drain)
			defer cancel()
			_ = s.Shutdown(sctx)
			return nil
		}
	}
}
