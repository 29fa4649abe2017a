package rshmbench

import (
	"os"
	"strings"
	"syscall"
)

// cpuTime returns the user and system CPU time this process has used, in
// ns (getrusage(RUSAGE_SELF): every thread, the runtime's included).
func cpuTime() (user, sys int64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, false
	}
	return ru.Utime.Nano(), ru.Stime.Nano(), true
}

// kernel returns the running kernel's release.
func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "linux (unknown release)"
	}
	return "linux " + strings.TrimSpace(string(b))
}
