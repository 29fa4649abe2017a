package ring

import "unsafe"

// procyield executes the PAUSE instruction pauses times (wait_spin_amd64.s).
func procyield(pauses uint32)

// prefetchLines starts loading lines consecutive cache lines from p into
// the cache without waiting for them (wait_spin_amd64.s).
//
//go:noescape
func prefetchLines(p unsafe.Pointer, lines int)

// prefetchWLines asks for ownership of lines consecutive cache lines from p
// (PREFETCHW), where hasPrefetchW (wait_spin_amd64.s).
//
//go:noescape
func prefetchWLines(p unsafe.Pointer, lines int)

func cpuPrefetchW() bool

// hasPrefetchW: the CPU implements PREFETCHW.
var hasPrefetchW = cpuPrefetchW()
