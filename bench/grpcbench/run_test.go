package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// startInProcess serves the benchmark service on TCP and on a Unix socket
// in this process and returns the dial targets.
func startInProcess(t *testing.T) map[benchkit.Transport]string {
	t.Helper()
	srv := newServer()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unix, err := net.Listen("unix", filepath.Join(t.TempDir(), "grpc.sock"))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(tcp) }()  // ends at Stop
	go func() { _ = srv.Serve(unix) }() // ends at Stop
	t.Cleanup(srv.Stop)
	return map[benchkit.Transport]string{
		benchkit.GRPCTCP:  grpcTarget("tcp://" + tcp.Addr().String()),
		benchkit.GRPCUnix: grpcTarget("unix://" + unix.Addr().String()),
	}
}

// checkRow fails t unless r is a measured row of c.
func checkRow(t *testing.T, c benchkit.Case, r benchkit.Row) {
	t.Helper()
	if r.Transport != c.Transport.String() || r.Model != c.Model.String() || r.Size != c.Size || r.Concurrency != c.Concurrency {
		t.Errorf("%v: row is for %s %s %d c=%d", c, r.Transport, r.Model, r.Size, r.Concurrency)
	}
	if r.Err != "" || r.Msgs == 0 || r.Samples == 0 || r.Seconds <= 0 {
		t.Errorf("%v: nothing measured: %+v", c, r)
	}
	if r.P50 <= 0 || r.P50 > r.P90 || r.P90 > r.P99 || r.P99 > r.P999 || r.P999 > r.Max {
		t.Errorf("%v: quantiles out of order: %+v", c, r)
	}
	if r.BytesPerS != r.MsgsPerS*float64(c.Size) || r.CPUPerMsg != r.ClientCPUPerMsg+r.ServerCPUPerMsg {
		t.Errorf("%v: rates inconsistent: %+v", c, r)
	}
	if runtime.GOOS == "linux" && (r.ClientCPUPerMsg <= 0 || r.ServerCPUPerMsg <= 0) {
		t.Errorf("%v: no CPU time per message: %+v", c, r)
	}
}

// TestMeasureInProcess measures a unary and a streaming case on each
// transport against an in-process server.
func TestMeasureInProcess(t *testing.T) {
	targets := startInProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	serverCPU := func() (int64, int64, error) { // the same process: its CPU counts twice
		u, s, _ := benchkit.CPUTime()
		return u, s, nil
	}
	for _, c := range []benchkit.Case{
		{Transport: benchkit.GRPCTCP, Model: benchkit.RR, Size: 64, Concurrency: 1},
		{Transport: benchkit.GRPCUnix, Model: benchkit.RR, Size: 1 << 10, Concurrency: 4},
		{Transport: benchkit.GRPCTCP, Model: benchkit.Stream, Size: 16 << 10, Concurrency: 1},
		{Transport: benchkit.GRPCUnix, Model: benchkit.Stream, Size: 64, Concurrency: 2},
	} {
		r := measureCase(ctx, "quick", c, targets[c.Transport], 10*time.Millisecond, 40*time.Millisecond, serverCPU)
		checkRow(t, c, r)
		if r.Suite != "quick" {
			t.Errorf("%v: suite %q", c, r.Suite)
		}
	}
	c := benchkit.Case{Transport: benchkit.GRPCTCP, Model: benchkit.RR, Size: 64, Concurrency: 1}
	if r := measureCase(ctx, "quick", c, "", 0, time.Millisecond, serverCPU); !strings.Contains(r.Err, "does not serve") {
		t.Errorf("no target: %+v", r)
	}
}

// TestStreamBadRequest: the server refuses a stream request that is not
// size:N with InvalidArgument.
func TestStreamBadRequest(t *testing.T) {
	targets := startInProcess(t)
	cc, err := dial(targets[benchkit.GRPCTCP])
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := cc.NewStream(ctx, &serviceDesc.Streams[0], streamMethod)
	if err != nil {
		t.Fatal(err)
	}
	req := []byte("size:lots")
	if err := s.SendMsg(&req); err != nil {
		t.Fatal(err)
	}
	var msg []byte
	if err := s.RecvMsg(&msg); status.Code(err) != codes.InvalidArgument {
		t.Errorf("RecvMsg: %v; want InvalidArgument", err)
	}
}

// TestRunCommand runs "rshm-grpc run" as the rshm command would: the test
// binary re-executed as the server, one JSON row per case on stdout.
func TestRunCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, info bytes.Buffer
	err := command(ctx, []string{"run", "--suite", "quick", "--duration", "40ms", "--warmup", "10ms", "--nopin",
		"--cases", "grpc-tcp/rr/64/1,grpc-unix/stream/64/1"}, nil, &out, &info)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, info.String())
	}
	if !strings.Contains(info.String(), "gRPC-go") || !strings.Contains(info.String(), "unpinned (--nopin)") {
		t.Errorf("info: %q", info.String())
	}
	cases, _ := benchkit.ParseCases("grpc-tcp/rr/64/1,grpc-unix/stream/64/1")
	sc := bufio.NewScanner(&out)
	for i := 0; sc.Scan(); i++ {
		var r benchkit.Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if i >= len(cases) {
			t.Fatalf("extra row %q", sc.Text())
		}
		checkRow(t, cases[i], r)
	}
}

func TestParseRun(t *testing.T) {
	cfg, err := parseRun([]string{"--transport", "grpc-unix", "--model", "stream", "--size", "1024", "--concurrency", "3"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := benchkit.Case{Transport: benchkit.GRPCUnix, Model: benchkit.Stream, Size: 1024, Concurrency: 3}
	if len(cfg.cases) != 1 || cfg.cases[0] != want || cfg.suite != "full" || cfg.duration != defaultDuration || cfg.warm != defaultWarmup {
		t.Errorf("got %+v; want one case %v and the defaults", cfg, want)
	}
	for _, args := range [][]string{
		{}, {"--cases", "raw-tcp/rr/64/1"}, {"--cases", "grpc-tcp/fnf/64/1"}, {"--transport", "grpc-tcp", "--size", "0"},
		{"--transport", "grpc-tcp", "--duration", "0s"}, {"--transport", "grpc-tcp", "--warmup", "-1s"},
		{"--transport", "grpc-tcp", "--client-cpu", "0"}, {"--transport", "grpc-tcp", "extra"},
	} {
		if _, err := parseRun(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%q: got %v; want errUsage", args, err)
		}
	}
	if code := exitCode(command(context.Background(), []string{"frob"}, nil, io.Discard, io.Discard), io.Discard); code != 2 {
		t.Errorf("unknown role: exit %d; want 2", code)
	}
	if code := exitCode(command(context.Background(), []string{"serve"}, nil, io.Discard, io.Discard), io.Discard); code != 2 {
		t.Errorf("serve without --listen: exit %d; want 2", code)
	}
}

func TestSplitAddr(t *testing.T) {
	for _, c := range []struct{ in, network, addr string }{
		{"tcp://127.0.0.1:0", "tcp", "127.0.0.1:0"},
		{"unix:///tmp/x.sock", "unix", "/tmp/x.sock"},
		{"tcp://", "", ""}, {"udp://1.2.3.4:5", "", ""}, {"127.0.0.1:80", "", ""},
	} {
		n, a, err := splitAddr(c.in)
		if n != c.network || a != c.addr || (err != nil) != (c.network == "") {
			t.Errorf("splitAddr(%q) = %q, %q, %v", c.in, n, a, err)
		}
	}
	if got := grpcTarget("tcp://127.0.0.1:5"); got != "passthrough:///127.0.0.1:5" {
		t.Errorf("grpcTarget tcp: %q", got)
	}
	if got := grpcTarget("unix:///tmp/x.sock"); got != "unix:///tmp/x.sock" {
		t.Errorf("grpcTarget unix: %q", got)
	}
}

// TestServeControl drives serve in process: its hello, a usage request, a
// bad one, and its exit when stdin ends.
func TestServeControl(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	sock := filepath.Join(t.TempDir(), "s.sock")
	go func() { // ends when inW is closed
		done <- serve(context.Background(), []string{"tcp://127.0.0.1:0", "unix://" + sock}, -1, inR, outW)
		outW.Close()
	}()
	br := bufio.NewReader(outR)
	read := func(v any) {
		t.Helper()
		line, err := br.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(line, v); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
	var h hello
	read(&h)
	if h.PID == 0 || h.Pinned || len(h.Addrs) != 2 || !strings.HasPrefix(h.Addrs[0], "tcp://127.0.0.1:") || h.Addrs[0] == "tcp://127.0.0.1:0" ||
		h.Addrs[1] != "unix://"+sock {
		t.Errorf("hello: %+v", h)
	}
	for _, a := range h.Addrs {
		network, addr, _ := splitAddr(a)
		c, err := net.Dial(network, addr)
		if err != nil {
			t.Errorf("dial %s: %v", a, err)
			continue
		}
		c.Close()
	}
	io.WriteString(inW, "usage\n")
	var u usageReply
	read(&u)
	if u.Err != "" || (runtime.GOOS == "linux" && u.UserNS+u.SysNS <= 0) {
		t.Errorf("usage: %+v", u)
	}
	io.WriteString(inW, "frob\n")
	read(&u)
	if !strings.Contains(u.Err, "unknown request") {
		t.Errorf("frob: %+v", u)
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Error("the Unix socket still accepts after serve returned")
	}
	if err := serve(context.Background(), []string{"udp://x"}, -1, strings.NewReader(""), io.Discard); !errors.Is(err, errAddr) {
		t.Errorf("bad address: %v; want errAddr", err)
	}
}
