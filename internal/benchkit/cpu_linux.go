package benchkit

import "syscall"

// CPUTime returns the user and system CPU time this process has used, in
// ns (getrusage(RUSAGE_SELF): every thread, the runtime's included), as
// Collect reads it: what a server reports as its serverCPU.
func CPUTime() (user, sys int64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, false
	}
	return ru.Utime.Nano(), ru.Stime.Nano(), true
}
