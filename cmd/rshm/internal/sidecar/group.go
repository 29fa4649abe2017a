package sidecar

import (
	"github.com/rshm/rshm"
	"github.com/rshm/rshm/proxy"
)

// group starts the clients of an upstream group and returns its
// Requester, whether some instance is connected, and how to stop it.
func group(uc Upstream, ccfg rshm.Config) (proxy.Requester, func() bool, func() error, error) {
	c, err := rshm.NewClient("tcp://"+uc.Addrs[0], ccfg, rshm.Reconnect{})
	if err != nil {
		return nil, nil, nil, err
	}
	return c, c.Connected, c.Close, nil
}
