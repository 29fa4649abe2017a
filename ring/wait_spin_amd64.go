package ring

import "unsafe"

// procyield executes the PAUSE instruction pauses times (wait_spin_amd64.s).
func procyield(pauses uint32)

// prefetchLines starts loading lines consecutive cache lines from p into
// the cache without waiting for them (wait_spin_amd64.s).
//
//go:noescape
func prefetchLines(p unsafe.Pointer, lines int)
