package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// jsDir holds the rsocket-js peers and their node_modules.
const jsDir = "testdata/js"

// Time limits: a node start, and one scenario end to end.
const (
	nodeStartTimeout = 10 * time.Second
	scenarioTimeout  = 20 * time.Second
)

// event is one JSON line a JS peer printed.
type event map[string]any

func (e event) str(k string) string {
	s, _ := e[k].(string)
	return s
}

func (e event) num(k string) int {
	f, _ := e[k].(float64)
	return int(f)
}

func (e event) String() string {
	b, _ := json.Marshal(map[string]any(e))
	return string(b)
}

// needNode skips the test unless node and the installed rsocket-js peers are
// available, and returns the node executable.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("interop: node not found in PATH; install Node.js to run the rsocket-js interop tests")
	}
	for _, m := range []string{"rsocket-core", "rsocket-flowable", "rsocket-tcp-client", "rsocket-tcp-server"} {
		if _, err := os.Stat(filepath.Join(jsDir, "node_modules", m, "package.json")); err != nil {
			t.Skipf("interop: %s/node_modules/%s missing; run `cd internal/interop/%s && npm ci` (make test does)", jsDir, m, jsDir)
		}
	}
	return node
}

// jsServer is a running testdata/js/server.js and the events it printed.
type jsServer struct {
	port int

	mu     sync.Mutex
	events []event
	more   chan struct{} // closed and replaced whenever events grows
}

// startJSServer starts server.js on a free port with the given options and
// stops it when the test ends.
func startJSServer(t *testing.T, args ...string) *jsServer {
	t.Helper()
	return startJSScript(t, "server.js", args...)
}

// startJSScript starts one of the JS servers of testdata/js on a free port
// (it prints "LISTENING <port>", then one JSON event per line) and stops it
// when the test ends.
func startJSScript(t *testing.T, script string, args ...string) *jsServer {
	t.Helper()
	node := needNode(t)
	cmd := exec.Command(node, append([]string{script, "0", "--watch-stdin"}, args...)...)
	cmd.Dir = jsDir
	cmd.Stderr = &testWriter{t: t, prefix: script + ": "}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		<-done
		cmd.Wait()
	})
	s := &jsServer{more: make(chan struct{})}
	ready := make(chan int, 1)
	go func() { // owned by the test: ends when node's stdout closes
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if p, ok := strings.CutPrefix(line, "LISTENING "); ok {
				n, _ := strconv.Atoi(p)
				ready <- n
				continue
			}
			var e event
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Logf("%s: %s", script, line)
				continue
			}
			s.mu.Lock()
			s.events = append(s.events, e)
			close(s.more)
			s.more = make(chan struct{})
			s.mu.Unlock()
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s.port = <-ready:
	case <-done:
		t.Fatalf("%s exited before listening", script)
	case <-time.After(nodeStartTimeout):
		t.Fatalf("%s did not print LISTENING in time", script)
	}
	return s
}

func (s *jsServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// mark returns the number of events so far; since(mark) the later ones.
func (s *jsServer) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// waitEvent waits until an event after mark satisfies match and returns it.
func (s *jsServer) waitEvent(ctx context.Context, t *testing.T, mark int, what string, match func(event) bool) event {
	t.Helper()
	for {
		s.mu.Lock()
		for _, e := range s.events[mark:] {
			if match(e) {
				s.mu.Unlock()
				return e
			}
		}
		more := s.more
		all := append([]event(nil), s.events[mark:]...)
		s.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			t.Fatalf("server.js never logged %s; events since mark: %v", what, all)
			return nil
		}
	}
}

// eventsSince returns a copy of the events after mark.
func (s *jsServer) eventsSince(mark int) []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event(nil), s.events[mark:]...)
}

// isEvent matches an event by name and, optionally, string fields.
func isEvent(name string, kv ...string) func(event) bool {
	return func(e event) bool {
		if e.str("event") != name {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if fmt.Sprint(e[kv[i]]) != kv[i+1] {
				return false
			}
		}
		return true
	}
}

// runJSClient runs client.js SCENARIO against port and returns its events;
// err is non-nil when it exits non-zero.
func runJSClient(ctx context.Context, t *testing.T, port int, scenario string, args ...string) ([]event, error) {
	t.Helper()
	return runJSScript(ctx, t, "client.js", port, scenario, args...)
}

// runJSScript runs one of the JS clients of testdata/js as `node SCRIPT
// PORT SCENARIO ARGS...` and returns the events it printed; err is non-nil
// when it exits non-zero.
func runJSScript(ctx context.Context, t *testing.T, script string, port int, scenario string, args ...string) ([]event, error) {
	t.Helper()
	node := needNode(t)
	cmd := exec.CommandContext(ctx, node, append([]string{script, strconv.Itoa(port), scenario}, args...)...)
	cmd.Dir = jsDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var events []event
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e event
		if json.Unmarshal([]byte(line), &e) == nil {
			events = append(events, e)
		} else if line != "" {
			t.Logf("%s: %s", script, line)
		}
	}
	if err != nil {
		return events, fmt.Errorf("%s %s: %v; events %v; stderr %s", script, scenario, err, events, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("%s %s stderr: %s", script, scenario, stderr.String())
	}
	return events, nil
}

// findEvent returns the first event matching, or nil.
func findEvent(events []event, match func(event) bool) event {
	for _, e := range events {
		if match(e) {
			return e
		}
	}
	return nil
}

// testWriter forwards a child's stderr to the test log, line by line.
type testWriter struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(w.prefix + line)
	}
	return len(p), nil
}
