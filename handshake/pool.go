package handshake

import (
	"context"
	"sync"

	"github.com/rshm/rshm/shm"
)

// poolDepth is how many regions a serving pipeline keeps created ahead.
const poolDepth = 2

// regionPool keeps a few regions of the ring size a client gets by default
// created and NUMA-bound ahead of the hellos that will ask for them, so
// that making the file, sizing and mapping it is off a connection's setup
// (BenchmarkConn/connect-shm in package bench measures the setup). A
// region taken from the pool is replaced in the background. Regions of
// other sizes, or with huge pages where the pool has none, are created on
// demand.
//
// A pooled region has no name in the shm directory until it is handed out
// (shm.PrepareDuplex, Region.Link), so the pool leaves nothing behind, also
// when the process is killed. Where the directory cannot hold unnamed
// files the pool stays empty and every region is created on demand.
type regionPool struct {
	cfg  *Config
	size int // ring capacity of the pooled regions

	ready chan *shm.Duplex
	kick  chan struct{}
	stop  context.CancelFunc
	done  chan struct{}
	once  sync.Once
}

// newRegionPool starts the pool's filling goroutine; close ends it.
func newRegionPool(cfg *Config) *regionPool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &regionPool{
		cfg:   cfg,
		size:  ringSize(0, cfg.RingSize, cfg.maxRing()),
		ready: make(chan *shm.Duplex, poolDepth),
		kick:  make(chan struct{}, 1),
		stop:  cancel,
		done:  make(chan struct{}),
	}
	go p.fill(ctx)
	return p
}

// fill creates regions until the pool is full, then waits for a take.
func (p *regionPool) fill(ctx context.Context) {
	defer close(p.done)
	for {
		for len(p.ready) < cap(p.ready) {
			d, err := p.create()
			if err != nil {
				p.cfg.logger().Debug("handshake: preparing a region", "err", err)
				break // the next take creates on demand, and kicks again
			}
			select {
			case p.ready <- d:
			case <-ctx.Done():
				discard(d)
				return
			}
		}
		select {
		case <-p.kick:
		case <-ctx.Done():
			return
		}
	}
}

func (p *regionPool) create() (*shm.Duplex, error) {
	return newRegion(p.cfg, unpopulated(p.cfg.SHM), p.size, shm.PrepareDuplex)
}

// newRegion makes a region for a ring of size bytes with create
// (shm.CreateDuplex, or shm.PrepareDuplex for the pool) and places it on
// cfg's NUMA node.
func newRegion(cfg *Config, scfg shm.Config, size int, create func(shm.Config, int) (*shm.Duplex, error)) (*shm.Duplex, error) {
	d, err := create(scfg, size)
	if err != nil {
		return nil, err
	}
	if err := bindNUMA(cfg, d); err != nil {
		discard(d)
		return nil, err
	}
	return d, nil
}

// createLinked makes a region on demand and names it in the directory only
// once its header is written (PrepareDuplex, then Link): a server killed
// while making it leaves either nothing or a region whose header names its
// dead creator, which the next Serve removes. Where the directory cannot
// hold unnamed files it creates the named file directly.
func createLinked(cfg *Config, scfg shm.Config, size int) (*shm.Duplex, error) {
	d, err := newRegion(cfg, scfg, size, shm.PrepareDuplex)
	if err != nil {
		return newRegion(cfg, scfg, size, shm.CreateDuplex)
	}
	if err := d.Region().Link(); err != nil {
		discard(d)
		return nil, err
	}
	return d, nil
}

// take returns a prepared region for a ring of size bytes mapped as scfg
// says, linked under its name, or nil when the pool has none that fits.
func (p *regionPool) take(size int, scfg shm.Config) *shm.Duplex {
	if p == nil || size != p.size || scfg.HugePages != p.cfg.SHM.HugePages {
		return nil
	}
	var d *shm.Duplex
	select {
	case d = <-p.ready:
	default:
	}
	select { // refill
	case p.kick <- struct{}{}:
	default:
	}
	if d != nil {
		if err := d.Region().Link(); err != nil {
			p.cfg.logger().Debug("handshake: naming a prepared region", "err", err)
			discard(d)
			return nil
		}
	}
	return d
}

// close stops the filling and removes the regions nobody took.
func (p *regionPool) close() {
	p.once.Do(func() {
		p.stop()
		<-p.done
		for {
			select {
			case d := <-p.ready:
				discard(d)
			default:
				return
			}
		}
	})
}

// discard unlinks and unmaps a region nobody will use.
func discard(d *shm.Duplex) {
	_ = d.Region().Unlink()
	_ = d.Close()
}
