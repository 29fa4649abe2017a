package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/twmb/franz-go/pkg/kfake"
)

// syncBuffer is a bytes.Buffer safe for a writing and a reading goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cluster starts a kfake cluster on a loopback port for the test.
func cluster(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// TestRequestAndServe runs serve, then request with every model against
// it, over a cluster in the test process, and checks what each prints.
func TestRequestAndServe(t *testing.T) {
	url := "kafka://" + cluster(t) + "/echo"
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	var out syncBuffer
	go func() { served <- command(ctx, []string{"serve", "--print", url}, nil, &out, io.Discard) }()
	rsockettest.Eventually(t, 30*time.Second, "serve to listen", func() bool {
		return strings.HasPrefix(out.String(), "listening on ")
	})
	for i, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rr", "--data", "hi"}, "hi\n"},
		{[]string{"--stream", "--data", "count:3"}, "0\n1\n2\n"},
		{[]string{"--stream", "--data", "count:5", "--take", "2"}, "0\n1\n"},
		{[]string{"--channel", "--data", "a", "--data", "b"}, "a\nb\n"},
		{[]string{"--fnf", "--data", "fire"}, ""},
		{[]string{"--metadata-push", "--metadata", "push"}, ""},
	} {
		var got bytes.Buffer
		args := append(append([]string{"request", url}, tc.args...), "--timeout", "30s")
		if err := command(context.Background(), args, nil, &got, io.Discard); err != nil {
			t.Fatalf("%d: request %v: %v", i, tc.args, err)
		}
		if got.String() != tc.want {
			t.Errorf("%d: request %v printed %q, want %q", i, tc.args, got.String(), tc.want)
		}
	}
	rsockettest.Eventually(t, 30*time.Second, "serve to print the fire-and-forget and the push", func() bool {
		s := out.String()
		return strings.Contains(s, "\nfire\n") && strings.Contains(s, "\npush\n")
	})
	stop()
	if err := <-served; err != nil {
		t.Errorf("serve ended with %v, want nil after its context", err)
	}
}

func TestUsage(t *testing.T) {
	for i, args := range [][]string{
		nil,
		{"nope"},
		{"request", "kafka://a/t"},
		{"request", "--rr", "--fnf", "kafka://a/t"},
		{"request", "--rr"},
		{"request", "--rr", "tcp://a:1"},
		{"request", "--rr", "--unknown", "kafka://a/t"},
		{"request", "--rr", "kafka://a/t?group=g"},
		{"request", "--metadata-push", "kafka://a/t"},
		{"serve"},
		{"serve", "kafka://a/t?reply=r"},
		{"serve", "--count", "-1", "kafka://a/t"},
		{"bench", "--cases", "grpc-tcp/rr/64/1"},
		{"bench", "--cases", "kafka/fnf/64/1"},
	} {
		err := command(context.Background(), args, nil, io.Discard, io.Discard)
		if !errors.Is(err, errUsage) {
			t.Errorf("%d: %q: %v, want a usage error", i, args, err)
		}
		if code := exitCode(err, io.Discard); code != 2 {
			t.Errorf("%d: exit status %d, want 2", i, code)
		}
	}
}

// TestBench: bench, given rshm bench's command line for an external
// binary, writes one row per case, in order, in rshm bench's schema.
func TestBench(t *testing.T) {
	var out bytes.Buffer
	// rshm bench's command line for rshm-grpc, whose role is run.
	args := []string{"run", "--suite", "quick", "--duration", "100ms", "--warmup", "0s",
		"--cases", "kafka/rr/64/1,kafka/stream/16/2", "--client-cpu", "0", "--server-cpu", "1"}
	if err := command(context.Background(), args, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	for i, want := range []benchkit.Row{
		{Transport: "kafka", Model: "rr", Size: 64, Concurrency: 1},
		{Transport: "kafka", Model: "stream", Size: 16, Concurrency: 2},
	} {
		var r benchkit.Row
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if r.Suite != "quick" || r.Transport != want.Transport || r.Model != want.Model || r.Size != want.Size || r.Concurrency != want.Concurrency {
			t.Errorf("row %d is %s/%s/%d/%d, want %s/%s/%d/%d", i, r.Transport, r.Model, r.Size, r.Concurrency,
				want.Transport, want.Model, want.Size, want.Concurrency)
		}
		if r.Err != "" || r.Msgs == 0 {
			t.Errorf("row %d: %d messages, error %q", i, r.Msgs, r.Err)
		}
	}
}
