//go:build !linux

package benchkit

// CPUTime is not measured outside Linux: it returns false, and the rows
// say so with zero CPU.
func CPUTime() (user, sys int64, ok bool) { return 0, 0, false }
