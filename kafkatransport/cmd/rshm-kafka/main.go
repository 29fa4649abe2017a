package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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
  rshm-kafka request --rr|--fnf|--stream|--channel|--metadata-push [--data S]... [--metadata S|@FILE]
                     [--take N] [--timeout D] [--keepalive D] [--lifetime D] kafka://BROKERS/TOPIC
  rshm-kafka serve [-v] [--print] [--count N] [--max-age D] kafka://BROKERS/TOPIC[?group=G]
  rshm-kafka bench --cases kafka/rr/64/1,... [--suite S] [--duration D] [--warmup D]
                   [--client-cpu N --server-cpu N | --nopin]`

// command runs the role args[0] names.
func command(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no role", errUsage)
	}
	switch args[0] {
	case "request":
		return request(ctx, args[1:], stdin, stdout, stderr)
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "bench", "run":
		return bench(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		return flag.ErrHelp
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
		fmt.Fprintf(w, "rshm-kafka: %v\n%s\n", err, usageText)
		return 2
	}
	fmt.Fprintf(w, "rshm-kafka: %v\n", err)
	return 1
}

// parse parses args with fs, flags and positional arguments in any order
// (as rshm's commands take them), and returns the positional ones. Its
// errors are usage errors.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// listFlag collects a repeated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}
