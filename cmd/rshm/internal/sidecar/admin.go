package sidecar

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// serveAdmin serves /healthz and /metrics on addr.
func (s *Sidecar) serveAdmin(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		s.metrics.write(w, s.upstreamUp)
	})
	s.adminLn = ln
	s.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.admin.Serve(ln) }() // ends when Close closes the server
	return nil
}

// upstreamUp reports whether upstream name is configured and connected.
func (s *Sidecar) upstreamUp(name string) (up, configured bool) {
	u := s.state.Load().ups[name]
	if u == nil {
		return false, false
	}
	return u.up(), true
}

// healthz answers 200 when every upstream group has a connected instance,
// 503 naming those that have none.
func (s *Sidecar) healthz(w http.ResponseWriter, _ *http.Request) {
	var down []string
	for name, u := range s.state.Load().ups {
		if !u.up() {
			down = append(down, name)
		}
	}
	if len(down) > 0 {
		slices.Sort(down)
		http.Error(w, "upstreams without a connection: "+strings.Join(down, ", "), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}
