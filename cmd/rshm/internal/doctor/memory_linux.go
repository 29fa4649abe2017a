package doctor

import (
	"math"

	"golang.org/x/sys/unix"
)

// shmSpace returns the size and the space free to this user of the file
// system holding dir.
func shmSpace(dir string) (total, free uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return st.Blocks * uint64(st.Bsize), st.Bavail * uint64(st.Bsize), nil
}

// memlockLimit returns this process's soft RLIMIT_MEMLOCK.
func memlockLimit() (cur uint64, unlimited bool, err error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
		return 0, false, err
	}
	return rl.Cur, rl.Cur == unix.RLIM_INFINITY || rl.Cur == math.MaxUint64, nil
}
