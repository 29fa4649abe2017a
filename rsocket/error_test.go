package rsocket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// TestErrorText: an *Error names a code the spec defines and prints any
// other in hex, and says "rsocket: " once.
func TestErrorText(t *testing.T) {
	for i, tt := range []struct {
		err  *rsocket.Error
		want string
	}{
		{&rsocket.Error{Code: rsocket.CodeApplicationError, Message: "boom"}, "rsocket: APPLICATION_ERROR (0x201): boom"},
		{&rsocket.Error{Code: 0x301, Message: "out of stock"}, "rsocket: 0x301: out of stock"},
		{&rsocket.Error{Code: 0xFFFFFFFE}, "rsocket: 0xfffffffe"},
		{&rsocket.Error{Code: rsocket.CodeApplicationError, Message: rsocket.ErrClosed.Error()}, "rsocket: APPLICATION_ERROR (0x201): connection closed"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%d: %q; want %q", i, got, tt.want)
		}
	}
	if got := fmt.Sprint(rsocket.ErrorCode(0x301), " ", rsocket.CodeRejected); got != "0x301 REJECTED" {
		t.Errorf("codes print as %q; want 0x301 REJECTED", got)
	}
}

// TestIsPeerGone classifies the errors a connection ends with, and some
// that do not end it.
func TestIsPeerGone(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for i, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{rsocket.ErrClosed, true},
		{fmt.Errorf("call: %w", rsocket.ErrClosed), true},
		{rsocket.ErrClosing, true},
		{rsocket.ErrKeepaliveTimeout, true},
		{rsocket.ErrSessionExpired, true},
		{&rsocket.Error{Code: rsocket.CodeConnectionClose, Message: "bye"}, true},
		{&rsocket.Error{Code: rsocket.CodeConnectionError, Message: "bad frame"}, true},
		{&rsocket.Error{Code: rsocket.CodeRejectedResume}, true},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{net.ErrClosed, true},
		{reset, true},
		{&net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}, true},
		{&rsocket.Error{Code: rsocket.CodeRejectedSetup, Message: "not you"}, false},
		{&rsocket.Error{Code: rsocket.CodeApplicationError}, false},
		{&rsocket.Error{Code: rsocket.CodeCanceled}, false},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{rsocket.ErrNoLease, false},
		{rsocket.ErrMessageTooLarge, false},
	} {
		if got := rsocket.IsPeerGone(tt.err); got != tt.want {
			t.Errorf("%d: IsPeerGone(%v) = %v; want %v", i, tt.err, got, tt.want)
		}
	}
}

// TestIsPeerGoneFromConn: what a connection reports when its peer closes,
// breaks off or falls silent is "peer gone", both as Err and as a
// request's error.
func TestIsPeerGoneFromConn(t *testing.T) {
	echo := func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return &rsockettest.Echo{}, nil
	}
	check := func(t *testing.T, c *rsocket.Conn) {
		t.Helper()
		<-c.Done()
		if err := c.Err(); !rsocket.IsPeerGone(err) {
			t.Errorf("Err() = %v: not peer gone", err)
		}
		if _, err := c.RequestResponse(context.Background(), rsocket.Payload{}); !rsocket.IsPeerGone(err) {
			t.Errorf("request after the end: %v: not peer gone", err)
		}
	}
	for _, tr := range []struct {
		name string
		dial rsockettest.Dial
	}{{"pipe", pipeDial}, {"tcp", tcpDial}} {
		t.Run(tr.name+"/peer closes", func(t *testing.T) {
			p := rsockettest.Connect(t, tr.dial, rsocket.ClientConfig{}, rsocket.ServerConfig{Acceptor: echo})
			p.Server.Close()
			check(t, p.Client)
		})
		t.Run(tr.name+"/transport breaks", func(t *testing.T) {
			ct, st := tr.dial(t)
			p := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, rsocket.ServerConfig{Acceptor: echo})
			st.Close()
			check(t, p.Client)
		})
		t.Run(tr.name+"/closed here", func(t *testing.T) {
			p := rsockettest.Connect(t, tr.dial, rsocket.ClientConfig{}, rsocket.ServerConfig{Acceptor: echo})
			p.Client.Close()
			check(t, p.Client)
		})
		t.Run(tr.name+"/peer closes gracefully", func(t *testing.T) {
			p := rsockettest.Connect(t, tr.dial, rsocket.ClientConfig{}, rsocket.ServerConfig{Acceptor: echo})
			go p.Server.CloseGracefully(context.Background())
			check(t, p.Client)
		})
	}
	t.Run("keepalive timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ct, st := rsocket.Pipe(rsocket.PipeConfig{})
			defer st.Close()
			go st.Receive(func([]byte) error { return nil }) // a peer that never answers
			c, err := rsocket.Client(context.Background(), ct, rsocket.ClientConfig{KeepaliveInterval: time.Second, MaxLifetime: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			check(t, c)
			if !errors.Is(c.Err(), rsocket.ErrKeepaliveTimeout) {
				t.Errorf("Err() = %v; want ErrKeepaliveTimeout", c.Err())
			}
		})
	})
}
