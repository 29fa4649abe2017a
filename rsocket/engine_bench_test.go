package rsocket

import (
	"context"
	"testing"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// The engine's own per-frame cost, without a transport or a second
// goroutine: frames are handed to the receive path directly and sent into
// a sink, so the numbers are stable enough to compare small changes (the
// two-process benchmarks in package bench move with the cross-CPU latency
// of a VM from run to run).

// sinkTransport accepts every frame into one reused buffer and never
// delivers anything.
type sinkTransport struct{ buf []byte }

func (t *sinkTransport) MaxFrameSize() int { return MaxFrameLength }
func (t *sinkTransport) Claim(_ context.Context, n int) ([]byte, error) {
	if cap(t.buf) < n {
		t.buf = make([]byte, n)
	}
	return t.buf[:n], nil
}
func (t *sinkTransport) Commit(int) error                       { return nil }
func (t *sinkTransport) Abort()                                 {}
func (t *sinkTransport) Receive(func(frame []byte) error) error { select {} }
func (t *sinkTransport) Close() error                           { return nil }

// sinkStream returns a connection over a sinkTransport, past SETUP, and a
// registered requester's request-stream on it.
func sinkStream(b *testing.B) (*Conn, *stream) {
	c := newConn(&sinkTransport{}, false, resolve(0, 0, 0, nil, MaxFrameLength))
	c.setupSeen = true
	s := c.newRequester(context.Background(), wire.TypeRequestStream)
	if err := c.register(s); err != nil {
		b.Fatal(err)
	}
	return c, s
}

// BenchmarkEngineStreamRecv: a requester's stream receiving 64-byte
// payloads, 64 frames delivered by the receive path then 64 Recv calls,
// per op one payload.
func BenchmarkEngineStreamRecv(b *testing.B) {
	c, s := sinkStream(b)
	frame := wire.AppendPayload(nil, s.id, wire.FlagNext, nil, make([]byte, 64))
	const burst = 64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%burst == 0 {
			for range burst {
				if err := c.onFrame(frame); err != nil {
					b.Fatal(err)
				}
			}
		}
		if _, err := s.recv(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEngineStreamRecvFragmented: a requester's stream receiving
// 1 MiB payloads, each in two fragments (as over a ring whose largest
// record is 1 MiB), delivered by the receive path then taken by Recv; per
// op one payload. It measures what reassembly costs on top of the copy out
// of the transport's frames.
func BenchmarkEngineStreamRecvFragmented(b *testing.B) {
	c, s := sinkStream(b)
	const size, first = 1 << 20, 1<<20 - 64
	data := make([]byte, size)
	f1 := wire.AppendPayload(nil, s.id, wire.FlagNext|wire.FlagFollows, nil, data[:first])
	f2 := wire.AppendPayload(nil, s.id, wire.FlagNext, nil, data[first:])
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.onFrame(f1); err != nil {
			b.Fatal(err)
		}
		if err := c.onFrame(f2); err != nil {
			b.Fatal(err)
		}
		p, err := s.recv()
		if err != nil || len(p.Data) != size {
			b.Fatalf("recv: %d bytes, %v", len(p.Data), err)
		}
	}
}

// BenchmarkEngineStreamSend: a responder's StreamWriter.Send of 64-byte
// payloads with credits to spare, per op one payload.
func BenchmarkEngineStreamSend(b *testing.B) {
	c := newConn(&sinkTransport{}, true, resolve(0, 0, 0, nil, MaxFrameLength))
	s := newStream(c, wire.TypeRequestStream)
	s.id, s.responder, s.outOpen, s.credits = 2, true, true, maxRequestN
	w := &StreamWriter{s: s}
	p := Payload{Data: make([]byte, 64)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if s.credits < 1<<20 {
			s.credits = maxRequestN
		}
		if err := w.Send(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// echoTransport answers each REQUEST_RESPONSE committed to it with a
// PAYLOAD of the request's data, delivered by Drive on the caller's
// goroutine, as the shared-memory transport does for a waiting requester.
type echoTransport struct {
	sinkTransport
	f    wire.Frame
	resp []byte
}

func (t *echoTransport) Commit(n int) error {
	f := &t.f
	if err := wire.Parse(t.buf[:n], f); err == nil && f.Type == wire.TypeRequestResponse {
		t.resp = wire.AppendPayload(t.resp[:0], f.StreamID, wire.FlagNext|wire.FlagComplete, nil, f.Data)
	}
	return nil
}

func (t *echoTransport) Drive(fn func(frame []byte) error, done func() bool, cancel <-chan struct{}) {
	if len(t.resp) > 0 {
		_ = fn(t.resp)
		t.resp = t.resp[:0]
	}
}

// BenchmarkEngineRequestResponse: the requester's side of a blocking
// 64-byte request-response, per op one round trip (the answer is delivered
// by Drive at once).
func BenchmarkEngineRequestResponse(b *testing.B) {
	c := newConn(&echoTransport{}, false, resolve(0, 0, 0, nil, MaxFrameLength))
	c.setupSeen = true
	p := Payload{Data: make([]byte, 64)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r, err := c.RequestResponse(ctx, p)
		if err != nil || len(r.Data) != 64 {
			b.Fatal(r, err)
		}
	}
}

type benchInline struct{ RejectAll }

func (benchInline) RequestResponseInline(p Payload, r Responder) { _ = r.Respond(p) }

// BenchmarkEngineInlineResponse: the responder's side of a 64-byte
// request-response answered inline, per op one request frame received and
// its answer sent.
func BenchmarkEngineInlineResponse(b *testing.B) {
	set := resolve(0, 0, 0, nil, MaxFrameLength)
	set.handler = benchInline{}
	c := newConn(&sinkTransport{}, true, set)
	c.setupSeen = true
	var frame []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		frame = wire.AppendRequest(frame[:0], wire.TypeRequestResponse, uint32(2*i+1)&wire.MaxStreamID|1, 0, 0, nil, make([]byte, 64)[:64])
		if err := c.onFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}
