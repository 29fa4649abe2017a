package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// serveEnv, set to "1", makes a test binary run its os.Args as a command
// (see TestMain): run re-executes its own binary as the server.
const serveEnv = "RSHM_GRPC_SERVE"

// controlTimeout bounds one request to the server; a server that takes
// longer is killed.
const controlTimeout = 20 * time.Second

// serverProc is run's handle on its server process.
type serverProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr *bytes.Buffer
	hello  hello
	mu     sync.Mutex
}

// startServer re-executes this binary as "serve" on addrs, pinned to cpu
// unless it is negative, and reads its hello.
func startServer(ctx context.Context, addrs []string, cpu int) (*serverProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("rshm-grpc: finding the server binary: %w", err)
	}
	args := []string{"serve", "--cpu", strconv.Itoa(cpu)}
	for _, a := range addrs {
		args = append(args, "--listen", a)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	s := &serverProc{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = &syncWriter{w: s.stderr, mu: &s.mu}
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rshm-grpc: starting the server: %w", err)
	}
	s.out = bufio.NewReader(stdout)
	if err := s.read(&s.hello); err != nil {
		s.close()
		return nil, fmt.Errorf("rshm-grpc: server hello: %w%s", err, s.stderrSuffix())
	}
	return s, nil
}

// read decodes the server's next line into v, killing the server if it
// takes longer than controlTimeout.
func (s *serverProc) read(v any) error {
	t := time.AfterFunc(controlTimeout, func() { _ = s.cmd.Process.Kill() })
	defer t.Stop()
	line, err := s.out.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

// usage asks the server for its CPU time (user and system ns).
func (s *serverProc) usage() (user, sys int64, err error) {
	if _, err := io.WriteString(s.stdin, "usage\n"); err != nil {
		return 0, 0, fmt.Errorf("rshm-grpc: server usage: %w%s", err, s.stderrSuffix())
	}
	var r usageReply
	if err := s.read(&r); err != nil {
		return 0, 0, fmt.Errorf("rshm-grpc: server usage: %w%s", err, s.stderrSuffix())
	}
	if r.Err != "" {
		return 0, 0, errors.New("rshm-grpc: server usage: " + r.Err)
	}
	return r.UserNS, r.SysNS, nil
}

// close closes the server's stdin, which makes it exit, and waits for it,
// killing it after a grace period.
func (s *serverProc) close() {
	s.stdin.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }() // ends when the process does
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// stderrSuffix is the server's stderr, for an error message.
func (s *serverProc) stderrSuffix() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := bytes.TrimSpace(s.stderr.Bytes()); len(b) > 0 {
		return "; server stderr: " + string(b)
	}
	return ""
}

// syncWriter serializes writes to w with mu (exec copies stderr on its
// own goroutine).
type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
