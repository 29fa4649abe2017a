package tsc

// Now returns the time-stamp counter. It is not serializing: it measures
// intervals of many instructions, not single ones.
func Now() int64
