package shm

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	mmap "github.com/edsrzf/mmap-go"
	"golang.org/x/sys/unix"
)

// BenchmarkMap decides how regions are mapped (see doc.go). Each iteration
// does what Create does for a fresh region of that size: create and
// truncate a file, map it, touch every page once with a write, then unmap
// and remove it, so the cost of allocating and zeroing the tmpfs pages is
// in every variant. The variants differ only in how the pages are faulted:
//
//	mmap-go       mmap-go MapRegion, then first touch faults each page
//	nopopulate    unix.Mmap without MAP_POPULATE, same faults
//	populate      unix.Mmap with MAP_POPULATE (mapFile before Linux 5.14)
//	madv-populate unix.Mmap, then madvise(MADV_POPULATE_WRITE) (mapFile)
//
// touch-ns/op is the part spent in the first-touch loop: what the first
// messages through a fresh region would pay. Run with -benchtime 20x; it
// uses DefaultDir when it exists.
func BenchmarkMap(b *testing.B) {
	dir := DefaultDir
	if _, err := os.Stat(dir); err != nil {
		dir = b.TempDir()
	}
	b.Logf("dir %s, GOMAXPROCS %d, %d CPUs", dir, runtime.GOMAXPROCS(0), runtime.NumCPU())
	type mapper func(f *os.File, size int) (mem []byte, unmap func() error, err error)
	variants := []struct {
		name string
		m    mapper
	}{
		{"mmap-go", func(f *os.File, size int) ([]byte, func() error, error) {
			m, err := mmap.MapRegion(f, size, mmap.RDWR, 0, 0)
			return m, m.Unmap, err
		}},
		{"nopopulate", func(f *os.File, size int) ([]byte, func() error, error) {
			m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			return m, func() error { return unix.Munmap(m) }, err
		}},
		{"populate", func(f *os.File, size int) ([]byte, func() error, error) {
			m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
			return m, func() error { return unix.Munmap(m) }, err
		}},
		{"madv-populate", func(f *os.File, size int) ([]byte, func() error, error) {
			m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			if err == nil {
				err = unix.Madvise(m, unix.MADV_POPULATE_WRITE)
			}
			return m, func() error { return unix.Munmap(m) }, err
		}},
	}
	page := os.Getpagesize()
	for _, size := range []int{1 << 20, 64 << 20} {
		for _, v := range variants {
			b.Run(fmt.Sprintf("%dMiB/%s", size>>20, v.name), func(b *testing.B) {
				path := filepath.Join(dir, "rshm-bench-"+fmt.Sprint(os.Getpid()))
				b.Cleanup(func() { os.Remove(path) })
				b.SetBytes(int64(size))
				b.ReportAllocs()
				var touch time.Duration
				for b.Loop() {
					f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
					if err != nil {
						b.Fatal(err)
					}
					if err := f.Truncate(int64(size)); err != nil {
						b.Fatal(err)
					}
					mem, unmapFn, err := v.m(f, size)
					if err != nil {
						b.Fatal(err)
					}
					t0 := time.Now()
					for i := 0; i < len(mem); i += page {
						mem[i] = 1
					}
					touch += time.Since(t0)
					if err := unmapFn(); err != nil {
						b.Fatal(err)
					}
					f.Close()
					os.Remove(path)
				}
				b.ReportMetric(float64(touch.Nanoseconds())/float64(b.N), "touch-ns/op")
			})
		}
	}
}
