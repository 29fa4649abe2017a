package affinity

import (
	"slices"
	"testing"
)

func TestPin(t *testing.T) {
	before, err := Allowed()
	if err != nil || len(before) == 0 {
		t.Fatalf("Allowed() = %v, %v", before, err)
	}
	for _, cpu := range before {
		unpin, err := Pin(cpu)
		if err != nil {
			t.Fatalf("Pin(%d): %v", cpu, err)
		}
		now, _ := Allowed()
		cur := Current()
		unpin()
		if !slices.Equal(now, []int{cpu}) || cur != cpu {
			t.Errorf("pinned to %d: Allowed %v, Current %d", cpu, now, cur)
		}
		if after, _ := Allowed(); !slices.Equal(after, before) {
			t.Errorf("after unpin Allowed = %v; want %v", after, before)
		}
	}
	for _, cpu := range []int{-1, MaxCPU} {
		if _, err := Pin(cpu); err == nil {
			t.Errorf("Pin(%d) succeeded", cpu)
		}
	}
	// A CPU outside the machine: the kernel refuses, and the thread is
	// released unchanged.
	if _, err := Pin(MaxCPU - 1); err == nil {
		t.Errorf("Pin(%d) succeeded on this machine", MaxCPU-1)
	}
	if after, _ := Allowed(); !slices.Equal(after, before) {
		t.Errorf("after failed Pin Allowed = %v; want %v", after, before)
	}
}
