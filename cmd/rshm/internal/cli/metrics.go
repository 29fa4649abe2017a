package cli

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/rshm/rshm"
)

// serveMetrics serves the listener's connection statistics on addr, in
// the Prometheus text format, at /metrics, until ln closes. It returns the
// address it listens on.
func serveMetrics(addr string, ln *rshm.Listener) (net.Addr, func(), error) {
	hl, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		writeConnMetrics(w, ln.Conns())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(hl) }() // ends with stop
	return hl.Addr(), func() { _ = srv.Close() }, nil
}

// writeConnMetrics writes the sums of the connections' statistics by
// transport kind: connections, open streams, frames and bytes each way,
// parks and wakes (shared memory) and resumptions.
func writeConnMetrics(w io.Writer, conns []*rshm.Conn) {
	type sums struct {
		conns, streams                    int
		fs, fr, bs, br, parks, wakes, res uint64
	}
	by := map[string]*sums{"shm": {}, "tcp": {}}
	for _, c := range conns {
		s := by[c.Kind().String()]
		if s == nil {
			continue
		}
		st := c.Stats()
		s.conns++
		s.streams += st.StreamsOpen
		s.fs += st.Transport.FramesSent
		s.fr += st.Transport.FramesReceived
		s.bs += st.Transport.BytesSent
		s.br += st.Transport.BytesReceived
		s.parks += st.Transport.Parks
		s.wakes += st.Transport.Wakes
		s.res += st.Resumptions
	}
	metric := func(name, typ, help string, v func(*sums) uint64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, k := range []string{"shm", "tcp"} {
			fmt.Fprintf(w, "%s{transport=%q} %d\n", name, k, v(by[k]))
		}
	}
	metric("rshm_connections", "gauge", "Connections served now.", func(s *sums) uint64 { return uint64(s.conns) })
	metric("rshm_streams_open", "gauge", "Streams open now on the connections served.", func(s *sums) uint64 { return uint64(s.streams) })
	metric("rshm_frames_sent", "gauge", "Frames sent by the connections served now.", func(s *sums) uint64 { return s.fs })
	metric("rshm_frames_received", "gauge", "Frames received by the connections served now.", func(s *sums) uint64 { return s.fr })
	metric("rshm_bytes_sent", "gauge", "Frame bytes sent by the connections served now.", func(s *sums) uint64 { return s.bs })
	metric("rshm_bytes_received", "gauge", "Frame bytes received by the connections served now.", func(s *sums) uint64 { return s.br })
	metric("rshm_ring_parks", "gauge", "Parks of the receive loops of the shared-memory connections served now.", func(s *sums) uint64 { return s.parks })
	metric("rshm_ring_wakes", "gauge", "Futex wakes the shared-memory connections served now made for their peers.", func(s *sums) uint64 { return s.wakes })
	metric("rshm_resumptions", "gauge", "Transports the resumable sessions served now moved to.", func(s *sums) uint64 { return s.res })
}
