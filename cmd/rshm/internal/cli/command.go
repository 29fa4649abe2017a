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
	"strconv"
	"time"
)

// Command is one rshm subcommand.
type Command struct {
	Name    string
	Usage   string // the arguments, after "rshm "
	Summary string // one line for the command list
	// Run executes the command. It reads input, if it takes any, from
	// stdin, writes results to stdout and diagnostics to stderr, and
	// returns when done or when ctx is cancelled (the user pressed ^C).
	// An error wrapping ErrUsage is a usage error (exit status 2); a
	// *HelpError answers -h or --help (exit status 0, the help on stdout);
	// any other is a failure (exit status 1).
	Run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// ErrUsage marks a command line the command cannot run.
var ErrUsage = errors.New("cli: usage error")

// usageError is a usage error's message; it matches ErrUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

func usageErr(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

// HelpError is what a command returns when its arguments ask for help (-h,
// --help). It matches flag.ErrHelp and carries the command's flags, for
// the caller to print where help goes: stdout, with exit status 0.
type HelpError struct {
	Flags *flag.FlagSet
}

func (e *HelpError) Error() string { return flag.ErrHelp.Error() }

// Is makes errors.Is(err, flag.ErrHelp) true.
func (e *HelpError) Is(target error) bool { return target == flag.ErrHelp }

// PrintHelp writes c's usage line, summary and flags to w.
func (c *Command) PrintHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: rshm %s\n\n%s\n", c.Usage, c.Summary)
	if fs == nil {
		return
	}
	// A flag without usage text is hidden (an internal switch).
	shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Usage != "" {
			shown.Var(f.Value, f.Name, f.Usage)
			shown.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	if !hasFlags(shown) {
		return
	}
	fmt.Fprintln(w, "\nflags (-name and --name are the same):")
	shown.SetOutput(w)
	shown.PrintDefaults()
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseFlags parses args with fs, allowing flags after positional arguments
// too ("rshm request URL --rr" as well as "rshm request --rr URL"), and
// returns the positional arguments. "--" ends flag parsing.
//
// The flag package's own messages are silenced, so that an error is
// printed once, by the caller: a bad flag is returned as a usage error
// (ErrUsage), -h or --help as a *HelpError.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &HelpError{Flags: fs}
			}
			return nil, usageErr("%v", err)
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

// optString is a string flag that remembers whether it was given, so that
// an empty value and an absent flag differ; one value may back several
// names (aliases).
type optString struct {
	s   string
	set bool
}

func (o *optString) String() string     { return o.s }
func (o *optString) Set(s string) error { o.s, o.set = s, true; return nil }

// duration is a duration flag that also takes a bare number of seconds,
// as rsocket-cli's --timeout does ("5" is 5s, "1.5" is 1.5s).
type duration time.Duration

func (d *duration) String() string { return time.Duration(*d).String() }

func (d *duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return fmt.Errorf("want a duration (500ms, 5s, 1m) or seconds: %q", s)
		}
		v = time.Duration(f * float64(time.Second))
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", s)
	}
	*d = duration(v)
	return nil
}
