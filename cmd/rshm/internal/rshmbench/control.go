package rshmbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// ChildEnv, set to "1" in a process's environment, makes it the server of
// a benchmark: the rshm command (and a test binary's TestMain) then runs
// ServeChild on its stdin and stdout instead of anything else.
const ChildEnv = "RSHM_BENCH_CHILD"

// controlTimeout bounds one control round trip; a server that takes longer
// is killed.
const controlTimeout = 20 * time.Second

// request is one control message, client → server, a JSON object a line.
//
//	{"op":"hello","pin":true,"cpu":1}   pin to cpu (if pin), report pid;
//	                                    "profile":"F" profiles the server into F
//	{"op":"listen","transport":"raw-tcp"} stop any server, listen, report addr
//	{"op":"usage"}                      report CPU time and fnf received
//	{"op":"stop"}                       stop the server
//	{"op":"exit"}                       stop and exit (so does EOF)
type request struct {
	Op        string `json:"op"`
	Transport string `json:"transport,omitempty"`
	Pin       bool   `json:"pin,omitempty"`
	CPU       int    `json:"cpu,omitempty"`
	Profile   string `json:"profile,omitempty"`
}

// reply answers every request; Err is set when it failed.
type reply struct {
	Err        string `json:"err,omitempty"`
	PID        int    `json:"pid,omitempty"`
	Pinned     bool   `json:"pinned,omitempty"`
	GOMAXPROCS int    `json:"gomaxprocs,omitempty"`
	Addr       string `json:"addr,omitempty"`
	UserNS     int64  `json:"user_ns,omitempty"`
	SysNS      int64  `json:"sys_ns,omitempty"`
	FNF        uint64 `json:"fnf,omitempty"`
}

// child is the client's handle on the server process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	enc    *json.Encoder
	dec    *json.Decoder
	stderr *tailBuffer
	mu     sync.Mutex
}

func startChild(ctx context.Context, cfg *Config) (*child, error) {
	exe := cfg.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("rshmbench: finding the server binary: %w", err)
		}
	}
	args := cfg.ChildArgs
	if args == nil {
		args = []string{"bench", "--server"}
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	// atexit_sleep_ms=0: a -race binary otherwise sleeps 1 s at exit.
	cmd.Env = append(os.Environ(), ChildEnv+"=1", "GORACE=atexit_sleep_ms=0")
	c := &child{cmd: cmd, stderr: &tailBuffer{max: 4 << 10}}
	cmd.Stderr = c.stderr
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rshmbench: starting the server: %w", err)
	}
	c.enc, c.dec = json.NewEncoder(c.stdin), json.NewDecoder(out)
	return c, nil
}

// call sends req and waits for the reply; a server that does not answer
// within controlTimeout is killed.
func (c *child) call(req request) (reply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := time.AfterFunc(controlTimeout, func() { _ = c.cmd.Process.Kill() })
	defer t.Stop()
	var r reply
	if err := c.enc.Encode(req); err != nil {
		return r, fmt.Errorf("rshmbench: server %s: %w%s", req.Op, err, c.stderr.suffix())
	}
	if err := c.dec.Decode(&r); err != nil {
		return r, fmt.Errorf("rshmbench: server %s: %w%s", req.Op, err, c.stderr.suffix())
	}
	if r.Err != "" {
		return r, fmt.Errorf("rshmbench: server %s: %s", req.Op, r.Err)
	}
	return r, nil
}

// close asks the server to exit and waits for it, killing it after a
// grace period.
func (c *child) close() error {
	_ = c.enc.Encode(request{Op: "exit"})
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }() // ends when the process does
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		return errors.Join(errors.New("rshmbench: server did not exit"), <-done)
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

// String is what was kept, trimmed of surrounding space.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}

// suffix is the server's stderr, for an error message.
func (t *tailBuffer) suffix() string {
	if s := t.String(); s != "" {
		return "; server stderr: " + s
	}
	return ""
}
