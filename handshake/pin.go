package handshake

import "github.com/rshm/rshm/affinity"

// pinner returns the function Receive calls to pin its thread to cfg.CPU
// (affinity.Pin), or nil when cfg asks for no pinning.
func pinner(cfg *Config) func() (func(), error) {
	if !cfg.PinCPU {
		return nil
	}
	cpu := cfg.CPU
	return func() (func(), error) { return affinity.Pin(cpu) }
}
