package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Resumption against rsocket-js 0.0.27: testdata/js/resume_client.js runs a
// request-stream or a request-channel on RSocketResumableTransport against
// an rshm server with ServerConfig.Resume, through a frameTap that cuts the
// TCP connection mid-stream; the JS client reconnects and sends RESUME.

// resumeItems is the length of the sequence each scenario moves; the tap
// cuts the connection when the server has sent (stream) or received
// (channel) each of resumeCuts items.
const resumeItems = 200

var resumeCuts = []int{50, 130}

// seqServer streams "0".."N-1" for "seq:N" and echoes a channel, calling
// at(i) after item i went out (stream) or came in (channel).
type seqServer struct {
	rsocket.RejectAll
	at func(i int)
}

func (h *seqServer) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	n, err := strconv.Atoi(strings.TrimPrefix(string(p.Data), "seq:"))
	if err != nil {
		return err
	}
	for i := range n {
		if err := w.Send(ctx, rsocket.Payload{Data: []byte(strconv.Itoa(i))}); err != nil {
			return err
		}
		h.at(i + 1)
	}
	return nil
}

func (h *seqServer) RequestChannel(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
	i := 0
	for {
		if err := ch.Send(ctx, rsocket.Payload{Data: bytes.Clone(p.Data)}); err != nil {
			return err
		}
		i++
		h.at(i)
		var err error
		if p, err = ch.Recv(); err != nil {
			// io.EOF: the requester completed; anything else fails the
			// channel, and the JS side reports it.
			if i == resumeItems {
				return nil
			}
			return fmt.Errorf("channel after %d items: %w", i, err)
		}
	}
}

// startResumeServer serves h on a free port with resumption and puts a
// tap in front; accepts counts the SETUPs the acceptor saw.
func startResumeServer(t *testing.T, h rsocket.Handler, accepts *atomic.Int32, resume *rsocket.ResumeConfig) *frameTap {
	t.Helper()
	port := serveTCP(t, rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			accepts.Add(1)
			return h, nil
		},
		Resume: resume,
	})
	return startTap(t, "127.0.0.1:"+strconv.Itoa(port))
}

func TestJSClientResume(t *testing.T) {
	for _, scenario := range []string{"stream", "channel"} {
		t.Run(scenario, func(t *testing.T) {
			needNode(t)
			var accepts atomic.Int32
			var cutter atomic.Pointer[frameTap] // the tap, once it runs
			var next atomic.Int32               // index into resumeCuts
			h := &seqServer{at: func(i int) {
				if k := int(next.Load()); k < len(resumeCuts) && i == resumeCuts[k] {
					next.Add(1)
					cutter.Load().cut()
				}
			}}
			resume := &rsocket.ResumeConfig{}
			tap := startResumeServer(t, h, &accepts, resume)
			cutter.Store(tap)
			ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
			defer cancel()

			events, err := runJSScript(ctx, t, "resume_client.js", tap.port(), scenario,
				"--items", strconv.Itoa(resumeItems), "--token", "tok-"+scenario)
			frames := tap.frames()
			if err != nil {
				t.Fatalf("%v\nframes:\n%s", err, dumpFrames(frames))
			}
			done := findEvent(events, isEvent("done"))
			if done == nil || done.num("items") != resumeItems {
				t.Fatalf("resume_client.js: %v", events)
			}
			if got, want := done.num("connects"), len(resumeCuts)+1; got != want {
				t.Errorf("JS connected %d times; want %d", got, want)
			}
			if n := accepts.Load(); n != 1 {
				t.Errorf("acceptor ran %d times; want 1 (one session, resumed)", n)
			}
			if n := resume.Len(); n != 1 {
				t.Errorf("server holds %d resumable sessions; want 1", n)
			}
			checkResumeFrames(t, frames, []byte("tok-"+scenario), len(resumeCuts))
		})
	}
}

// checkResumeFrames checks the frames of a session resumed cuts times:
// SETUP with R on the first connection only; every later one opens with
// RESUME (the token, version 1.0) answered by RESUME_OK; and each side
// resumes sending at the position the other announced: every resumable
// frame sent at position p either repeats byte for byte what was sent at p
// before the cut, or continues right at the end of what was sent.
func checkResumeFrames(t *testing.T, frames []tapFrame, token []byte, cuts int) {
	t.Helper()
	conns := 0
	for _, f := range frames {
		conns = max(conns, f.Conn+1)
	}
	if conns != cuts+1 {
		t.Fatalf("tap saw %d connections; want %d\n%s", conns, cuts+1, dumpFrames(frames))
	}
	// sent[d] is the resumable byte stream sent in direction d, by position.
	var sent [2][]byte
	for c := range conns {
		var first [2]*wire.Frame
		var pos [2]uint64
		for _, tf := range frames {
			if tf.Conn != c {
				continue
			}
			var f wire.Frame
			if err := wire.Parse(tf.Raw, &f); err != nil {
				t.Fatalf("conn %d: unparsable frame % x: %v", c, tf.Raw, err)
			}
			if first[tf.Dir] == nil {
				fc := f.Clone()
				first[tf.Dir] = &fc
				switch {
				case c == 0 && tf.Dir == toServer:
					if f.Type != wire.TypeSetup || f.Flags&wire.FlagResume == 0 || !bytes.Equal(f.ResumeToken, token) {
						t.Errorf("conn 0 opens with %v flags %#x token %q; want SETUP with R and token %q", f.Type, f.Flags, f.ResumeToken, token)
					}
				case tf.Dir == toServer:
					if f.Type != wire.TypeResume || !bytes.Equal(f.ResumeToken, token) || f.MajorVersion != 1 || f.MinorVersion != 0 {
						t.Errorf("conn %d opens with %v token %q version %d.%d; want RESUME, token %q, 1.0", c, f.Type, f.ResumeToken, f.MajorVersion, f.MinorVersion, token)
					}
					pos[toClient] = f.LastPosition
				case c > 0 && tf.Dir == toClient:
					if f.Type != wire.TypeResumeOK {
						t.Errorf("conn %d: server answers RESUME with %v; want RESUME_OK", c, f.Type)
					}
					pos[toServer] = f.LastPosition
				}
			}
			if !isResumable(&f) {
				continue
			}
			d, p := tf.Dir, pos[tf.Dir]
			if p > uint64(len(sent[d])) {
				t.Fatalf("conn %d dir %d: frame %v at position %d, beyond the %d bytes ever sent", c, d, f.Type, p, len(sent[d]))
			}
			if rest := sent[d][p:]; len(rest) > 0 {
				if !bytes.HasPrefix(rest, tf.Raw) {
					t.Fatalf("conn %d dir %d: frame %v at position %d differs from the one sent there before the cut", c, d, f.Type, p)
				}
			} else {
				sent[d] = append(sent[d], tf.Raw...)
			}
			pos[d] += uint64(len(tf.Raw))
		}
		if c > 0 && (first[toServer] == nil || first[toClient] == nil) {
			t.Errorf("conn %d: no RESUME/RESUME_OK exchange", c)
		}
	}
}

// isResumable reports whether a frame counts toward the resume positions.
func isResumable(f *wire.Frame) bool {
	switch f.Type {
	case wire.TypeRequestResponse, wire.TypeRequestFNF, wire.TypeRequestStream, wire.TypeRequestChannel,
		wire.TypeRequestN, wire.TypeCancel, wire.TypePayload:
		return true
	case wire.TypeError:
		return f.StreamID != 0
	}
	return false
}

// dumpFrames renders frames for a failure message: connection, direction,
// type, stream and, for the session frames, their positions; short frames
// on stream 0 also in hex.
func dumpFrames(frames []tapFrame) string {
	var b strings.Builder
	for _, tf := range frames {
		arrow := "c->s"
		if tf.Dir == toClient {
			arrow = "s->c"
		}
		var f wire.Frame
		if err := wire.Parse(tf.Raw, &f); err != nil {
			fmt.Fprintf(&b, "conn %d %s % x (%v)\n", tf.Conn, arrow, tf.Raw, err)
			continue
		}
		fmt.Fprintf(&b, "conn %d %s %-16v stream %d flags %#03x len %d", tf.Conn, arrow, f.Type, f.StreamID, f.Flags, len(tf.Raw))
		switch f.Type {
		case wire.TypeKeepalive, wire.TypeResumeOK:
			fmt.Fprintf(&b, " pos %d", f.LastPosition)
		case wire.TypeResume:
			fmt.Fprintf(&b, " token %q last-server %d first-client %d", f.ResumeToken, f.LastPosition, f.FirstAvailablePosition)
		case wire.TypePayload, wire.TypeRequestStream, wire.TypeRequestChannel:
			fmt.Fprintf(&b, " data %q", f.Data)
		case wire.TypeRequestN:
			fmt.Fprintf(&b, " n %d", f.N)
		}
		if f.StreamID == 0 && len(tf.Raw) <= 48 {
			fmt.Fprintf(&b, " [% x]", tf.Raw)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestJSResumeKeepalivePosition: rsocket-js 0.0.27 never reports what it
// received: its KEEPALIVE always carries position 0 (RSocketClient builds
// them with lastReceivedPosition: 0, and RSocketResumableTransport has a
// "TODO: trim _sentFrames on KEEPALIVE frame"), while rshm's answers carry
// the bytes it received. The stream pauses 300 ms after item 20 so that
// several 50 ms KEEPALIVEs go by.
func TestJSResumeKeepalivePosition(t *testing.T) {
	needNode(t)
	var accepts atomic.Int32
	h := &seqServer{at: func(i int) {
		if i == 20 {
			time.Sleep(300 * time.Millisecond)
		}
	}}
	tap := startResumeServer(t, h, &accepts, &rsocket.ResumeConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	events, err := runJSScript(ctx, t, "resume_client.js", tap.port(), "stream", "--items", "40", "--keepalive", "50")
	if err != nil {
		t.Fatal(err)
	}
	if e := findEvent(events, isEvent("done")); e == nil || e.num("items") != 40 {
		t.Fatalf("resume_client.js: %v", events)
	}
	var carried [2]uint64 // resumable bytes the tap carried each way so far
	var jsKeepalives, goKeepalives, goExact int
	for _, tf := range tap.frames() {
		var f wire.Frame
		if err := wire.Parse(tf.Raw, &f); err != nil {
			t.Fatal(err)
		}
		if isResumable(&f) {
			carried[tf.Dir] += uint64(len(tf.Raw))
			continue
		}
		if f.Type != wire.TypeKeepalive {
			continue
		}
		if tf.Dir == toServer {
			if carried[toClient] == 0 {
				continue // nothing received yet: 0 is right
			}
			jsKeepalives++
			if f.LastPosition != 0 {
				t.Errorf("rsocket-js KEEPALIVE after %d bytes received carries position %d: has rsocket-js started acknowledging? (update docs/protocol.md)", carried[toClient], f.LastPosition)
			}
			continue
		}
		goKeepalives++
		if f.LastPosition > carried[toServer] {
			t.Errorf("rshm KEEPALIVE position %d beyond the %d bytes rsocket-js sent", f.LastPosition, carried[toServer])
		}
		if f.LastPosition == carried[toServer] {
			goExact++
		}
	}
	if jsKeepalives < 2 || goKeepalives < 2 || goExact == 0 {
		t.Errorf("KEEPALIVEs: %d from rsocket-js after data, %d from rshm (%d at the exact position); want 2, 2, 1 or more\n%s",
			jsKeepalives, goKeepalives, goExact, dumpFrames(tap.frames()))
	}
}

// TestJSResumeStoreFull: since rsocket-js never acknowledges (see
// TestJSResumeKeepalivePosition), an rshm server's retransmit store only
// drains when the client resumes (RESUME_OK trims it): a session that sends
// more than ResumeConfig.StoreSize bytes without a break ends with
// ErrResumeStoreFull. rshm tells the client with ERROR[CONNECTION_ERROR] on
// stream 0 before it closes, so rsocket-js ends too instead of taking the
// close for a break and trying to resume.
func TestJSResumeStoreFull(t *testing.T) {
	needNode(t)
	conns := make(chan *rsocket.Conn, 1)
	port := serveTCP(t, rsocket.ServerConfig{
		Acceptor: func(_ context.Context, _ rsocket.SetupInfo, c *rsocket.Conn) (rsocket.Handler, error) {
			select {
			case conns <- c:
			default:
				return nil, errors.New("second SETUP")
			}
			return &seqServer{at: func(int) {}}, nil
		},
		Resume: &rsocket.ResumeConfig{StoreSize: 1024},
	})
	tap := startTap(t, "127.0.0.1:"+strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	events, err := runJSScript(ctx, t, "resume_client.js", tap.port(), "stream", "--items", "300")
	if err == nil {
		t.Fatalf("resume_client.js streamed 300 items (~2.5 KB) through a 1 KiB store that is never acknowledged: %v", events)
	}
	if e := findEvent(events, isEvent("fail")); e == nil || !strings.Contains(e.str("message"), "CONNECTION_ERROR") ||
		!strings.Contains(e.str("message"), "retransmit store full") {
		t.Errorf("JS events: %v; want a failure with CONNECTION_ERROR and rshm's message (retransmit store full)", events)
	}
	c := <-conns
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("server session still up")
	}
	if !errors.Is(c.Err(), rsocket.ErrResumeStoreFull) {
		t.Errorf("server session ended with %v; want ErrResumeStoreFull", c.Err())
	}
	frames := tap.frames()
	var last *tapFrame
	for i := range frames {
		if frames[i].Conn > 0 {
			t.Errorf("rsocket-js opened another connection after the session ended:\n%s", dumpFrames(frames))
			break
		}
		if frames[i].Dir == toClient {
			last = &frames[i]
		}
	}
	var f wire.Frame
	if last == nil || wire.Parse(last.Raw, &f) != nil || f.Type != wire.TypeError || f.StreamID != 0 ||
		f.ErrorCode != wire.ErrorCode(rsocket.CodeConnectionError) {
		t.Errorf("rshm ended the session (store full) without ERROR[CONNECTION_ERROR] on stream 0; its last frame: %v %d\n%s",
			f.Type, f.StreamID, dumpFrames(frames))
	}
}

// TestGoClientResumeJSServer: rsocket-js 0.0.27 has no server-side
// resumption, and RSocketServer does not look at SETUP's R flag either: it
// accepts a resumable rshm client (the spec wants a setup error) and only
// refuses when the client, after a break, sends RESUME:
// ERROR[REJECTED_RESUME] "RSocketServer: RESUME not supported.". The rshm
// client must then end the session with that error, not retry.
func TestGoClientResumeJSServer(t *testing.T) {
	srv := startJSServer(t, "--fix-metadata")
	tap := startTap(t, srv.addr())
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	var redials atomic.Int32
	conn := dial(ctx, t, tap.addr(), rsocket.ClientConfig{Resume: &rsocket.ResumeConfig{
		Token: []byte("go-token"),
		Redial: func(ctx context.Context) (rsocket.Transport, error) {
			redials.Add(1)
			var d net.Dialer
			nc, err := d.DialContext(ctx, "tcp", tap.addr())
			if err != nil {
				return nil, err
			}
			return rsocket.NewTCPTransport(nc), nil
		},
	}})
	if p, err := conn.RequestResponse(ctx, rsocket.Payload{Data: []byte("before")}); err != nil || string(p.Data) != "before" {
		t.Fatalf("request before the cut: %q %v (the JS server refused the resumable SETUP?)", p.Data, err)
	}
	tap.cut()
	select {
	case <-conn.Done():
	case <-ctx.Done():
		t.Fatal("rshm client still up after its RESUME was rejected")
	}
	var re *rsocket.Error
	if err := conn.Err(); !errors.As(err, &re) || re.Code != rsocket.CodeRejectedResume || !strings.Contains(re.Message, "RESUME not supported") {
		t.Errorf("session ended with %v; want REJECTED_RESUME from rsocket-js", conn.Err())
	}
	if n := redials.Load(); n != 1 {
		t.Errorf("redialed %d times; want 1 (no retry after REJECTED_RESUME)", n)
	}
	if _, err := conn.RequestResponse(ctx, rsocket.Payload{Data: []byte("after")}); err == nil {
		t.Error("request after the rejected resume succeeded")
	}
	frames := tap.frames()
	var f wire.Frame
	if len(frames) == 0 || wire.Parse(frames[0].Raw, &f) != nil || f.Type != wire.TypeSetup || f.Flags&wire.FlagResume == 0 {
		t.Fatalf("first frame %v flags %#x; want SETUP with R", f.Type, f.Flags)
	}
}
