package sidecar

import (
	"github.com/rshm/rshm"
	"github.com/rshm/rshm/balance"
	"github.com/rshm/rshm/proxy"
)

// group starts the load-balancing client of an upstream group (one
// connection per address, dialed over TCP as ccfg says) and returns its
// Requester, whether some instance takes traffic, and how to stop it.
func group(uc Upstream, ccfg rshm.Config) (proxy.Requester, func() bool, func() error, error) {
	addrs := make([]string, len(uc.Addrs))
	for i, a := range uc.Addrs {
		addrs[i] = "tcp://" + a
	}
	bcfg := balance.Config{Conn: ccfg}
	if uc.Balance == "round-robin" {
		bcfg.Strategy = balance.RoundRobin
	}
	c, err := balance.New(addrs, bcfg)
	if err != nil {
		return nil, nil, nil, err
	}
	up := func() bool {
		for _, s := range c.Stats() {
			if s.State == balance.Admitted {
				return true
			}
		}
		return false
	}
	return c, up, c.Close, nil
}
