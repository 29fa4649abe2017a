//go:build !amd64

package tsc

import "time"

var base = time.Now()

// Now returns nanoseconds of the monotonic clock on this architecture.
func Now() int64 { return int64(time.Since(base)) }
