package wstransport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// serve runs an HTTP server on a loopback port with the WebSocket handler
// at /rsocket, whose transports go to accepted, until the test ends. It
// returns the server.
func serve(t testing.TB, opts Options, accepted chan<- rsocket.Transport) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/rsocket", opts.Handler(func(_ context.Context, tr rsocket.Transport) { accepted <- tr }))
	mux.HandleFunc("/hello", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func wsURL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/rsocket"
}

// pair returns a client and a server transport over one WebSocket.
func pair(t testing.TB, copts, sopts Options) (client, server rsocket.Transport) {
	t.Helper()
	accepted := make(chan rsocket.Transport, 1)
	srv := serve(t, sopts, accepted)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, wsURL(srv), copts)
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func TestConformance(t *testing.T) {
	rsockettest.RunConformance(t, func(t testing.TB) (rsocket.Transport, rsocket.Transport) {
		return pair(t, Options{}, Options{})
	})
}

// The same with small messages: the engine fragments to the transport's
// maximum. (-short, as under the race detector in make test, leaves this
// and the TLS run to the plain pass: each repeats the suite's timing tests
// on a loaded machine.)
func TestConformanceSmallMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite over ws runs in TestConformance")
	}
	rsockettest.RunConformance(t, func(t testing.TB) (rsocket.Transport, rsocket.Transport) {
		return pair(t, Options{MaxMessageSize: 1000}, Options{MaxMessageSize: 1000})
	})
}

// tlsDial returns a dial function for pairs over wss:// from one TLS
// server, whose certificate the client trusts.
func tlsDial(t *testing.T) rsockettest.Dial {
	accepted := make(chan rsocket.Transport, 1)
	mux := http.NewServeMux()
	mux.Handle("/rsocket", Handler(func(_ context.Context, tr rsocket.Transport) { accepted <- tr }))
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	url := "wss" + strings.TrimPrefix(srv.URL, "https") + "/rsocket"
	return func(t testing.TB) (rsocket.Transport, rsocket.Transport) {
		c, err := Dial(context.Background(), url, Options{TLS: &tls.Config{RootCAs: roots}})
		if err != nil {
			t.Fatal(err)
		}
		s := <-accepted
		t.Cleanup(func() { c.Close(); s.Close() })
		return c, s
	}
}

func TestConformanceTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("TestTLS runs over wss in -short")
	}
	rsockettest.RunConformance(t, tlsDial(t))
}

// A request-response and a stream over wss://.
func TestTLS(t *testing.T) {
	p := rsockettest.Connect(t, tlsDial(t), rsocket.ClientConfig{}, rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return &rsockettest.Echo{}, nil
		},
	})
	ctx := context.Background()
	got, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: []byte("over tls")})
	if err != nil || string(got.Data) != "over tls" {
		t.Fatalf("RequestResponse: %q, %v", got.Data, err)
	}
	st, err := p.Client.RequestStream(ctx, rsocket.Payload{Data: []byte("3")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range st.All() {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("stream: %d items; want 3", n)
	}
}

func TestDialVerifiesCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(Handler(func(context.Context, rsocket.Transport) {}))
	t.Cleanup(srv.Close)
	url := "wss" + strings.TrimPrefix(srv.URL, "https")
	_, err := Dial(context.Background(), url, Options{})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("Dial with the system roots: %v; want an unknown-authority error", err)
	}
}

// The handler shares a server with other routes; a request that is not a
// handshake gets an HTTP error.
func TestHandlerOnExistingServer(t *testing.T) {
	srv := serve(t, Options{}, make(chan rsocket.Transport, 1))
	for _, tc := range []struct {
		path string
		want int
	}{{"/hello", http.StatusOK}, {"/rsocket", http.StatusBadRequest}} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: %s; want %d", tc.path, resp.Status, tc.want)
		}
	}
}

func TestDialErrors(t *testing.T) {
	srv := serve(t, Options{}, make(chan rsocket.Transport, 1))
	ctx := context.Background()
	if _, err := Dial(ctx, "http://"+srv.Listener.Addr().String()+"/rsocket", Options{}); !errors.Is(err, errBadScheme) {
		t.Errorf("http URL: %v; want errBadScheme", err)
	}
	if _, err := Dial(ctx, wsURL(srv)+"-missing", Options{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing path: %v; want the HTTP status 404", err)
	}
	if _, err := Dial(ctx, wsURL(srv), Options{MaxMessageSize: rsocket.MaxFrameLength + 1}); !errors.Is(err, errBadMaxMessage) {
		t.Errorf("MaxMessageSize too large: %v; want errBadMaxMessage", err)
	}
}

func TestMaxFrameSize(t *testing.T) {
	c, s := pair(t, Options{}, Options{MaxMessageSize: 4096})
	if got := c.MaxFrameSize(); got != rsocket.MaxFrameLength {
		t.Errorf("default MaxFrameSize %d; want %d", got, rsocket.MaxFrameLength)
	}
	if got := s.MaxFrameSize(); got != 4096 {
		t.Errorf("MaxFrameSize %d; want 4096", got)
	}
	if _, err := s.Claim(context.Background(), 4097); !errors.Is(err, errFrameTooLarge) {
		t.Errorf("Claim above the maximum: %v; want errFrameTooLarge", err)
	}
}

// Frames committed together leave as one message each, in order, whatever
// their sizes (the writer batches them).
func TestFramesBecomeMessages(t *testing.T) {
	c, s := pair(t, Options{}, Options{})
	sizes := []int{0, 1, 125, 126, 65535, 65536, 70000, 3, bufferSize + 1}
	for _, tr := range []rsocket.Transport{c, s} {
		peer := s
		if tr == s {
			peer = c
		}
		for i, n := range sizes {
			b, err := tr.Claim(context.Background(), n)
			if err != nil {
				t.Fatal(err)
			}
			for j := range b {
				b[j] = byte(i + j)
			}
			if err := tr.Commit(n); err != nil {
				t.Fatal(err)
			}
		}
		got := 0
		errDone := errors.New("done")
		err := peer.Receive(func(f []byte) error {
			if len(f) != sizes[got] {
				t.Fatalf("message %d: %d bytes; want %d", got, len(f), sizes[got])
			}
			for j := range f {
				if f[j] != byte(got+j) {
					t.Fatalf("message %d byte %d differs", got, j)
				}
			}
			got++
			if got == len(sizes) {
				return errDone
			}
			return nil
		})
		if err != errDone {
			t.Fatal(err)
		}
	}
}

// rawClient is a WebSocket client of the test's own: it sends whatever
// bytes the test gives after the handshake.
type rawClient struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, srv *httptest.Server) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET /rsocket HTTP/1.1\r\nHost: " + srv.Listener.Addr().String() + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return &rawClient{Conn: c, r: r}
}

// frame encodes a masked client frame with the given first byte (FIN,
// RSV, opcode) and payload.
func frame(b0 byte, payload []byte) []byte {
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	key := [4]byte{1, 2, 3, 4}
	out = append(out, key[:]...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}

// closeCode reads frames from the server until a close frame and returns
// its code (-1: the connection ended without one).
func (c *rawClient) closeCode(t *testing.T) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return -1
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			io.ReadFull(c.r, l[:])
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			io.ReadFull(c.r, l[:])
			n = int(binary.BigEndian.Uint64(l[:]))
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(c.r, p); err != nil {
			return -1
		}
		if h[0]&0x0f == websocket.CloseMessage && n >= 2 {
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

// receive runs s.Receive on a goroutine and returns its error.
func receive(s rsocket.Transport) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Receive(func([]byte) error { return nil }) }()
	return done
}

func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Receive did not return")
		return nil
	}
}

// A text message, a message above the limit and a malformed frame each end
// the connection with a close frame and an error; the oversized message is
// refused from its header, before any of its payload arrives.
func TestBadMessages(t *testing.T) {
	const max = 1024
	tests := []struct {
		name string
		send []byte
		want error
		code int
	}{
		{"text", frame(0x81, []byte("hello")), ErrTextMessage, websocket.CloseUnsupportedData},
		{"oversized", frame(0x82, make([]byte, max+1)), ErrMessageTooLarge, websocket.CloseMessageTooBig},
		// The header of a 1 GiB message, and nothing after it.
		{"oversized-header", []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4}, ErrMessageTooLarge, websocket.CloseMessageTooBig},
		{"reserved-bit", frame(0x82|0x40, []byte("x")), ErrProtocol, websocket.CloseProtocolError},
		{"reserved-opcode", frame(0x83, []byte("x")), ErrProtocol, websocket.CloseProtocolError},
		{"unmasked", []byte{0x82, 0x01, 'x'}, ErrProtocol, websocket.CloseProtocolError},
		{"fragmented-control", frame(0x09, nil), ErrProtocol, websocket.CloseProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			accepted := make(chan rsocket.Transport, 1)
			srv := serve(t, Options{MaxMessageSize: max}, accepted)
			c := dialRaw(t, srv)
			s := <-accepted
			defer s.Close()
			done := receive(s)
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			if err := waitErr(t, done); !errors.Is(err, tc.want) {
				t.Fatalf("Receive: %v; want %v", err, tc.want)
			}
			if code := c.closeCode(t); code != tc.code {
				t.Errorf("close code %d; want %d", code, tc.code)
			}
			if rb := s.(*transport).rbuf; cap(rb) > bufferSize {
				t.Errorf("receive buffer grew to %d bytes", cap(rb))
			}
			// The connection is closed: claims fail, the peer sees the end.
			if _, err := s.Claim(context.Background(), 1); !errors.Is(err, tc.want) {
				t.Errorf("Claim after the failure: %v; want %v", err, tc.want)
			}
			if _, err := io.Copy(io.Discard, c.r); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
				t.Errorf("the server did not close the connection: %v", err)
			}
		})
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && strings.Contains(err.Error(), "reset")
}

// A peer that stops reading: the writes block, the pending buffer stays
// within its bound, and after the write timeout the transport fails with
// ErrWriteTimeout and closes the connection.
func TestPeerStopsReading(t *testing.T) {
	accepted := make(chan rsocket.Transport, 1)
	srv := serve(t, Options{WriteTimeout: 200 * time.Millisecond}, accepted)
	c := dialRaw(t, srv)
	s := <-accepted
	defer s.Close()
	done := receive(s)
	tr := s.(*transport)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var err error
	for err == nil {
		var b []byte
		if b, err = s.Claim(ctx, 60<<10); err == nil {
			err = s.Commit(len(b))
		}
		if held := tr.w.Held(); held > 2*(pendingBound+bufferSize) {
			t.Fatalf("pending buffers hold %d bytes", held)
		}
	}
	if !errors.Is(err, ErrWriteTimeout) {
		t.Fatalf("Claim/Commit: %v; want ErrWriteTimeout", err)
	}
	var to interface{ Timeout() bool }
	if !errors.As(err, &to) || !to.Timeout() {
		t.Errorf("%v: Timeout() is not true", err)
	}
	if err := waitErr(t, done); !errors.Is(err, ErrWriteTimeout) {
		t.Errorf("Receive: %v; want ErrWriteTimeout", err)
	}
	// The server closed the connection: the client reads what was sent
	// and then the end.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c.r); err != nil && !isReset(err) {
		t.Errorf("the server did not close the connection: %v", err)
	}
}

// A peer's close frame: normal closure is io.EOF, another code a
// *CloseError; Close answers with the same code.
func TestPeerCloses(t *testing.T) {
	for _, tc := range []struct {
		code int
		want error
	}{{websocket.CloseNormalClosure, io.EOF}, {4000, &CloseError{Code: 4000, Reason: "bye"}}} {
		accepted := make(chan rsocket.Transport, 1)
		srv := serve(t, Options{}, accepted)
		c := dialRaw(t, srv)
		s := <-accepted
		done := receive(s)
		if _, err := c.Write(frame(0x88, websocket.FormatCloseMessage(tc.code, "bye"))); err != nil {
			t.Fatal(err)
		}
		err := waitErr(t, done)
		var ce *CloseError
		switch want := tc.want.(type) {
		case *CloseError:
			if !errors.As(err, &ce) || *ce != *want {
				t.Errorf("code %d: Receive %v; want %v", tc.code, err, want)
			}
		default:
			if err != want {
				t.Errorf("code %d: Receive %v; want %v", tc.code, err, want)
			}
		}
		// Close (the engine's answer to Receive's end) echoes the code.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if code := c.closeCode(t); code != tc.code {
			t.Errorf("the server echoed close code %d; want %d", code, tc.code)
		}
	}
}

// Close sends a close frame (normal closure) after the frames committed
// before it.
func TestCloseSendsCloseFrame(t *testing.T) {
	c, s := pair(t, Options{}, Options{})
	b, err := s.Claim(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	copy(b, "hello")
	if err := s.Commit(5); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = c.Receive(func(f []byte) error { got = append(got, string(f)); return nil })
	if err != io.EOF || len(got) != 1 || got[0] != "hello" {
		t.Fatalf("Receive: %q, %v; want [hello], io.EOF", got, err)
	}
}

// Golden headers: the length in the fewest bytes, the mask bit and key on
// a client's frames, and the masking itself.
func TestPutHeaderAndMask(t *testing.T) {
	key := [maskKeySize]byte{0x37, 0xfa, 0x21, 0x3d}
	tests := []struct {
		n      int
		masked bool
		want   []byte
	}{
		{0, false, []byte{0x82, 0x00}},
		{125, false, []byte{0x82, 125}},
		{126, false, []byte{0x82, 126, 0x00, 126}},
		{0xffff, false, []byte{0x82, 126, 0xff, 0xff}},
		{0x10000, false, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{5, true, []byte{0x82, 0x85, 0x37, 0xfa, 0x21, 0x3d}},
		{300, true, []byte{0x82, 0x80 | 126, 0x01, 0x2c, 0x37, 0xfa, 0x21, 0x3d}},
	}
	for _, tc := range tests {
		b := make([]byte, maxHeaderSize)
		h := putHeader(b, tc.n, tc.masked, key)
		if !bytes.Equal(b[:h], tc.want) {
			t.Errorf("header(%d, masked %v) = % x; want % x", tc.n, tc.masked, b[:h], tc.want)
		}
	}
	// RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
	p := []byte("Hello")
	mask(p, key)
	if want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}; !bytes.Equal(p, want) {
		t.Errorf("masked Hello = % x; want % x", p, want)
	}
	// Any length, against the byte-at-a-time definition, and back.
	for n := range 40 {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 31)
		}
		q := bytes.Clone(p)
		mask(q, key)
		for i := range q {
			if q[i] != p[i]^key[i%4] {
				t.Fatalf("mask of %d bytes: byte %d is %#x; want %#x", n, i, q[i], p[i]^key[i%4])
			}
		}
		mask(q, key)
		if !bytes.Equal(p, q) {
			t.Fatalf("mask twice of %d bytes does not restore them", n)
		}
	}
}
