//go:build !linux

package rshmbench

import "runtime"

// cpuTime is not measured outside Linux: the rows say so with zero CPU.
func cpuTime() (user, sys int64, ok bool) { return 0, 0, false }

func kernel() string { return runtime.GOOS }
