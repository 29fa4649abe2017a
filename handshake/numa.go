package handshake

import (
	"errors"

	"github.com/rshm/rshm/numa"
	"github.com/rshm/rshm/shm"
)

// bindNUMA places the rings of d on cfg.NUMANode when cfg asks for it. On a
// single-node machine there is nothing to place, which is not an error.
func bindNUMA(cfg *Config, d *shm.Duplex) error {
	if !cfg.BindNUMA {
		return nil
	}
	if err := numa.Bind(d.Region().Data(), cfg.NUMANode); err != nil && !errors.Is(err, numa.ErrSingleNode) {
		return err
	}
	return nil
}
