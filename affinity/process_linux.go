package affinity

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// PinProcess restricts every thread of the process to cpus. Threads the Go
// runtime starts later inherit the mask of the thread that creates them, so
// the whole process stays on cpus. Use it for a process whose goroutines all
// belong on one CPU (a benchmark peer, a sidecar on a dedicated core); use
// Pin to place one goroutine. restore puts back each thread's previous mask
// where the thread still exists, and gives threads started since then the
// mask the calling thread had.
func PinProcess(cpus ...int) (restore func(), err error) {
	if len(cpus) == 0 {
		return nil, fmt.Errorf("affinity: pin process: no CPU given")
	}
	var set unix.CPUSet
	for _, c := range cpus {
		if c < 0 || c >= len(set)*64 {
			return nil, fmt.Errorf("affinity: pin process to cpu %d: out of range", c)
		}
		set.Set(c)
	}
	var self unix.CPUSet
	if err := unix.SchedGetaffinity(0, &self); err != nil {
		return nil, fmt.Errorf("affinity: sched_getaffinity: %w", err)
	}
	old := map[int]unix.CPUSet{}
	// Threads may start while we walk the list: walk until a pass finds no
	// thread that is not pinned yet.
	for pass := 0; pass < 10; pass++ {
		tids, err := threads()
		if err != nil {
			return nil, err
		}
		changed := false
		for _, tid := range tids {
			if _, done := old[tid]; done {
				continue
			}
			var m unix.CPUSet
			if unix.SchedGetaffinity(tid, &m) != nil {
				continue // the thread exited
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil {
				if err == unix.ESRCH {
					continue
				}
				return nil, fmt.Errorf("affinity: pin thread %d to %v: %w", tid, cpus, err)
			}
			old[tid] = m
			changed = true
		}
		if !changed {
			break
		}
	}
	return func() {
		tids, _ := threads()
		for _, tid := range tids {
			m, ok := old[tid]
			if !ok {
				m = self
			}
			_ = unix.SchedSetaffinity(tid, &m)
		}
	}, nil
}

// threads lists the thread ids of this process.
func threads() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("affinity: list threads: %w", err)
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
