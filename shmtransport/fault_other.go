//go:build !linux

package shmtransport

// Outside Linux a parked ring polls its word with short sleeps (see package
// ring), so its next look at a truncated page faults without help: there is
// no thread to interrupt.
func threadID() int32 { return 0 }

func wakeThread(int32) {}
