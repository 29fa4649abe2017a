package bench

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/rshm/rshm/affinity"
	"github.com/rshm/rshm/internal/testchild"
)

// The pair of CPUs the parent (cpuA) and the peer process (cpuB) pin to.
var cpuA, cpuB = -1, -1

func TestMain(m *testing.M) {
	roles := make(map[string]func(args []string) int, len(childRoles)+len(serverRoles))
	for role := range childRoles {
		roles[role] = func(args []string) int { return runChild(role, args) }
	}
	for role, fn := range serverRoles {
		roles[role] = fn
	}
	testchild.Main(roles)
	if allowed, err := affinity.Allowed(); err == nil {
		if topo, err := affinity.Topology(); err == nil {
			if a, b, err := affinity.BestPair(topo, allowed); err == nil {
				cpuA, cpuB = a, b
			}
		}
	}
	printMachine()
	os.Exit(m.Run())
}

// printMachine writes the context every result needs: benchmark output is
// meaningless without the CPU it ran on and how it was pinned.
func printMachine() {
	model := "unknown"
	if t, err := affinity.Topology(); err == nil {
		model = t.Model
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Printf("machine: cpu=%q ncpu=%d kernel=%s go=%s\n", model, runtime.NumCPU(),
		strings.TrimSpace(string(kernel)), runtime.Version())
	if cpuA >= 0 {
		fmt.Printf("pinning: every thread of this process on cpu %d, of the peer process on cpu %d, GOMAXPROCS=1 each\n", cpuA, cpuB)
	} else {
		fmt.Printf("pinning: none (fewer than two usable CPUs)\n")
	}
}

// pin restricts this whole process (the benchmark goroutine, the engine's
// goroutines, the runtime) to cpuA for the duration of b, as the peer
// process is restricted to cpuB: one CPU per side.
func pin(b *testing.B) {
	if cpuA < 0 {
		return
	}
	restore, err := affinity.PinProcess(cpuA)
	if err != nil {
		b.Logf("pin cpu %d: %v (running unpinned)", cpuA, err)
		return
	}
	// One CPU, one P: as if the process had been started under taskset,
	// where the runtime sizes GOMAXPROCS from the affinity mask.
	procs := runtime.GOMAXPROCS(1)
	b.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		restore()
	})
}
