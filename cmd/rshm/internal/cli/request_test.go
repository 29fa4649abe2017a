package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/router"
)

// listenRouter serves r on a loopback port until the test ends and
// returns the address.
func listenRouter(t *testing.T, r *router.Router) string {
	t.Helper()
	ln, err := rshm.Listen("127.0.0.1:0", rshm.Config{Server: rsocket.ServerConfig{Acceptor: r.Acceptor()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // owned by the test: ends when Cleanup cancels ctx
		defer close(done)
		var conns []*rshm.Conn
		for {
			c, err := ln.Accept(ctx)
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		ln.Close()
	})
	return ln.Addr().String()
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRequestRoute: --route reaches the handler of that route on a
// router-based server, in composite metadata (the default) and as bare
// routing metadata; another route is refused by the router.
func TestRequestRoute(t *testing.T) {
	r := router.New(router.Config{})
	r.OnRequestResponse("orders.get", func(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
		return rsocket.Payload{Data: []byte("order " + string(p.Data))}, nil
	})
	r.OnRequestStream("orders.list", func(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
		for _, o := range []string{"a", "b"} {
			if err := w.Send(ctx, rsocket.Payload{Data: []byte(o)}); err != nil {
				return err
			}
		}
		return nil
	})
	addr := listenRouter(t, r)
	ctx := testCtx(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--rr", "--route", "orders.get", "--data", "42"}, "order 42\n"},
		{[]string{"--request", "--route", "orders.get", "-i", "7", "--metadataFormat", "routing"}, "order 7\n"},
		{[]string{"--stream", "--route", "orders.list"}, "a\nb\n"},
	} {
		got, err := request(ctx, append(tt.args, addr)...)
		if err != nil || got != tt.want {
			t.Errorf("request %q: %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
	_, err := request(ctx, "--rr", "--route", "orders.put", addr)
	if re := (*rsocket.Error)(nil); !errors.As(err, &re) || re.Code != rsocket.CodeRejected || !strings.Contains(re.Message, "orders.put") {
		t.Errorf("request to an unknown route: %v; want REJECTED naming the route", err)
	}
}

// TestRequestDebug: --debug prints one line per frame, each direction,
// decoded from what the transport carried.
func TestRequestDebug(t *testing.T) {
	s := startServe(t)
	ctx := testCtx(t)
	for _, url := range []string{s.url, "tcp://" + s.url} {
		out, errOut, err := requestIn(ctx, nil, "--rr", "--debug", "--data", "hello", "--metadata", "md", "--keepalive", "5s", url)
		if err != nil || out != "hello\n" {
			t.Fatalf("request --debug %s: %q, %v; stderr %s", url, out, err, errOut)
		}
		for _, want := range []string{
			`-> SETUP stream=0 flags=0 len=56 version=1.0 keepalive=5s lifetime=15s metadataMIME="application/binary" dataMIME="application/binary" data=0` + "\n",
			`-> REQUEST_RESPONSE stream=1 flags=M len=16 metadata=2 "md" data=5 "hello"` + "\n",
			`<- PAYLOAD stream=1 flags=M|C|N len=16 metadata=2 "md" data=5 "hello"` + "\n",
		} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", url, want, errOut)
			}
		}
		for _, l := range strings.Split(strings.TrimSuffix(errOut, "\n"), "\n") {
			if !strings.HasPrefix(l, "-> ") && !strings.HasPrefix(l, "<- ") && !strings.HasPrefix(l, "transport: ") || strings.Contains(l, "malformed") {
				t.Errorf("%s: stderr line %q is not a frame", url, l)
			}
		}
	}
}

// TestRequestTake: --take N prints N payloads of a longer stream or
// channel, then cancels and succeeds; the responder sees the cancel.
func TestRequestTake(t *testing.T) {
	s := startServe(t, "-v")
	ctx := testCtx(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--stream", "--take", "3", "--data", "count:1000000"}, "0\n1\n2\n"},
		{[]string{"--stream", "--take", "3", "--n", "100", "--data", "count:1000000"}, "0\n1\n2\n"},
		{[]string{"--stream", "--take", "10", "--data", "count:2"}, "0\n1\n"},
		{[]string{"--channel", "--take", "2", "--data", "a", "--data", "b", "--data", "c"}, "a\nb\n"},
		{[]string{"--rr", "--take", "1", "--data", "x"}, "x\n"},
	} {
		got, err := request(ctx, append(tt.args, s.url)...)
		if err != nil || got != tt.want {
			t.Errorf("request %q: %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
	waitLog(t, s.log, "event=cancel model=stream")
}

// TestRequestInput: -i - reads stdin and -i @path a file, whole for a
// single payload and line by line on a channel, in command-line order
// with --data; --metadata and --setup read @path too.
func TestRequestInput(t *testing.T) {
	s := startServe(t, "-v")
	ctx := testCtx(t)
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lines := file("lines", "l1\nl2\r\n\nl4")
	md := file("md", "file-metadata")
	setup := file("setup", "file-setup")
	for _, tt := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"hello\n", []string{"--rr", "-i", "-"}, "hello\n"},
		{"two\nlines\n", []string{"--rr", "--input=-"}, "two\nlines\n"},
		{"a\nb\nc\n", []string{"--channel", "-i", "-"}, "a\nb\nc\n"},
		{"", []string{"--rr", "-i", "@" + lines}, "l1\nl2\r\n\nl4\n"},
		{"s1\ns2\n", []string{"--channel", "--data", "first", "-i", "@" + lines, "-i", "-", "--data", "-"}, "first\nl1\nl2\n\nl4\ns1\ns2\n-\n"},
		{"", []string{"--rr", "--data", "@literal"}, "@literal\n"},
		{"", []string{"--stream", "-i", "count:2"}, "0\n1\n"},
	} {
		out, errOut, err := requestIn(ctx, strings.NewReader(tt.stdin), append(tt.args, s.url)...)
		if err != nil || out != tt.want {
			t.Errorf("request %q with stdin %q: %q, %v; want %q; stderr %s", tt.args, tt.stdin, out, err, tt.want, errOut)
		}
	}
	if _, _, err := requestIn(ctx, nil, "--rr", "--data", "x", "-m", "@"+md, "--setup", "@"+setup, s.url); err != nil {
		t.Fatal(err)
	}
	waitLog(t, s.log, `setupData=file-setup setupDataLen=10`)
	waitLog(t, s.log, `event=rr data=x dataLen=1 metadata=file-metadata`)
	if _, _, err := requestIn(ctx, nil, "--channel", "-i", "@"+filepath.Join(dir, "none"), s.url); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-i @missing on a channel: %v; want ErrNotExist", err)
	}
	if _, _, err := requestIn(ctx, nil, "--rr", "-i", "@"+filepath.Join(dir, "none"), s.url); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-i @missing: %v; want ErrNotExist", err)
	}
}

// TestRequestSetupFields: the MIME types, keepalive and setup payload
// reach the server's SETUP; --route announces composite metadata and JSON
// data unless told otherwise.
func TestRequestSetupFields(t *testing.T) {
	s := startServe(t, "-v", "--route", "r")
	ctx := testCtx(t)
	for _, tt := range []struct {
		args []string
		log  string
	}{
		{[]string{"--dataFormat", "cbor", "--metadata-mime", "text", "--setup", "s1"},
			`dataMIME=application/cbor metadataMIME=text/plain keepalive=20s maxLifetime=1m30s setupData=s1`},
		{[]string{"--data-mime", "application/x.custom", "--keepalive", "2", "--setup", ""},
			`dataMIME=application/x.custom metadataMIME=application/binary keepalive=2s maxLifetime=6s setupData=""`},
		{[]string{"--route", "r", "--setup", "s3"},
			`dataMIME=application/json metadataMIME=message/x.rsocket.composite-metadata.v0 keepalive=20s maxLifetime=1m30s setupData=s3`},
	} {
		// Without --route the router refuses the request; SETUP is what counts.
		_, _ = request(ctx, append(append([]string{"--fnf"}, tt.args...), s.url)...)
		waitLog(t, s.log, tt.log)
	}
}

// TestRequestTimeout: --timeout bounds a request nobody answers, and says
// so in the error.
func TestRequestTimeout(t *testing.T) {
	r := router.New(router.Config{})
	r.OnRequestResponse("hang", func(ctx context.Context, _ rsocket.Payload) (rsocket.Payload, error) {
		<-ctx.Done()
		return rsocket.Payload{}, ctx.Err()
	})
	addr := listenRouter(t, r)
	_, err := request(testCtx(t), "--rr", "--route", "hang", "--timeout", "100ms", addr)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "--timeout 100ms") {
		t.Errorf("request to a silent handler: %v; want a --timeout error", err)
	}
}

// TestRequestResume: --resume makes a resumable session, which rshm serve
// --resume accepts and a server without resumption refuses.
func TestRequestResume(t *testing.T) {
	ctx := testCtx(t)
	s := startServe(t, "--resume")
	if got, err := request(ctx, "--rr", "--resume", "--data", "r", s.url); err != nil || got != "r\n" {
		t.Errorf("--resume against serve --resume: %q, %v", got, err)
	}
	plain := startServe(t)
	_, err := request(ctx, "--rr", "--resume", plain.url)
	// The server answers REJECTED_SETUP; a resumable client that sees its
	// transport close before that ERROR may resume instead and get
	// REJECTED_RESUME. Either is a refusal of the setup class.
	if re := (*rsocket.Error)(nil); !errors.As(err, &re) || re.Code < rsocket.CodeInvalidSetup || re.Code > rsocket.CodeRejectedResume {
		t.Errorf("--resume against a server without resumption: %v; want a setup-class ERROR", err)
	}
}

// TestRequestFlagUsage: the new flags' bad values are usage errors.
func TestRequestFlagUsage(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"--rr", "--route", "r", "--metadata", "m"},
		{"--rr", "--route", "r", "--metadata-mime", "json"},
		{"--rr", "--route", strings.Repeat("r", 256)},
		{"--rr", "--take", "-1"},
		{"--rr", "--data-mime", "bad mime"},
		{"--rr", "--metadataFormat", strings.Repeat("m", 256)},
		{"--rr", "-i", "@"},
		{"--rr", "--timeout", "soon"},
		{"--rr", "--keepalive", "-1s"},
		{"--rr", "--fnf"},
		{"--rr", "--request=false"},
	} {
		if _, err := request(ctx, append(args, "127.0.0.1:1")...); !errors.Is(err, ErrUsage) {
			t.Errorf("request %q: %v; want ErrUsage", args, err)
		}
	}
	// Aliases of one model are one model.
	if _, _, err := parseRequest([]string{"--rr", "--request", "127.0.0.1:1"}); err != nil {
		t.Errorf("--rr --request: %v", err)
	}
}

// failingReader returns its data, then err.
type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestRequestChannelInput: a channel without data sends one empty
// payload; one whose input fails after some lines ends with that error.
func TestRequestChannelInput(t *testing.T) {
	s := startServe(t, "-v")
	ctx := testCtx(t)
	if got, err := request(ctx, "--channel", s.url); err != nil || got != "\n" {
		t.Errorf("--channel without data: %q, %v; want one empty payload back", got, err)
	}
	errRead := errors.New("read failed")
	out, _, err := requestIn(ctx, &failingReader{"l1\nl2\n", errRead}, "--channel", "-i", "-", s.url)
	if !errors.Is(err, errRead) {
		t.Errorf("--channel -i - with a failing stdin: %q, %v; want %v", out, err, errRead)
	}
	waitLog(t, s.log, "event=cancel model=channel")
}
