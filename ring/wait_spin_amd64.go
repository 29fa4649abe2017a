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

// zeroLines zeroes lines consecutive cache lines from p with CLZERO, where
// hasCLZero; the zeroes are ordered before later stores only by a
// storeFence (wait_spin_amd64.s).
//
//go:noescape
func zeroLines(p unsafe.Pointer, lines int)

// storeFence orders the zeroLines before it before the stores after it
// (wait_spin_amd64.s).
func storeFence()

// cpuidExt returns EBX and ECX of an extended CPUID leaf, zeros where the
// CPU has no such leaf (wait_spin_amd64.s). The module's CPUID library
// has no flag for PREFETCHW, and the ring depends on nothing but x/sys.
func cpuidExt(leaf uint32) (ebx, ecx uint32)

// hasPrefetchW: the CPU implements PREFETCHW (CPUID.80000001H:ECX bit 8,
// PRFCHW); hasCLZero: it implements CLZERO (CPUID.80000008H:EBX bit 0,
// AMD since Zen).
var hasPrefetchW, hasCLZero = cpuFeatures()

func cpuFeatures() (prefetchW, clzero bool) {
	_, ecx := cpuidExt(0x80000001)
	ebx, _ := cpuidExt(0x80000008)
	return ecx&(1<<8) != 0, ebx&1 != 0
}
