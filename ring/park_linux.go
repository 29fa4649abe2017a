package ring

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// futex(2) operations. The ring's futex words live in memory that two
// processes share, so these are the shared forms: FUTEX_PRIVATE_FLAG would
// key the wait on this process's address space and the peer's wake would
// never reach it.
const (
	futexOpWait = 0 // FUTEX_WAIT
	futexOpWake = 1 // FUTEX_WAKE
)

// futexWait sleeps while *w == val, for at most timeout, and reports whether
// it returned because the timeout ran out. It may return early for no reason
// (a signal, a wake meant for an earlier park); callers re-check.
func futexWait(w *atomic.Uint32, val uint32, timeout time.Duration) (timedOut bool) {
	if timeout < 0 { // NoTimeout: a nil timespec
		unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexOpWait, uintptr(val), 0, 0, 0)
		return false
	}
	ts := unix.NsecToTimespec(int64(timeout))
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexOpWait,
		uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
	return errno == unix.ETIMEDOUT
}

// futexWake wakes the one thread that may sleep on w. FUTEX_WAKE never
// blocks, so it skips the scheduler's system call bookkeeping.
func futexWake(w *atomic.Uint32) {
	unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexOpWake, 1, 0, 0, 0)
}
