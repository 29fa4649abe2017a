//go:build !linux

package shm

// procStart returns 0 outside Linux: there is no portable start time, so
// a reused pid cannot be told from its first owner.
func procStart(int) (uint64, error) { return 0, nil }

// alive reports every pid as alive outside Linux, so Stale only ever
// reports unreadable headers there and never a live owner's region.
func alive(int) bool { return true }

// pidNamespace is 0 outside Linux: unknown, taken as everyone's.
func pidNamespace() uint64 { return 0 }
