package shmtransport

import "github.com/rshm/rshm/affinity"

// pinner returns the function Receive calls to pin its thread to o.CPU
// (affinity.Pin), or nil when o asks for no pinning.
func pinner(o Options) func() (func(), error) {
	if !o.PinCPU {
		return nil
	}
	cpu := o.CPU
	return func() (func(), error) { return affinity.Pin(cpu) }
}
