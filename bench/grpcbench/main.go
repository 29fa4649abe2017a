package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := command(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// errUsage reports a command line that cannot run.
var errUsage = errors.New("usage")

const usageText = `usage:
  rshm-grpc run --cases T/M/SIZE/C,... | --transport grpc-tcp|grpc-unix --model rr|stream --size N --concurrency C
                [--suite S] [--duration D] [--warmup D] [--client-cpu N --server-cpu N | --nopin]
  rshm-grpc serve --listen tcp://127.0.0.1:0|unix:///PATH ... [--cpu N]`

// command runs the role args[0] names.
func command(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no role", errUsage)
	}
	switch args[0] {
	case "run":
		cfg, err := parseRun(args[1:], stderr)
		if err != nil {
			return err
		}
		return runCases(ctx, cfg, stdout, stderr)
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(stderr)
		var listen listFlag
		fs.Var(&listen, "listen", "`ADDR` to serve on, tcp://HOST:PORT or unix:///PATH (repeatable)")
		cpu := fs.Int("cpu", -1, "pin to this CPU (negative: do not pin)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if len(listen) == 0 || fs.NArg() > 0 {
			return fmt.Errorf("%w: serve needs --listen and no arguments", errUsage)
		}
		return serve(ctx, listen, *cpu, stdin, stdout)
	}
	return fmt.Errorf("%w: unknown role %q", errUsage, args[0])
}

// exitCode reports err on w and returns the process's exit status: 0, 1
// when the command failed, 2 for a usage error.
func exitCode(err error, w io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(w, usageText)
		return 2
	case errors.Is(err, errUsage):
		fmt.Fprintf(w, "rshm-grpc: %v\n%s\n", err, usageText)
		return 2
	}
	fmt.Fprintf(w, "rshm-grpc: %v\n", err)
	return 1
}

// listFlag collects a repeated string flag.
type listFlag []string

func (l *listFlag) String() string { return fmt.Sprint([]string(*l)) }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}
