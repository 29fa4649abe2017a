package handshake

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/shm"
)

// Child processes: the test binary run as a testchild plays one side of a
// shared-memory connection (see kill_test.go). Each role's arguments are
// named in its comment.
func TestMain(m *testing.M) {
	testchild.Main(map[string]func(args []string) int{
		"client": childClient,
		"server": func(args []string) int { return childServer(args, Config{}, echoServer(nil)) },
		"fastserver": func(args []string) int { // drive_test.go
			return childServer(args, Config{Wait: WaitSpin}, inlineEchoServer())
		},
		"hold":      childHold,      // diag_linux_test.go
		"relay":     childRelay,     // xproc_test.go
		"truncator": childTruncator, // fault_test.go
		"groupserver": func(args []string) int { // namespace_linux_test.go
			return childServer(args, Config{SHM: shm.Config{Group: args[1]}}, echoServer(nil))
		},
		"groupclient": childGroupClient, // namespace_linux_test.go
	})
	os.Exit(m.Run())
}

// childClient (ADDR DIR) dials the parent at ADDR, reports its transport,
// opens an endless stream and reads it until the connection fails (or it
// is killed).
func childClient(args []string) int {
	ctx := context.Background()
	cfg := Config{Mode: SHMOnly, SHM: shmConfig(args[1])}
	t, k, err := Dial(ctx, args[0], cfg)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	c, err := rsocket.Client(ctx, t, rsocket.ClientConfig{})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	st, err := c.RequestStream(ctx, rsocket.Payload{Data: []byte("forever")})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	for i := 0; ; i++ {
		if _, err := st.Recv(); err != nil {
			fmt.Println("error", err)
			return 1
		}
		if i == 10 {
			fmt.Println("streaming", k)
		}
	}
}

// childServer (DIR [GROUP]) listens with cfg (shared memory only, in the test's
// directory DIR), prints its address, and serves connections with sc.
func childServer(args []string, cfg Config, sc rsocket.ServerConfig) int {
	cfg.Mode, cfg.SHM.Dir = SHMOnly, args[0]
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("addr", l.Addr())
	out := bufio.NewWriter(os.Stdout)
	for {
		a, err := l.Accept(context.Background())
		if err != nil {
			return 1
		}
		fmt.Fprintln(out, "accepted", a.Kind)
		out.Flush()
		go rsocket.Server(context.Background(), a.Transport, sc)
	}
}

// echo answers request-response with the request, streams n payloads for
// "n" (a number) and an endless paced stream for "forever".
type echo struct {
	rsocket.RejectAll
	streaming chan context.Context // receives the ctx of each endless stream
}

func (echo) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p.Clone(), nil
}

func (e echo) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	if string(p.Data) == "forever" {
		if e.streaming != nil {
			e.streaming <- ctx
		}
		for i := 0; ; i++ {
			if err := w.Send(ctx, rsocket.Payload{Data: strconv.AppendInt(nil, int64(i), 10)}); err != nil {
				return err
			}
			time.Sleep(time.Millisecond)
		}
	}
	n, err := strconv.Atoi(string(p.Data))
	if err != nil {
		return err
	}
	for i := range n {
		if err := w.Send(ctx, rsocket.Payload{Data: strconv.AppendInt(nil, int64(i), 10)}); err != nil {
			return err
		}
	}
	return nil
}

func echoServer(streaming chan context.Context) rsocket.ServerConfig {
	return rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return echo{streaming: streaming}, nil
	}}
}
