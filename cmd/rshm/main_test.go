package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
)

// The test binary doubles as rshm: as the testchild role "rshm" it runs
// main, so the tests below run serve and request as real processes, exit
// codes and all, without a separate go build.
func TestMain(m *testing.M) {
	testchild.Main(map[string]func(args []string) int{"rshm": func([]string) int {
		main() // reads os.Args, which Main set to rshm's arguments
		return 0
	}})
	os.Exit(m.Run())
}

func rshm(ctx context.Context, args ...string) *exec.Cmd {
	return testchild.Command(ctx, "rshm", args...)
}

// runRshm runs one rshm command and returns stdout, stderr and exit status.
func runRshm(ctx context.Context, t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := rshm(ctx, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("rshm %q: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

func TestServeAndRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Not under ctx: the cleanup below stops serve with SIGINT, as a user
	// would, and checks that it exits cleanly.
	serve := rshm(context.Background(), "serve", "--count", "3", "tcp://127.0.0.1:0")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var serveLog bytes.Buffer
	serve.Stderr = &serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Signal(os.Interrupt)
		exited := make(chan error, 1)
		go func() { exited <- serve.Wait() }() // ends when the process exits
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("rshm serve after SIGINT: %v; log:\n%s", err, serveLog.String())
			}
		case <-time.After(5 * time.Second):
			serve.Process.Kill()
			<-exited
			t.Errorf("rshm serve did not exit within 5 s of SIGINT")
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("rshm serve printed %q: %v", line, err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("rshm serve printed %q; want \"listening on URL\"", line)
	}

	tests := []struct {
		args []string
		out  string
		code int
		err  string // stderr contains
	}{
		{[]string{"--rr", "--data", "hello", "--metadata", "m"}, "hello\n", 0, ""},
		{[]string{"--fnf", "--data", "f"}, "", 0, ""},
		{[]string{"--stream"}, "0\n1\n2\n", 0, ""},
		{[]string{"--stream", "--n", "1", "--data", "count:5"}, "0\n1\n2\n3\n4\n", 0, ""},
		{[]string{"--channel", "--data", "x", "--data", "y"}, "x\ny\n", 0, ""},
		{[]string{"--metadata-push", "--metadata", "md"}, "", 0, ""},
		{[]string{"--rr", "--mtu", "100", "--data", strings.Repeat("z", 1000)}, strings.Repeat("z", 1000) + "\n", 0, ""},
		{[]string{"--rr", "--data", "error"}, "", 1, "rshm request: rsocket: APPLICATION_ERROR (0x201): requested error"},
		{[]string{"--rr", "--stream"}, "", 2, "usage: rshm request"},
	}
	for _, tt := range tests {
		out, errOut, code := runRshm(ctx, t, append(append([]string{"request"}, tt.args...), url)...)
		if out != tt.out || code != tt.code || !strings.Contains(errOut, tt.err) {
			t.Errorf("rshm request %q: stdout %q, exit %d, stderr %q; want %q, %d, containing %q",
				tt.args, out, code, errOut, tt.out, tt.code, tt.err)
		}
	}
}

func TestUsage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, args := range [][]string{nil, {"help"}, {"nosuch"}} {
		_, errOut, code := runRshm(ctx, t, args...)
		if code != 2 || !strings.Contains(errOut, "usage: rshm COMMAND") {
			t.Errorf("rshm %q: exit %d, stderr %q; want 2 and the usage", args, code, errOut)
		}
		for _, c := range commands {
			if !strings.Contains(errOut, c.Name) {
				t.Errorf("rshm %q: usage does not list %s", args, c.Name)
			}
		}
	}
}
