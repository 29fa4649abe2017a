package affinity

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Pin locks the calling goroutine to its OS thread and restricts that
// thread to cpu. unpin restores the thread's previous CPU mask and unlocks
// the goroutine; call it on the same goroutine, once. If the old mask
// cannot be restored, unpin leaves the goroutine locked, so the runtime
// discards the still-pinned thread when the goroutine exits instead of
// handing it to other goroutines.
func Pin(cpu int) (unpin func(), err error) {
	if cpu < 0 || cpu >= len(unix.CPUSet{})*64 {
		return nil, fmt.Errorf("affinity: pin to cpu %d: out of range", cpu)
	}
	runtime.LockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("affinity: sched_getaffinity: %w", err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("affinity: pin to cpu %d: %w", cpu, err)
	}
	return func() {
		if unix.SchedSetaffinity(0, &old) == nil {
			runtime.UnlockOSThread()
		}
	}, nil
}

// Allowed returns the CPUs the calling thread may run on.
func Allowed() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("affinity: sched_getaffinity: %w", err)
	}
	var out []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Current returns the CPU the calling thread runs on now (getcpu(2)), or -1.
// Without Pin the answer may be stale by the time it returns.
func Current() int {
	var cpu uint32
	if _, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); e != 0 {
		return -1
	}
	return int(cpu)
}
