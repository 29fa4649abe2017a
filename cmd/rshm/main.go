// Command rshm serves and requests RSocket over shared memory and TCP,
// compares the transports on this machine (bench) and says what limits the
// machine (doctor). Run "rshm help" for the list of subcommands, "rshm
// help COMMAND" for the flags of one.
//
// Exit status: 0 on success and for help (printed to stdout), 1 when the
// command failed, 2 for a usage error (printed once, to stderr). The first
// ^C (SIGINT, or SIGTERM) stops the command: rshm serve closes its
// connections at once and exits 0; a second ^C kills the process.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rshm/rshm/cmd/rshm/internal/cli"
)

// commands is the subcommand table; a new subcommand is one more line.
var commands = []cli.Command{
	cli.ServeCommand,
	cli.RequestCommand,
	cli.SidecarCommand,
	cli.DoctorCommand,
	cli.BenchCommand,
	cli.VersionCommand,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Once the first signal has cancelled ctx, the signals get their
	// default action back: a second ^C kills the process even if the
	// command is slow to stop.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and returns the exit status: 0 on
// success and for help, 1 when the command failed, 2 for a usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if args[0] == "help" && len(args) == 2 {
			return run(ctx, []string{args[1], "-h"}, stdin, stdout, stderr)
		}
		usage(stdout)
		return 0
	case "-version", "--version":
		args = []string{"version"}
	}
	if (args[0] == "request" || args[0] == "serve") && cli.KafkaURL(args[1:]) {
		return cli.Kafka(ctx, args[0], args[1:], stdin, stdout, stderr)
	}
	for _, c := range commands {
		if c.Name != args[0] {
			continue
		}
		err := c.Run(ctx, args[1:], stdin, stdout, stderr)
		var help *cli.HelpError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &help):
			c.PrintHelp(stdout, help.Flags)
			return 0
		case errors.Is(err, cli.ErrUsage):
			fmt.Fprintf(stderr, "rshm %s: %v\nusage: rshm %s\nrun 'rshm help %s' for the flags\n", c.Name, err, c.Usage, c.Name)
			return 2
		default:
			fmt.Fprintf(stderr, "rshm %s: %v\n", c.Name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "rshm: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: rshm COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.Name, c.Summary)
		fmt.Fprintf(w, "           rshm %s\n", c.Usage)
	}
	fmt.Fprintln(w, "\nrshm help COMMAND (or rshm COMMAND -h) lists the flags of COMMAND; rshm --version is rshm version.")
}
