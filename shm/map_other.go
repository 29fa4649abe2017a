//go:build !linux

package shm

import (
	"errors"
	"os"

	mmap "github.com/edsrzf/mmap-go"
)

// mapFile maps size bytes of f shared, read-write, with mmap-go. Outside
// Linux there is no MAP_POPULATE, and populate is ignored: pages fault in on
// first touch.
func mapFile(f *os.File, size int, _ bool) ([]byte, error) {
	return mmap.MapRegion(f, size, mmap.RDWR, 0, 0)
}

func unmap(mem []byte) error {
	m := mmap.MMap(mem)
	return m.Unmap()
}

func lockMem(mem []byte) error { return mmap.MMap(mem).Lock() }

// prefault does nothing here: pages are faulted as they are first used.
func prefault([]byte) error { return nil }

func openUnnamed(string) (*os.File, error) { return nil, errors.ErrUnsupported }

func linkFile(*os.File, string) error { return errors.ErrUnsupported }

func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR, 0)
}

// checkOwner accepts every owner outside Linux; the mode check still runs.
func checkOwner(os.FileInfo) error { return nil }

// checkGroup accepts every group outside Linux; the mode check still runs.
func checkGroup(os.FileInfo, int) error { return nil }

func adviseHuge([]byte, string) HugeStatus {
	return HugeStatus{Reason: "huge pages are supported on Linux only"}
}
