//go:build !amd64

package ring

import (
	"sync/atomic"
	"unsafe"
)

var spinWord atomic.Uint32

// procyield burns a few cycles per pause. Portable Go has no PAUSE or YIELD
// instruction; an atomic load keeps the compiler from removing the loop.
func procyield(pauses uint32) {
	for range pauses {
		spinWord.Load()
	}
}

// prefetchLines does nothing where there is no prefetch instruction in
// assembly.
func prefetchLines(p unsafe.Pointer, lines int) {}

// prefetchWLines does nothing where there is no prefetch instruction in
// assembly.
func prefetchWLines(p unsafe.Pointer, lines int) {}

const hasPrefetchW = false

// zeroLines does nothing where there is no CLZERO; hasCLZero is false.
func zeroLines(p unsafe.Pointer, lines int) {}

// storeFence does nothing where zeroLines does nothing.
func storeFence() {}

const hasCLZero = false
