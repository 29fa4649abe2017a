package handshake

import (
	"os"
	"testing"
)

// TestReadBootID reads the boot id twice (the second from the cache) and
// compares both with the file.
func TestReadBootID(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Skip(err)
	}
	want, err := parseBootID(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if got, err := readBootID(); err != nil || got != want {
			t.Errorf("%d: got %x, %v; want %x", i, got, err, want)
		}
	}
}
