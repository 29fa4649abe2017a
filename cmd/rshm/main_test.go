package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
	return runRshmIn(ctx, t, "", args...)
}

// runRshmIn is runRshm with stdin.
func runRshmIn(ctx context.Context, t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := rshm(ctx, args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
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
	serve := rshm(context.Background(), "serve", "--count", "3", "--route", "orders.get", "tcp://127.0.0.1:0")
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
			if serveLog.Len() != 0 {
				t.Errorf("rshm serve without -v logged:\n%s", serveLog.String())
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
		stdin string
		args  []string
		out   string
		code  int
		err   string // stderr contains
	}{
		{"", []string{"--rr", "--route", "orders.get", "--data", "hello", "--debug"}, "hello\n", 0, "-> REQUEST_RESPONSE stream=1 flags=M"},
		{"", []string{"--fnf", "--route", "orders.get", "--data", "f"}, "", 0, ""},
		{"", []string{"--stream", "--route", "orders.get"}, "0\n1\n2\n", 0, ""},
		{"", []string{"--stream", "--route", "orders.get", "--n", "1", "--data", "count:5"}, "0\n1\n2\n3\n4\n", 0, ""},
		{"", []string{"--stream", "--route", "orders.get", "--take", "3", "--data", "count:1000000"}, "0\n1\n2\n", 0, ""},
		{"", []string{"--channel", "--route", "orders.get", "--data", "x", "--data", "y"}, "x\ny\n", 0, ""},
		{"a\nb\nc\n", []string{"--channel", "--route", "orders.get", "-i", "-"}, "a\nb\nc\n", 0, ""},
		{"all of it\n", []string{"--request", "--route", "orders.get", "-i", "-"}, "all of it\n", 0, ""},
		{"", []string{"--metadataPush", "--metadata", "md"}, "", 0, ""},
		{"", []string{"--rr", "--route", "orders.get", "--mtu", "100", "--data", strings.Repeat("z", 1000)}, strings.Repeat("z", 1000) + "\n", 0, ""},
		{"", []string{"--rr", "--route", "orders.get", "--data", "error"}, "", 1, "rshm request: rsocket: APPLICATION_ERROR (0x201): requested error"},
		{"", []string{"--rr", "--route", "orders.put"}, "", 1, `rshm request: rsocket: REJECTED (0x202): no request-response handler for route "orders.put"`},
		{"", []string{"--rr", "--stream"}, "", 2, "usage: rshm request"},
	}
	for _, tt := range tests {
		out, errOut, code := runRshmIn(ctx, t, tt.stdin, append(append([]string{"request"}, tt.args...), url)...)
		if out != tt.out || code != tt.code || !strings.Contains(errOut, tt.err) {
			t.Errorf("rshm request %q: stdout %q, exit %d, stderr %q; want %q, %d, containing %q",
				tt.args, out, code, errOut, tt.out, tt.code, tt.err)
		}
	}
	file := filepath.Join(t.TempDir(), "lines")
	if err := os.WriteFile(file, []byte("f1\nf2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := runRshm(ctx, t, "request", "--channel", "--route", "orders.get", "-i", "@"+file, url); out != "f1\nf2\n" || code != 0 {
		t.Errorf("rshm request --channel -i @file: stdout %q, exit %d, stderr %q", out, code, errOut)
	}
}

// TestUsage: help goes to stdout with exit status 0; a command line rshm
// cannot run gets the usage on stderr and exit status 2.
func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		code   int
		stdout bool
	}{
		{nil, 2, false},
		{[]string{"nosuch"}, 2, false},
		{[]string{"help"}, 0, true},
		{[]string{"-h"}, 0, true},
		{[]string{"--help"}, 0, true},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tt.args, nil, &out, &errOut)
		usage, other := errOut.String(), out.String()
		if tt.stdout {
			usage, other = other, usage
		}
		if code != tt.code || !strings.Contains(usage, "usage: rshm COMMAND") || other != "" && !strings.HasPrefix(other, "rshm: unknown command") {
			t.Errorf("rshm %q: exit %d, stdout %q, stderr %q; want %d and the usage on stdout: %v", tt.args, code, out.String(), errOut.String(), tt.code, tt.stdout)
		}
		for _, c := range commands {
			if !strings.Contains(usage, c.Name) {
				t.Errorf("rshm %q: usage does not list %s", tt.args, c.Name)
			}
		}
	}
}

// TestCommandHelp: -h, --help and "rshm help COMMAND" print the command's
// usage and flags to stdout and exit 0.
func TestCommandHelp(t *testing.T) {
	for _, args := range [][]string{
		{"request", "-h"},
		{"request", "--help"},
		{"request", "--rr", "-h", "127.0.0.1:1"},
		{"help", "request"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, nil, &out, &errOut)
		if code != 0 || errOut.Len() != 0 || !strings.HasPrefix(out.String(), "usage: rshm request ") ||
			!strings.Contains(out.String(), "\n  -route R\n") || !strings.Contains(out.String(), "\n  -take N\n") {
			t.Errorf("rshm %q: exit %d, stdout %q, stderr %q; want 0 and request's flags on stdout", args, code, out.String(), errOut.String())
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"help", "serve"}, nil, &out, &out); code != 0 || !strings.Contains(out.String(), "\n  -print\n") {
		t.Errorf("rshm help serve: exit %d, %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"help", "bench"}, nil, &out, &out); code != 0 || strings.Contains(out.String(), "-server") {
		t.Errorf("rshm help bench: exit %d, %q; want the hidden -server flag left out", code, out.String())
	}
}

// TestUsageError: an unknown flag or a bad argument exits 2 and says so
// once, on stderr.
func TestUsageError(t *testing.T) {
	for _, tt := range []struct {
		args []string
		say  string
	}{
		{[]string{"request", "--bogus", "127.0.0.1:1"}, "flag provided but not defined: -bogus"},
		{[]string{"serve", "--bogus", "127.0.0.1:0"}, "flag provided but not defined: -bogus"},
		{[]string{"doctor", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"request", "--n", "x", "--rr", "127.0.0.1:1"}, `invalid value "x" for flag -n`},
		{[]string{"request", "--rr", "127.0.0.1:1", "127.0.0.1:2"}, "want one URL, got 2 arguments"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tt.args, nil, &out, &errOut)
		if code != 2 || out.Len() != 0 || strings.Count(errOut.String(), tt.say) != 1 || !strings.Contains(errOut.String(), "usage: rshm "+tt.args[0]) {
			t.Errorf("rshm %q: exit %d, stdout %q, stderr %q; want 2 and %q once on stderr", tt.args, code, out.String(), errOut.String(), tt.say)
		}
	}
}

func TestVersion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		out, errOut, code := runRshm(ctx, t, args...)
		if code != 0 || !strings.HasPrefix(out, "rshm ") || !strings.HasSuffix(out, want) || errOut != "" {
			t.Errorf("rshm %q: exit %d, stdout %q, stderr %q; want 0 and \"rshm VERSION%s\"", args, code, out, errOut, want)
		}
	}
}

// TestKafkaDelegation: rshm request and rshm serve hand a kafka:// URL to
// rshm-kafka ($RSHM_KAFKA_BIN here, a stand-in script) with their
// arguments unchanged and its stdio and exit status.
func TestKafkaDelegation(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rshm-kafka")
	script := "#!/bin/sh\necho \"args: $*\"\nread line\necho \"stdin: $line\"\nexit 3\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RSHM_KAFKA_BIN", bin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := rshm(ctx, "request", "--rr", "--data", "x", "kafka://b1:9092/orders")
	cmd.Stdin = strings.NewReader("hello\n")
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want rshm-kafka's 3", err)
	}
	if want := "args: request --rr --data x kafka://b1:9092/orders\nstdin: hello\n"; out.String() != want {
		t.Fatalf("stdout %q, want %q", out.String(), want)
	}
	t.Setenv("RSHM_KAFKA_BIN", filepath.Join(t.TempDir(), "missing"))
	_, errOut, code := runRshm(ctx, t, "serve", "kafka://b1/orders")
	if code != 1 || !strings.Contains(errOut, "make kafka-bench") {
		t.Fatalf("without rshm-kafka: exit %d, stderr %q", code, errOut)
	}
}
