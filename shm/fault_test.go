package shm

import (
	"errors"
	"os"
	"testing"
)

// openFDs counts this process's descriptors that open the file fi
// describes.
func openFDs(t *testing.T, fi os.FileInfo) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	n := 0
	for _, e := range es {
		if st, err := os.Stat("/proc/self/fd/" + e.Name()); err == nil && os.SameFile(st, fi) {
			n++
		}
	}
	return n
}

// TestNoDescriptor: a region keeps no file descriptor once it is mapped
// and named, whether made by Create, PrepareDuplex and Link, or Open; a
// prepared region keeps its own until Link, which then cannot run again.
func TestNoDescriptor(t *testing.T) {
	cfg := Config{Dir: t.TempDir()}
	r := newRegion(t, cfg, 4096)
	fi, err := os.Stat(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t, fi); n != 0 {
		t.Errorf("after Create: %d descriptors open the region", n)
	}
	o, err := Open(cfg, r.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if n := openFDs(t, fi); n != 0 {
		t.Errorf("after Open: %d descriptors open the region", n)
	}

	d, err := PrepareDuplex(cfg, 4096)
	if err != nil {
		t.Skip(err) // no O_TMPFILE here
	}
	defer d.Close()
	if err := d.Region().Link(); err != nil {
		t.Fatal(err)
	}
	defer d.Region().Unlink()
	if fi, err = os.Stat(d.Region().Path()); err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t, fi); n != 0 {
		t.Errorf("after Link: %d descriptors open the region", n)
	}
	if err := d.Region().Link(); !errors.Is(err, ErrLinked) {
		t.Errorf("second Link: %v; want ErrLinked", err)
	}
}

// TestTruncatedRegion: the file of a mapped region is truncated (by a
// process that opened it while it had a name); touching the header then
// faults, which Confirm and Confirmed report instead of crashing.
func TestTruncatedRegion(t *testing.T) {
	skipFaultUnderRace(t)
	cfg := Config{Dir: t.TempDir()}
	r := newRegion(t, cfg, 4096)
	o, err := Open(cfg, r.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	f, err := os.OpenFile(r.Path(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var nonce [NonceSize]byte
	if err := o.Confirm(nonce); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Confirmed(); ok {
		t.Error("Confirmed of a truncated region: true")
	}
	if err := o.Confirm(nonce); !errors.Is(err, ErrFault) {
		t.Errorf("Confirm of a truncated region: %v; want ErrFault", err)
	}
	if _, err := OpenDuplex(cfg, r.Name()); !errors.Is(err, ErrSize) {
		t.Errorf("OpenDuplex of a truncated region: %v; want ErrSize", err)
	}
}
