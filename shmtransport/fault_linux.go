package shmtransport

import "golang.org/x/sys/unix"

// threadID returns the calling thread's id.
func threadID() int32 { return int32(unix.Gettid()) }

// wakeThread interrupts what thread tid of this process is doing with
// SIGURG, which the Go runtime ignores unless it asked for a preemption;
// tid 0 is no thread.
func wakeThread(tid int32) {
	if tid != 0 {
		_ = unix.Tgkill(unix.Getpid(), int(tid), unix.SIGURG)
	}
}
