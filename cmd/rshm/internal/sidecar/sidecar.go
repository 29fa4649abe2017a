// Package sidecar is rshm sidecar: a process beside an application that
// serves it over shared memory (and any other local RSocket client over
// TCP) and forwards each request, by its route, to a group of upstream
// instances over TCP (package proxy does the forwarding). Its routes and
// upstreams come from a configuration file (Config), reloaded on SIGHUP;
// an admin HTTP address serves /healthz and /metrics (Prometheus text).
package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/proxy"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/shm"
)

// Sidecar is a running sidecar.
type Sidecar struct {
	log     *slog.Logger
	ln      *rshm.Listener
	admin   *http.Server
	adminLn net.Listener
	metrics *metrics

	mu    sync.Mutex // serializes Reload and Close
	cfg   *Config
	state atomic.Pointer[state]
}

// state is what a request is routed with: swapped whole by Reload.
type state struct {
	table *table
	ups   map[string]*upstream
}

// upstream is one configured group of instances.
type upstream struct {
	name string
	cfg  Upstream
	req  proxy.Requester // counted
	up   func() bool     // some instance is connected
	stop func() error
}

// Start starts a sidecar as cfg says.
func Start(cfg *Config, log *slog.Logger) (*Sidecar, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sidecar{log: log, metrics: newMetrics(), cfg: cfg}
	st, err := s.build(cfg, nil)
	if err != nil {
		return nil, err
	}
	s.state.Store(st)
	pcfg := proxy.Config{Route: s.route, Push: s.all, Logger: log}
	s.ln, err = rshm.Listen(cfg.Listen, rshm.Config{
		Handshake: rshm.Handshake{SHM: shm.Config{Dir: cfg.SHMDir, Group: cfg.SHMGroup}, Logger: log},
		Server:    rsocket.ServerConfig{Acceptor: pcfg.Acceptor(), Logger: log},
	})
	if err != nil {
		s.stopAll(st.ups)
		return nil, err
	}
	if cfg.Admin != "" {
		if err := s.serveAdmin(cfg.Admin); err != nil {
			s.ln.Close()
			s.stopAll(st.ups)
			return nil, err
		}
	}
	return s, nil
}

// Addr is the address the sidecar serves the application on.
func (s *Sidecar) Addr() net.Addr { return s.ln.Addr() }

// AdminAddr is the admin HTTP address, or nil without one.
func (s *Sidecar) AdminAddr() net.Addr {
	if s.adminLn == nil {
		return nil
	}
	return s.adminLn.Addr()
}

// route is the proxy's choice of upstream for route.
func (s *Sidecar) route(route string) proxy.Requester {
	st := s.state.Load()
	if u := st.ups[st.table.lookup(route)]; u != nil {
		return u.req
	}
	return nil
}

// all is every upstream, where a metadata push goes.
func (s *Sidecar) all() []proxy.Requester {
	st := s.state.Load()
	out := make([]proxy.Requester, 0, len(st.ups))
	for _, u := range st.ups {
		out = append(out, u.req)
	}
	return out
}

// build makes the state of cfg, reusing the upstreams of old whose
// configuration did not change.
func (s *Sidecar) build(cfg *Config, old *state) (*state, error) {
	st := &state{table: newTable(cfg.Routes), ups: map[string]*upstream{}}
	for name, uc := range cfg.Upstreams {
		if old != nil {
			if u := old.ups[name]; u != nil && reflect.DeepEqual(u.cfg, uc) {
				st.ups[name] = u
				continue
			}
		}
		u, err := s.dial(name, uc)
		if err != nil {
			s.stopAll(fresh(st.ups, old))
			return nil, fmt.Errorf("upstream %q: %w", name, err)
		}
		st.ups[name] = u
	}
	return st, nil
}

// fresh returns the upstreams of ups that old does not hold.
func fresh(ups map[string]*upstream, old *state) map[string]*upstream {
	out := map[string]*upstream{}
	for name, u := range ups {
		if old == nil || old.ups[name] != u {
			out[name] = u
		}
	}
	return out
}

// dial starts the clients of one upstream group: connections over TCP
// whose metadata is composite (what the proxy sends up).
func (s *Sidecar) dial(name string, uc Upstream) (*upstream, error) {
	ccfg := rshm.Config{
		Handshake: rshm.Handshake{Mode: rshm.TCPOnly, Logger: s.log},
		Client:    rsocket.ClientConfig{MetadataMIME: metadata.MIMEComposite, Logger: s.log},
	}
	if uc.Resume {
		ccfg.Client.Resume = &rsocket.ResumeConfig{}
	}
	req, up, stop, err := group(uc, ccfg)
	if err != nil {
		return nil, err
	}
	return &upstream{name: name, cfg: uc, req: s.metrics.count(name, req), up: up, stop: stop}, nil
}

func (s *Sidecar) stopAll(ups map[string]*upstream) {
	for _, u := range ups {
		if err := u.stop(); err != nil {
			s.log.Debug("sidecar: closing an upstream", "upstream", u.name, "err", err)
		}
	}
}

// ErrRestart is Reload's error for a change that needs a restart (the
// listening or admin address, the shm directory or group).
var ErrRestart = errors.New("sidecar: the change needs a restart")

// Reload switches to cfg's routes and upstreams: requests from then on are
// routed by cfg; upstream groups whose configuration did not change keep
// their connections; removed ones close once the switch is made (their
// requests in flight fail with their connections).
func (s *Sidecar) Reload(cfg *Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg.Listen != s.cfg.Listen || cfg.Admin != s.cfg.Admin || cfg.SHMDir != s.cfg.SHMDir || cfg.SHMGroup != s.cfg.SHMGroup {
		return ErrRestart
	}
	old := s.state.Load()
	st, err := s.build(cfg, old)
	if err != nil {
		return err
	}
	s.state.Store(st)
	s.cfg = cfg
	gone := map[string]*upstream{}
	for name, u := range old.ups {
		if st.ups[name] != u {
			gone[name] = u
		}
	}
	s.stopAll(gone)
	s.log.Info("sidecar: configuration reloaded", "upstreams", len(st.ups), "routes", len(cfg.Routes))
	return nil
}

// Close stops serving and closes every connection, downstream and up.
func (s *Sidecar) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.ln.Close()
	if s.admin != nil {
		_ = s.admin.Close()
	}
	s.stopAll(s.state.Load().ups)
	return err
}

// Shutdown stops serving gracefully (rshm.Listener.Shutdown), then closes
// the upstream connections.
func (s *Sidecar) Shutdown(ctx context.Context) error {
	err := s.ln.Shutdown(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin != nil {
		_ = s.admin.Close()
	}
	s.stopAll(s.state.Load().ups)
	return err
}
