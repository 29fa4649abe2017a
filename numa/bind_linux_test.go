package numa

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func mapAnon(t *testing.T, pages int) []byte {
	t.Helper()
	mem, err := unix.Mmap(-1, 0, pages*os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	return mem
}

func TestBindWhere(t *testing.T) {
	nodes, err := Nodes()
	if err != nil {
		t.Skipf("no NUMA information: %v", err)
	}
	page := os.Getpagesize()
	mem := mapAnon(t, 8)
	first := nodes[0].ID

	// mbind itself works on this machine, whatever its node count.
	if err := mbind(mem, first); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ { // touch half the pages
		mem[i*page] = 1
	}
	where, err := Where(mem)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{first, first, first, first, -1, -1, -1, -1}
	for i := range want {
		if where[i] != want[i] {
			t.Errorf("Where = %v; want %v", where, want)
			break
		}
	}

	err = Bind(mem, first)
	if len(nodes) == 1 {
		if !errors.Is(err, ErrSingleNode) {
			t.Errorf("Bind on a single-node machine = %v; want ErrSingleNode", err)
		}
	} else if err != nil {
		t.Errorf("Bind(node %d) = %v", first, err)
	}
	if err := Bind(mem, 999); !errors.Is(err, ErrNoNode) {
		t.Errorf("Bind(node 999) = %v; want ErrNoNode", err)
	}
	if err := mbind(mem[1:], first); !errors.Is(err, ErrAlign) {
		t.Errorf("mbind(unaligned) = %v; want ErrAlign", err)
	}
	if _, err := Where(mem[1:]); !errors.Is(err, ErrAlign) {
		t.Errorf("Where(unaligned) = %v; want ErrAlign", err)
	}
	if w, err := Where(nil); w != nil || err != nil {
		t.Errorf("Where(nil) = %v, %v", w, err)
	}
}

func TestNodeOfReal(t *testing.T) {
	nodes, err := Nodes()
	if err != nil {
		t.Skipf("no NUMA information: %v", err)
	}
	t.Logf("nodes: %+v", nodes)
	for _, n := range nodes {
		for _, c := range n.CPUs {
			if got, err := NodeOf(c); got != n.ID || err != nil {
				t.Errorf("NodeOf(%d) = %d, %v; want %d", c, got, err, n.ID)
			}
		}
	}
}
