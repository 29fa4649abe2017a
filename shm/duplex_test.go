package shm

import (
	"errors"
	"os"
	"testing"
	"time"
	"unsafe"

	"github.com/rshm/rshm/internal/testchild"
	"github.com/rshm/rshm/ring"
)

func newDuplex(t *testing.T, cfg Config, capacity int) *Duplex {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	d, err := CreateDuplex(cfg, capacity)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Region().Unlink()
		d.Close()
	})
	return d
}

func TestDuplexLayout(t *testing.T) {
	for _, c := range []int{ring.MinCapacity, 1 << 16} {
		dir := t.TempDir()
		d := newDuplex(t, Config{Dir: dir}, c)
		base := &d.Region().Bytes()[0]
		for i, b := range []*ring.Buffer{d.ClientToServer(), d.ServerToClient()} {
			off := int(uintptrOf(&b.Mem()[0]) - uintptrOf(base))
			want := HeaderSize + i*ringArea(c)
			if off != want || off%RingAlignment != 0 {
				t.Errorf("capacity %d: ring %d at offset %d; want %d, %d-aligned", c, i, off, want, RingAlignment)
			}
			if b.Capacity() != c {
				t.Errorf("ring %d capacity %d; want %d", i, b.Capacity(), c)
			}
		}
		if d.RingCapacity() != c || d.Region().Size() != HeaderSize+2*ringArea(c) {
			t.Errorf("RingCapacity %d, Size %d", d.RingCapacity(), d.Region().Size())
		}
	}
}

func TestDuplexOpen(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir}
	s := newDuplex(t, cfg, 4096)
	c, err := OpenDuplex(cfg, s.Region().Name())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.ClientToServer().Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if err := s.ServerToClient().Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if got := readOne(t, s.ClientToServer()); got != "ping" {
		t.Errorf("server read %q; want ping", got)
	}
	if got := readOne(t, c.ServerToClient()); got != "pong" {
		t.Errorf("client read %q; want pong", got)
	}
}

func readOne(t *testing.T, b *ring.Buffer) string {
	t.Helper()
	if !b.WaitData(5 * time.Second) {
		t.Fatal("no data")
	}
	var s string
	if _, err := b.Read(func(rec []byte) bool { s = string(rec); return false }); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDuplexRejects(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir}
	for _, c := range []int{0, ring.MinCapacity - 1, ring.MaxCapacity + 1} {
		if _, err := CreateDuplex(cfg, c); !errors.Is(err, ErrNotDuplex) {
			t.Errorf("CreateDuplex(%d) = %v; want ErrNotDuplex", c, err)
		}
	}
	if _, err := CreateDuplex(cfg, 3000); err == nil {
		t.Error("CreateDuplex(3000), not a power of two, succeeded")
	}
	plain := newRegion(t, cfg, 1<<16)
	if _, err := OpenDuplex(cfg, plain.Name()); !errors.Is(err, ErrNotDuplex) {
		t.Errorf("OpenDuplex(plain region) = %v; want ErrNotDuplex", err)
	}
	// A capacity in the header that does not match the size.
	d := newDuplex(t, cfg, 4096)
	d.Region().Bytes()[offRingCap+1] = 0x20 // 8192
	if _, err := OpenDuplex(cfg, d.Region().Name()); !errors.Is(err, ErrNotDuplex) {
		t.Errorf("OpenDuplex(bad capacity) = %v; want ErrNotDuplex", err)
	}
	d.Region().Bytes()[offRingCap+1] = 0x10
	// A broken ring header.
	d.ServerToClient().Mem()[0] ^= 0xff
	if _, err := OpenDuplex(cfg, d.Region().Name()); !errors.Is(err, ring.ErrBadLayout) {
		t.Errorf("OpenDuplex(bad ring magic) = %v; want ring.ErrBadLayout", err)
	}
	if ents, _ := osReadDirNames(dir); len(ents) != 2 {
		t.Errorf("files left: %v; want the two regions of this test", ents)
	}
}

// TestDuplexTwoProcesses echoes a record through a child process.
func TestDuplexTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	s := newDuplex(t, Config{Dir: dir}, 4096)
	child := testchild.Start(t, "echo", dir, s.Region().Name())
	if err := s.ServerToClient().Write([]byte("across processes")); err != nil {
		t.Fatal(err)
	}
	if got := readOne(t, s.ClientToServer()); got != "across processes" {
		t.Errorf("echo = %q", got)
	}
	if err := child.Wait(); err != nil {
		t.Errorf("child: %v", err)
	}
}

func uintptrOf(p *byte) uintptr { return uintptr(unsafe.Pointer(p)) }

func osReadDirNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, err
}
