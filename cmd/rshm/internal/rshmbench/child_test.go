package rshmbench

import (
	"context"
	"encoding/json"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestServeChildControl drives ServeChild in process through the control
// protocol: hello, listen on a raw transport, a round trip to it, usage,
// a bad request, stop and exit.
func TestServeChildControl(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { // ends on "exit"
		done <- ServeChild(context.Background(), inR, outW)
		outW.Close()
	}()
	enc, dec := json.NewEncoder(inW), json.NewDecoder(outR)
	call := func(req request) reply {
		t.Helper()
		if err := enc.Encode(req); err != nil {
			t.Fatal(err)
		}
		var r reply
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := call(request{Op: "hello"}); r.PID == 0 || r.Pinned || r.Err != "" {
		t.Errorf("hello: %+v", r)
	}
	r := call(request{Op: "listen", Transport: "raw-unix"})
	if r.Err != "" || !strings.HasSuffix(r.Addr, ".sock") {
		t.Fatalf("listen: %+v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc, err := dialRaw(ctx, "unix", r.Addr, opEcho, 16)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.roundTrip(); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if u := call(request{Op: "usage"}); u.Err != "" || (runtime.GOOS == "linux" && u.UserNS+u.SysNS <= 0) {
		t.Errorf("usage: %+v", u)
	}
	if r := call(request{Op: "listen", Transport: "grpc"}); r.Err == "" {
		t.Errorf("listen grpc: no error")
	}
	if r := call(request{Op: "frobnicate"}); !strings.Contains(r.Err, "unknown op") {
		t.Errorf("unknown op: %+v", r)
	}
	if r := call(request{Op: "stop"}); r.Err != "" {
		t.Errorf("stop: %+v", r)
	}
	call(request{Op: "exit"})
	if err := <-done; err != nil {
		t.Errorf("ServeChild: %v", err)
	}
}
