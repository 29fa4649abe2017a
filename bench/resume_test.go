package bench

import (
	"context"
	"sync"
	"testing"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/handshake"
	"github.com/rshm/rshm/rsocket"
)

// BenchmarkResume is the cost of resumption over shared memory, against
// an rshm peer that serves resumable sessions (ServerConfig.Resume), in
// one run:
//
//	shm-stream-64B          request-stream msgs/s, resumption off (baseline)
//	shm-stream-64B-resume   the same with resumption on: every payload goes
//	                        through the retransmit store and the positions
//	shm-resume-latency      p50-ns / p99-ns from breaking the transport (the
//	                        client closes it) to the answer of a request
//	                        made at once: redial, handshake, RESUME,
//	                        RESUME_OK, retransmission, the request-response
//
// Target (issue 5): shm-stream-64B-resume at least 0.7x shm-stream-64B.
func BenchmarkResume(b *testing.B) {
	b.Run("shm-stream-64B", func(b *testing.B) { benchStreamRecv(b, dialResumable(b, false).Conn, 64) })
	b.Run("shm-stream-64B-resume", func(b *testing.B) { benchStreamRecv(b, dialResumable(b, true).Conn, 64) })
	b.Run("shm-resume-latency", func(b *testing.B) {
		rc := dialResumable(b, true)
		ctx := context.Background()
		p := rsocket.Payload{Data: make([]byte, 64)}
		if _, err := rc.RequestResponse(ctx, p); err != nil {
			b.Fatal(err)
		}
		latency(b, func() {
			rc.cut()
			if _, err := rc.RequestResponse(ctx, p); err != nil {
				b.Fatal(err)
			}
		})
		if k := rc.kinds(); k[len(k)-1] != rshm.KindSHM {
			b.Fatalf("resumed over %v, want shared memory", k[len(k)-1])
		}
	})
}

func init() {
	childRoles["rshm-resume"] = childRSHMResume
}

// resumableConn is a client connection whose transports the benchmark can
// break.
type resumableConn struct {
	*rsocket.Conn
	mu   sync.Mutex
	cur  rsocket.Transport
	seen []rshm.Kind
}

func (r *resumableConn) cut() {
	r.mu.Lock()
	t := r.cur
	r.mu.Unlock()
	_ = t.Close()
}

func (r *resumableConn) kinds() []rshm.Kind {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rshm.Kind(nil), r.seen...)
}

// dialResumable starts a resumable rshm peer and connects to it over
// shared memory, with resumption on or off.
func dialResumable(b *testing.B, resume bool) *resumableConn {
	pin(b)
	addr := listenPeer(b, "rshm-resume")
	hcfg := handshake.Config{Mode: rshm.SHMOnly, Wait: rshm.WaitSpin}
	rc := &resumableConn{}
	dial := func(ctx context.Context) (rsocket.Transport, error) {
		t, k, err := handshake.Dial(ctx, addr, hcfg)
		if err != nil {
			return nil, err
		}
		rc.mu.Lock()
		rc.cur = t
		rc.seen = append(rc.seen, k)
		rc.mu.Unlock()
		return t, nil
	}
	ctx := context.Background()
	t, err := dial(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var cfg rsocket.ClientConfig
	if resume {
		cfg.Resume = &rsocket.ResumeConfig{Redial: dial}
	}
	c, err := rsocket.Client(ctx, t, cfg)
	if err != nil {
		b.Fatal(err)
	}
	rc.Conn = c
	keepOnly(b, c)
	return rc
}

// childRSHMResume serves rshm with busy-spin and resumable sessions.
func childRSHMResume(m *mapping) error {
	cfg := serverConfig(&echoHandler{})
	cfg.Resume = &rsocket.ResumeConfig{}
	return serveRSHM(m, cfg)
}
