package shm

import (
	"errors"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// procStart returns the start time of process pid in clock ticks after
// boot, field 22 of /proc/PID/stat.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStartTime(b)
}

// alive reports whether a process with this pid exists. EPERM means it
// exists but belongs to someone else.
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || !errors.Is(err, unix.ESRCH)
}

// pidNamespace identifies this process's PID namespace: the inode of
// /proc/self/ns/pid, read once; 0 when it cannot be read.
func pidNamespace() uint64 {
	pidNSOnce.Do(func() {
		var st unix.Stat_t
		if unix.Stat("/proc/self/ns/pid", &st) == nil {
			pidNSValue = st.Ino
		}
	})
	return pidNSValue
}

var (
	pidNSOnce  sync.Once
	pidNSValue uint64
)
