package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/echo"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
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

// served is a Serve running in process.
type served struct {
	url string
	out *syncBuffer // stdout after the "listening on" line
	log *syncBuffer // stderr
}

// startServe runs Serve in process until the test ends.
func startServe(t *testing.T, args ...string) served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := served{out: &syncBuffer{}, log: &syncBuffer{}}
	done := make(chan error, 1)
	go func() { // owned by the test: ends when ctx is cancelled in Cleanup
		done <- Serve(ctx, append(args, "127.0.0.1:0"), nil, pw, s.log)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(s.out, pr) // owned by the test: ends when Serve returns and closes pw
	if err != nil {
		t.Fatalf("Serve printed %q: %v; log %s", line, err, s.log)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(url, "127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("Serve printed %q; want \"listening on 127.0.0.1:PORT\"", line)
	}
	s.url = url
	return s
}

// request runs Request in process with no stdin and returns its stdout.
func request(ctx context.Context, args ...string) (string, error) {
	out, _, err := requestIn(ctx, nil, args...)
	return out, err
}

// requestIn runs Request in process and returns its stdout and stderr.
func requestIn(ctx context.Context, stdin io.Reader, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := Request(ctx, args, stdin, &out, &errOut)
	return out.String(), errOut.String(), err
}

// waitLog waits until the server log contains s.
func waitLog(t *testing.T, log *syncBuffer, s string) {
	t.Helper()
	found := false
	defer func() {
		if !found {
			t.Logf("server log:\n%s", log)
		}
	}()
	rsockettest.Eventually(t, 5*time.Second, fmt.Sprintf("%q in the server log", s), func() bool {
		return strings.Contains(log.String(), s)
	})
	found = true
}

func TestServeRequest(t *testing.T) {
	s := startServe(t, "-v", "--count", "4")
	url, log := s.url, s.log
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	big := strings.Repeat("0123456789", 300)
	bigMD := strings.Repeat("m", 700)

	tests := []struct {
		name string
		args []string
		want string
		log  string // the server log must then contain this
	}{
		{"rr", []string{"--rr", "--data", "hello", "--metadata", "m"}, "hello\n", `event=rr data=hello dataLen=5 metadata=m metadataLen=1`},
		{"rrEmpty", []string{"--rr"}, "\n", ""},
		{"rrURLFirst", []string{url, "--rr", "--data", "x"}, "x\n", ""},
		{"fnf", []string{"--fnf", "--data", "fired"}, "", `event=fnf data=fired`},
		{"metadataPush", []string{"--metadata-push", "--metadata", "pushed"}, "", `event=metadataPush data="" dataLen=0 metadata=pushed`},
		{"streamCount", []string{"--stream", "--data", "count:3"}, "0\n1\n2\n", `event=complete model=stream sent=3`},
		{"streamDefault", []string{"--stream"}, "0\n1\n2\n3\n", `event=complete model=stream sent=4`},
		{"streamWindow", []string{"--stream", "--n", "2", "--data", "count:7"}, "0\n1\n2\n3\n4\n5\n6\n", ""},
		{"channel", []string{"--channel", "--data", "a", "--data", "b", "--data", "c"}, "a\nb\nc\n", `event=complete model=channel sent=3`},
		{"channelWindow", []string{"--channel", "--n", "1", "--data", "a", "--data", "b", "--data", "c", "--data", "d"}, "a\nb\nc\nd\n", ""},
		{"fragmented", []string{"--rr", "--mtu", "128", "--data", big, "--metadata", bigMD}, big + "\n", `dataLen=3000 metadata=` + bigMD[:64] + `… metadataLen=700`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args[0] != url {
				args = append(append([]string(nil), args...), url)
			}
			got, err := request(ctx, args...)
			if err != nil {
				t.Fatalf("Request %q: %v", tt.args, err)
			}
			if got != tt.want {
				t.Errorf("Request %q printed %q; want %q", tt.args, got, tt.want)
			}
			if tt.log != "" {
				waitLog(t, log, tt.log)
			}
		})
	}

	t.Run("applicationError", func(t *testing.T) {
		for _, model := range []string{"--rr", "--stream", "--channel"} {
			_, err := request(ctx, model, "--data", echo.ErrorData, url)
			var re *rsocket.Error
			if !errors.As(err, &re) || re.Code != rsocket.CodeApplicationError || re.Message != echo.ErrorMessage {
				t.Errorf("%s error: %v; want APPLICATION_ERROR %q", model, err, echo.ErrorMessage)
			}
		}
	})

	t.Run("cancel", func(t *testing.T) {
		// The requester gives up mid-stream: the server sees the cancel.
		cctx, ccancel := context.WithCancel(ctx)
		n := 0
		err := Do(cctx, RequestOptions{Addr: strings.TrimPrefix(url, "tcp://"), Model: ModelStream, Data: []Input{{Data: "count:1000000"}}, N: 8},
			func(rsocket.Payload) error {
				if n++; n == 3 {
					ccancel()
				}
				return nil
			})
		ccancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Do after cancel: %v; want context.Canceled", err)
		}
		waitLog(t, log, "event=cancel model=stream")
	})
}

func TestRequestUsage(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"127.0.0.1:1"},                     // no model
		{"--rr", "--stream", "127.0.0.1:1"}, // two models
		{"--rr"},                            // no URL
		{"--rr", "a:1", "b:1"},              // two URLs
		{"--rr", "udp://127.0.0.1:1"},       // bad scheme
		{"--metadata-push", "127.0.0.1:1"},  // push without metadata
		{"--stream", "--n", "-1", "127.0.0.1:1"},
	} {
		if _, err := request(ctx, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("Request %q: %v; want ErrUsage", args, err)
		}
	}
	if _, err := request(ctx, "--bogus"); !errors.Is(err, ErrUsage) {
		t.Errorf("Request --bogus: %v; want ErrUsage", err)
	}
	if _, err := request(ctx, "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Request -h: %v; want flag.ErrHelp", err)
	}
}

func TestServeUsage(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{}, {"a:1", "b:1"}, {"shm://x"}} {
		if err := Serve(ctx, args, nil, io.Discard, io.Discard); !errors.Is(err, ErrUsage) {
			t.Errorf("Serve %q: %v; want ErrUsage", args, err)
		}
	}
}

func TestRequestRefused(t *testing.T) {
	// Nothing listens on port 1 of the loopback interface.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := request(ctx, "--rr", "127.0.0.1:1"); err == nil || errors.Is(err, ErrUsage) {
		t.Errorf("Request to port 1: %v; want a dial error", err)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantA   bool
		wantS   string
	}{
		{[]string{"-a", "x"}, []string{"x"}, true, ""},
		{[]string{"x", "-a"}, []string{"x"}, true, ""},
		{[]string{"x", "-s", "v", "y"}, []string{"x", "y"}, false, "v"},
		{[]string{"--", "-a"}, []string{"-a"}, false, ""},
		{[]string{"x", "--", "-s"}, []string{"x", "-s"}, false, ""},
		{nil, nil, false, ""},
	}
	for i, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		a := fs.Bool("a", false, "")
		s := fs.String("s", "", "")
		pos, err := parseFlags(fs, tt.args)
		if err != nil || strings.Join(pos, ",") != strings.Join(tt.wantPos, ",") || *a != tt.wantA || *s != tt.wantS {
			t.Errorf("%d: parseFlags(%q) = %q, a=%v, s=%q, %v; want %q, %v, %q", i, tt.args, pos, *a, *s, err, tt.wantPos, tt.wantA, tt.wantS)
		}
	}
}

// TestDefaultWindowBounded: with --n 0 the requester's window is the
// library's bounded default (Prefetch 0), not the largest request(n).
func TestDefaultWindowBounded(t *testing.T) {
	for _, n := range []int{0, 1, 100} {
		o := RequestOptions{N: n}
		if got := o.clientConfig().Prefetch; got != n {
			t.Errorf("--n %d: Prefetch %d; want %d", n, got, n)
		}
	}
}
