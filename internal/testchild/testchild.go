// Package testchild runs a test binary again as a helper process: the
// other end of a shared-memory ring, a server to kill, the command under
// test. The package's TestMain hands its roles to Main; a test starts a
// child playing one with Start (or Command, to wire the process itself).
//
//	func TestMain(m *testing.M) {
//		testchild.Main(map[string]func(args []string) int{"echo": echoChild})
//		os.Exit(m.Run())
//	}
//
//	c := testchild.Start(t, "echo", dir, name)
//	addr := c.Line(t, "addr ")
//
// A child runs its role instead of the tests and exits with what the role
// returns. Its arguments are the role's args and os.Args[1:].
package testchild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// roleEnv names, in a child's environment, the role it plays. Children
// of a child inherit it (a command under test that re-executes itself
// stays the command).
const roleEnv = "RSHM_TEST_CHILD"

// noTests is the child's first argument: should the role not be found
// because TestMain does not call Main, the child runs no test instead of
// all of them again.
const noTests = "-test.run=^$"

// LineTimeout bounds how long Line waits for the child's next line.
const LineTimeout = 10 * time.Second

// Main plays a role and exits if this process is a child started by Start
// or Command: it calls roles[role] with the child's arguments and exits
// with its result (2 for a role not in roles). In the test process itself
// it returns at once; TestMain then runs the tests.
func Main(roles map[string]func(args []string) int) {
	role, ok := os.LookupEnv(roleEnv)
	if !ok {
		return
	}
	fn := roles[role]
	if fn == nil {
		fmt.Fprintf(os.Stderr, "testchild: %s: no role %q\n", os.Args[0], role)
		os.Exit(2)
	}
	args := os.Args[1:]
	if len(args) > 0 && args[0] == noTests {
		args = args[1:]
	}
	os.Args = append(os.Args[:1:1], args...)
	os.Exit(fn(slices.Clone(args)))
}

// Command returns the command that runs the test binary as a child
// playing role with args, killed when ctx ends (exec.CommandContext). Its
// stdin, stdout and stderr are unset: the caller wires them, and may add
// to Env. A -race child does not sleep at exit (GORACE atexit_sleep_ms=0).
func Command(ctx context.Context, role string, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{noTests}, args...)...)
	race := "atexit_sleep_ms=0"
	if g := os.Getenv("GORACE"); g != "" {
		race = g + " " + race
	}
	cmd.Env = append(os.Environ(), roleEnv+"="+role, "GORACE="+race)
	return cmd
}

// Child is a running child started by Start.
type Child struct {
	cmd  *exec.Cmd
	role string

	mu      sync.Mutex
	partial []byte        // stdout after its last newline
	lines   []string      // stdout lines not yet taken by Line
	more    chan struct{} // cap 1: a line was added
	exited  chan struct{} // closed once reaped, with all of stdout in lines
	err     error         // of cmd.Wait, set before exited closes
}

// Start starts the test binary as a child playing role with args and
// returns it. Its stdout comes line by line through Line, its stderr goes
// to the test's. When t ends the child is killed, if it still runs, and
// reaped.
func Start(t testing.TB, role string, args ...string) *Child {
	t.Helper()
	c := &Child{role: role, more: make(chan struct{}, 1), exited: make(chan struct{})}
	c.cmd = Command(context.Background(), role, args...)
	c.cmd.Stdout, c.cmd.Stderr = (*stdout)(c), os.Stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("testchild: starting %s: %v", role, err)
	}
	// Reaps the child; ends when it exits and its stdout is copied.
	go func() {
		err := c.cmd.Wait()
		c.mu.Lock()
		if len(c.partial) > 0 {
			c.lines = append(c.lines, string(c.partial))
		}
		c.mu.Unlock()
		c.err = err
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = c.Kill()
		<-c.exited
	})
	return c
}

// stdout is the Child as the writer of its child's stdout: it keeps the
// output as lines, so a child never blocks on a full pipe.
type stdout Child

func (w *stdout) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, strings.TrimSuffix(string(w.partial[:i]), "\r"))
		w.partial = w.partial[i+1:]
	}
	w.mu.Unlock()
	select {
	case w.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Line returns the child's next stdout line without prefix, which it must
// start with; it fails t if the line is another, or the child exits
// without one, or none comes within LineTimeout.
func (c *Child) Line(t testing.TB, prefix string) string {
	t.Helper()
	timeout := time.After(LineTimeout)
	for {
		c.mu.Lock()
		if len(c.lines) > 0 {
			l := c.lines[0]
			c.lines = c.lines[1:]
			c.mu.Unlock()
			rest, ok := strings.CutPrefix(l, prefix)
			if !ok {
				t.Fatalf("child %s said %q; want %q...", c.role, l, prefix)
			}
			return rest
		}
		c.mu.Unlock()
		select {
		case <-c.more:
		case <-c.exited:
			c.mu.Lock()
			n := len(c.lines)
			c.mu.Unlock()
			if n == 0 {
				t.Fatalf("child %s exited (%v) without saying %q...", c.role, c.err, prefix)
			}
		case <-timeout:
			t.Fatalf("child %s did not say %q... within %v", c.role, prefix, LineTimeout)
		}
	}
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Kill kills the child (SIGKILL where there are signals) and does not
// wait for it to exit.
func (c *Child) Kill() error { return c.cmd.Process.Kill() }

// Signal sends sig to the child.
func (c *Child) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// Wait waits for the child to exit and returns its exit error (nil for
// status 0).
func (c *Child) Wait() error {
	<-c.exited
	return c.err
}

// Exited is closed once the child has exited and been reaped.
func (c *Child) Exited() <-chan struct{} { return c.exited }
