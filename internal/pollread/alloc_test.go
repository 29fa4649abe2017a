//go:build unix && !race

package pollread

import (
	"testing"
	"time"
)

// A Read that finds data allocates nothing (the race detector allocates,
// hence the build tag).
func TestReadDoesNotAllocate(t *testing.T) {
	a, b := tcpPair(t)
	r := New(a, 100*time.Microsecond)
	out, in := []byte("x"), make([]byte, 8)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := b.Write(out); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Write and Read; want 0", allocs)
	}
}
