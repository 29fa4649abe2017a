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

// zeroLines zeroes lines consecutive cache lines from p with CLZERO, where
// hasCLZero; the zeroes are ordered before later stores only by a
// storeFence (wait_spin_amd64.s).
//
//go:noescape
func zeroLines(p unsafe.Pointer, lines int)

// storeFence orders the zeroLines before it before the stores after it
// (wait_spin_amd64.s).
func storeFence()

func cpuCLZero() bool

// hasCLZero: the CPU implements CLZERO (AMD since Zen).
var hasCLZero = cpuCLZero()
