package shm

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// mapFile maps size bytes of f shared, read-write. populate prefaults every
// page: with madvise(MADV_POPULATE_WRITE) (Linux 5.14+), which leaves the
// page tables writable and dirty, and where the kernel lacks it with
// MAP_POPULATE, which prefaults for reading only on a shared mapping.
// BenchmarkMap is why this is unix.Mmap and not mmap-go (see doc.go).
func mapFile(f *os.File, size int, populate bool) ([]byte, error) {
	const prot = unix.PROT_READ | unix.PROT_WRITE
	mem, err := unix.Mmap(int(f.Fd()), 0, size, prot, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes: %w", size, err)
	}
	if !populate {
		return mem, nil
	}
	err = unix.Madvise(mem, unix.MADV_POPULATE_WRITE)
	if err == nil {
		return mem, nil
	}
	unix.Munmap(mem)
	if err != unix.EINVAL {
		// ENOMEM, EFAULT (SIGBUS: the file shrank), EHWPOISON...
		return nil, fmt.Errorf("madvise(MADV_POPULATE_WRITE) %d bytes: %w", size, err)
	}
	mem, err = unix.Mmap(int(f.Fd()), 0, size, prot, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes: %w", size, err)
	}
	return mem, nil
}

func unmap(mem []byte) error { return unix.Munmap(mem) }

// prefault faults every page of mem in for writing (MADV_POPULATE_WRITE);
// on a kernel without it, it touches nothing and returns nil: the pages
// are faulted as they are first used.
func prefault(mem []byte) error {
	if err := unix.Madvise(mem, unix.MADV_POPULATE_WRITE); err != nil && err != unix.EINVAL {
		return fmt.Errorf("madvise(MADV_POPULATE_WRITE) %d bytes: %w", len(mem), err)
	}
	return nil
}

func lockMem(mem []byte) error { return unix.Mlock(mem) }

// openUnnamed creates a file without a name in dir (O_TMPFILE), mode 0600.
func openUnnamed(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open O_TMPFILE in %s: %w", dir, err)
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// linkFile gives f, opened with openUnnamed, the name path.
func linkFile(f *os.File, path string) error {
	return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
}

// openNoFollow opens an existing file read-write, refusing a symlink planted
// under the name.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// checkOwner accepts only files owned by our effective uid.
func checkOwner(fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: no owner information", ErrPermission)
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return fmt.Errorf("%w: owner uid %d, ours %d", ErrPermission, st.Uid, uid)
	}
	return nil
}

// checkGroup accepts only files of group gid.
func checkGroup(fi os.FileInfo, gid int) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: no owner information", ErrPermission)
	}
	if int(st.Gid) != gid {
		return fmt.Errorf("%w: group %d, want %d", ErrPermission, st.Gid, gid)
	}
	return nil
}

// adviseHuge applies MADV_HUGEPAGE when the mount of dir allows huge pages
// for shared memory, and reports what happened.
func adviseHuge(mem []byte, dir string) HugeStatus {
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return HugeStatus{Reason: "cannot read /proc/mounts: " + err.Error()}
	}
	shmem, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/shmem_enabled")
	st := hugeAllowed(string(mounts), string(shmem), dir)
	if !st.Enabled {
		return st
	}
	if err := unix.Madvise(mem, unix.MADV_HUGEPAGE); err != nil {
		return HugeStatus{Reason: st.Reason + "; madvise(MADV_HUGEPAGE): " + err.Error()}
	}
	return st
}
