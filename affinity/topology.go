package affinity

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// SysCPU is where Linux describes its CPUs.
const SysCPU = "/sys/devices/system/cpu"

// CPU is one logical CPU.
type CPU struct {
	ID       int
	Package  int   // physical_package_id
	Core     int   // core_id, unique only within a package
	Siblings []int // SMT siblings, this CPU included (thread_siblings_list)
	L3       int   // index into Topo.L3
	Isolated bool  // listed in isolated (isolcpus=)
	NoHZFull bool  // listed in nohz_full
}

// Topo describes the online CPUs of the machine.
type Topo struct {
	CPUs     []CPU   // online CPUs, by ascending ID
	L3       [][]int // CPUs sharing each last-level cache (the package when sysfs has no L3)
	Isolated []int
	NoHZFull []int

	Vendor     string   // from CPUID, e.g. "AMD"
	Model      string   // brand string
	Features   []string // CPUID feature names
	Hypervisor bool     // running under a hypervisor
}

// CPU returns the CPU with this id, or nil.
func (t *Topo) CPU(id int) *CPU {
	for i := range t.CPUs {
		if t.CPUs[i].ID == id {
			return &t.CPUs[i]
		}
	}
	return nil
}

// Topology reads the machine's CPU topology from /sys and CPUID.
func Topology() (*Topo, error) {
	t, err := Load(SysCPU)
	if err != nil {
		return nil, err
	}
	t.Vendor = cpuid.CPU.VendorString
	t.Model = cpuid.CPU.BrandName
	t.Features = cpuid.CPU.FeatureSet()
	t.Hypervisor = cpuid.CPU.VM() || cpuid.CPU.Supports(cpuid.HYPERVISOR)
	return t, nil
}

// Load reads the topology under root, a directory laid out like
// /sys/devices/system/cpu: online, isolated, nohz_full and
// cpuN/{topology,cache/index3}. Missing optional files leave their fields
// empty; it leaves the CPUID fields empty.
func Load(root string) (*Topo, error) {
	online, err := readList(filepath.Join(root, "online"))
	if err != nil {
		return nil, fmt.Errorf("affinity: topology: %w", err)
	}
	if len(online) == 0 {
		return nil, fmt.Errorf("affinity: topology: %w: no online CPUs", ErrList)
	}
	t := &Topo{}
	t.Isolated, _ = readList(filepath.Join(root, "isolated"))
	t.NoHZFull, _ = readList(filepath.Join(root, "nohz_full"))
	l3Index := map[string]int{}
	for _, id := range online {
		dir := filepath.Join(root, "cpu"+strconv.Itoa(id))
		c := CPU{ID: id, Isolated: contains(t.Isolated, id), NoHZFull: contains(t.NoHZFull, id)}
		if c.Package, err = readInt(filepath.Join(dir, "topology", "physical_package_id")); err != nil {
			return nil, fmt.Errorf("affinity: topology of cpu%d: %w", id, err)
		}
		if c.Core, err = readInt(filepath.Join(dir, "topology", "core_id")); err != nil {
			return nil, fmt.Errorf("affinity: topology of cpu%d: %w", id, err)
		}
		if c.Siblings, err = readList(filepath.Join(dir, "topology", "thread_siblings_list")); err != nil || len(c.Siblings) == 0 {
			c.Siblings = []int{id}
		}
		l3, err := readList(filepath.Join(dir, "cache", "index3", "shared_cpu_list"))
		key := "l3 " + FormatList(l3)
		if err != nil || len(l3) == 0 {
			key, l3 = "pkg "+strconv.Itoa(c.Package), nil
		}
		i, ok := l3Index[key]
		if !ok {
			i = len(t.L3)
			l3Index[key] = i
			t.L3 = append(t.L3, l3)
		}
		c.L3 = i
		t.CPUs = append(t.CPUs, c)
	}
	// Fill in package-wide groups from the online CPUs.
	for i, g := range t.L3 {
		if g != nil {
			continue
		}
		for _, c := range t.CPUs {
			if c.L3 == i {
				t.L3[i] = append(t.L3[i], c.ID)
			}
		}
	}
	return t, nil
}

func readList(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseList(string(b))
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, errors.New("bad number in " + path)
	}
	return n, nil
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
