package testchild_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
)

func TestMain(m *testing.M) {
	testchild.Main(map[string]func(args []string) int{
		"echo": func(args []string) int {
			fmt.Println("args", strings.Join(args, ","))
			fmt.Println("os.Args", strings.Join(os.Args[1:], ","))
			fmt.Print("no newline")
			return 3
		},
		"chatty": func(args []string) int {
			for i := range 10000 {
				fmt.Println("line", i)
			}
			fmt.Println("done")
			return 0
		},
		"hang": func([]string) int {
			fmt.Println("ready")
			time.Sleep(time.Minute)
			return 1
		},
	})
	os.Exit(m.Run())
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// A role gets its arguments, in args and in os.Args; its lines come in
// order, the last one without a newline too; its result is the exit code.
func TestStart(t *testing.T) {
	c := testchild.Start(t, "echo", "a", "b c")
	if got := c.Line(t, "args "); got != "a,b c" {
		t.Errorf("args %q; want a,b c", got)
	}
	if got := c.Line(t, "os.Args "); got != "a,b c" {
		t.Errorf("os.Args %q; want a,b c", got)
	}
	if got := c.Line(t, ""); got != "no newline" {
		t.Errorf("last line %q", got)
	}
	if code := exitCode(c.Wait()); code != 3 {
		t.Errorf("exit %v; want 3", c.Wait())
	}
}

// A child that writes more than a pipe holds before anyone reads is not
// held up; its lines wait for Line.
func TestStartChatty(t *testing.T) {
	c := testchild.Start(t, "chatty")
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range 10000 {
		if got := c.Line(t, "line "); got != fmt.Sprint(i) {
			t.Fatalf("line %d: %q", i, got)
		}
	}
	c.Line(t, "done")
}

func TestKill(t *testing.T) {
	c := testchild.Start(t, "hang")
	c.Line(t, "ready")
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("killed child did not exit")
	}
	if c.Wait() == nil {
		t.Error("killed child exited with status 0")
	}
}

// Command leaves the wiring to the caller; a role the binary does not
// know exits 2.
func TestCommand(t *testing.T) {
	out, err := testchild.Command(context.Background(), "echo", "x").Output()
	if code := exitCode(err); code != 3 || !strings.HasPrefix(string(out), "args x\n") {
		t.Errorf("output %q, %v; want args x and exit 3", out, err)
	}
	cmd := testchild.Command(context.Background(), "nosuch")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if code := exitCode(cmd.Run()); code != 2 || !strings.Contains(stderr.String(), `no role "nosuch"`) {
		t.Errorf("unknown role: exit %d, stderr %q; want 2", code, stderr.String())
	}
}
