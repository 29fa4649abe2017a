// Package cli implements the subcommands of the rshm command: cmd/rshm holds
// only the table that dispatches to them, so that they can be tested here,
// in process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Command is one rshm subcommand.
type Command struct {
	Name    string
	Usage   string // the arguments, after "rshm "
	Summary string // one line for the command list
	// Run executes the command. It writes results to stdout and
	// diagnostics to stderr, and returns when done or when ctx is cancelled
	// (the user pressed ^C). An error wrapping ErrUsage or flag.ErrHelp is
	// a usage error (exit status 2); any other is a failure (exit status 1).
	Run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// ErrUsage marks a command line the command cannot run.
var ErrUsage = errors.New("cli: usage error")

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrUsage)
}

// parseFlags parses args with fs, allowing flags after positional arguments
// too ("rshm request URL --rr" as well as "rshm request --rr URL"), and
// returns the positional arguments. "--" ends flag parsing.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// strList is a repeatable string flag.
type strList []string

func (l *strList) String() string     { return fmt.Sprint(*l) }
func (l *strList) Set(s string) error { *l = append(*l, s); return nil }
