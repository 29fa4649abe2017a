package affinity

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// fakeCPU describes one CPU of a fake /sys tree; l3 "" means no index3.
type fakeCPU struct {
	pkg, core int
	siblings  string
	l3        string
}

// fakeSys writes a directory shaped like /sys/devices/system/cpu.
func fakeSys(t *testing.T, online, isolated, nohz string, cpus map[int]fakeCPU) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("online", online)
	write("isolated", isolated)
	if nohz != "-" {
		write("nohz_full", nohz)
	}
	for id, c := range cpus {
		d := "cpu" + strconv.Itoa(id)
		write(d+"/topology/physical_package_id", strconv.Itoa(c.pkg))
		write(d+"/topology/core_id", strconv.Itoa(c.core))
		write(d+"/topology/thread_siblings_list", c.siblings)
		if c.l3 != "" {
			write(d+"/cache/index3/shared_cpu_list", c.l3)
		}
	}
	return root
}

// twoSocketSMT: 2 packages x 2 cores x 2 threads; CPU n and n+4 are
// siblings; each package has one L3.
func twoSocketSMT(t *testing.T, isolated string) string {
	cpus := map[int]fakeCPU{}
	for id := 0; id < 8; id++ {
		core := id % 4
		pkg := core / 2
		l3 := []string{"0-1,4-5", "2-3,6-7"}[pkg]
		cpus[id] = fakeCPU{pkg: pkg, core: core % 2, siblings: FormatList([]int{core, core + 4}), l3: l3}
	}
	return fakeSys(t, "0-7", isolated, "-", cpus)
}

func TestLoad(t *testing.T) {
	topo, err := Load(twoSocketSMT(t, "5"))
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.CPUs) != 8 {
		t.Fatalf("%d CPUs; want 8", len(topo.CPUs))
	}
	if want := [][]int{{0, 1, 4, 5}, {2, 3, 6, 7}}; !slices.EqualFunc(topo.L3, want, slices.Equal[[]int]) {
		t.Errorf("L3 = %v; want %v", topo.L3, want)
	}
	c := topo.CPU(6)
	if c == nil || c.Package != 1 || c.Core != 0 || !slices.Equal(c.Siblings, []int{2, 6}) || c.L3 != 1 || c.Isolated {
		t.Errorf("cpu6 = %+v", c)
	}
	if c := topo.CPU(5); c == nil || !c.Isolated || !slices.Equal(topo.Isolated, []int{5}) {
		t.Errorf("cpu5 = %+v, isolated %v; want cpu5 isolated", c, topo.Isolated)
	}
	if topo.CPU(9) != nil {
		t.Error("CPU(9) found")
	}
}

func TestLoadNoL3(t *testing.T) {
	// No cache/index3 (some VMs and ARM boards): group by package. CPU 3
	// is offline and must not appear.
	root := fakeSys(t, "0-2", "", "1", map[int]fakeCPU{
		0: {pkg: 0, core: 0, siblings: "0"},
		1: {pkg: 0, core: 1, siblings: "1"},
		2: {pkg: 1, core: 0, siblings: "2"},
		3: {pkg: 1, core: 1, siblings: "3"},
	})
	topo, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]int{{0, 1}, {2}}; !slices.EqualFunc(topo.L3, want, slices.Equal[[]int]) {
		t.Errorf("L3 = %v; want %v", topo.L3, want)
	}
	if c := topo.CPU(1); c == nil || !c.NoHZFull || !slices.Equal(topo.NoHZFull, []int{1}) {
		t.Errorf("cpu1 = %+v; want nohz_full", c)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load(empty dir) succeeded")
	}
	root := fakeSys(t, "0-1", "", "-", map[int]fakeCPU{0: {siblings: "0"}})
	if _, err := Load(root); err == nil {
		t.Error("Load with cpu1 missing succeeded")
	}
}

func TestTopologyReal(t *testing.T) {
	if _, err := os.Stat(SysCPU + "/online"); err != nil {
		t.Skip("no sysfs")
	}
	topo, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range allowed {
		if topo.CPU(c) == nil {
			t.Errorf("allowed cpu %d not in topology", c)
		}
	}
	if topo.Vendor == "" || len(topo.Features) == 0 {
		t.Errorf("CPUID fields empty: vendor %q, %d features", topo.Vendor, len(topo.Features))
	}
	t.Logf("%s %q hypervisor=%v, %d CPUs, L3 %v, isolated %v", topo.Vendor, topo.Model, topo.Hypervisor, len(topo.CPUs), topo.L3, topo.Isolated)
	if len(allowed) >= 2 {
		a, b, err := BestPair(topo, allowed)
		t.Logf("BestPair = %d, %d, %v", a, b, err)
		if err != nil || a == b {
			t.Errorf("BestPair = %d, %d, %v", a, b, err)
		}
	}
}
