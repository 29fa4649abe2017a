package affinity

import (
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPinProcess(t *testing.T) {
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	cpu := allowed[len(allowed)-1]
	// Start a few threads so there is more than one to pin.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			<-stop
			runtime.UnlockOSThread()
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	restore, err := PinProcess(cpu)
	if err != nil {
		t.Fatal(err)
	}
	tids, err := threads()
	if err != nil {
		t.Fatal(err)
	}
	for _, tid := range tids {
		var m unix.CPUSet
		if unix.SchedGetaffinity(tid, &m) != nil {
			continue
		}
		if m.Count() != 1 || !m.IsSet(cpu) {
			t.Errorf("thread %d: mask has %d CPUs, cpu %d set = %v; want only cpu %d", tid, m.Count(), cpu, m.IsSet(cpu), cpu)
		}
	}
	restore()
	got, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(allowed) {
		t.Errorf("after restore this thread may run on %v; want %v", got, allowed)
	}
	if _, err := PinProcess(); err == nil {
		t.Error("PinProcess() with no CPU succeeded")
	}
}
