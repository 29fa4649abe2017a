package doctor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/cpuid/v2"
	"github.com/rshm/rshm/affinity"
	"github.com/rshm/rshm/numa"
	"github.com/rshm/rshm/shm"
)

// Default roots, used where a Config field is empty.
const (
	DefaultSysRoot  = "/sys"
	DefaultProcRoot = "/proc"
)

// Config says where Run reads the machine. The zero value reads this
// machine: /sys, /proc and /dev/shm, this thread's CPU mask, and nothing is
// removed.
type Config struct {
	// SysRoot is the directory read as /sys. Empty means DefaultSysRoot.
	// When it is set, CPUID is not consulted: the vendor, model and
	// hypervisor flag come from ProcRoot's cpuinfo alone, so a fake tree
	// describes the whole machine.
	SysRoot string
	// ProcRoot is the directory read as /proc (cpuinfo, meminfo, mounts,
	// self/status). Empty means DefaultProcRoot.
	ProcRoot string
	// ShmDir is where regions live. Empty means shm.DefaultDir.
	ShmDir string
	// Allowed is the set of CPUs the client and server may run on. Nil
	// means the CPUs this thread may use (affinity.Allowed).
	Allowed []int
	// Clean removes the stale regions in ShmDir (shm.RemoveStale) and lists
	// them in Report.Removed.
	Clean bool
}

// env is one run's view of the machine.
type env struct {
	sys, proc, shmDir string
	cpuid             bool // consult CPUID: the /sys read is the real one
	clean             bool
}

// machine holds what several sections need.
type machine struct {
	topo    *affinity.Topo // nil when unreadable
	topoErr error
	info    cpuInfo

	hypervisor string // "" on bare metal, else a name or "yes"

	allowed    []int
	allowedErr error

	a, b    int // the best pair, server then client; -1 when none
	pairErr error

	nodes    []numa.Node
	nodesErr error
}

// Run reads the machine described by cfg and returns what it found. It fails
// only when SysRoot or ProcRoot is not a readable directory; every other
// problem is an item of the report.
func Run(cfg Config) (*Report, error) {
	e := &env{
		sys:    cfg.SysRoot,
		proc:   cfg.ProcRoot,
		shmDir: cfg.ShmDir,
		cpuid:  cfg.SysRoot == "",
		clean:  cfg.Clean,
	}
	if e.sys == "" {
		e.sys = DefaultSysRoot
	}
	if e.proc == "" {
		e.proc = DefaultProcRoot
	}
	if e.shmDir == "" {
		e.shmDir = shm.DefaultDir
	}
	for _, root := range []string{e.sys, e.proc} {
		if _, err := os.ReadDir(root); err != nil {
			return nil, fmt.Errorf("doctor: %w", err)
		}
	}
	m := e.machine(cfg.Allowed)
	r := &Report{}
	r.add(e.cpuSection(m))
	r.add(e.schedSection(m))
	r.add(e.memorySection())
	r.add(e.numaSection(m))
	r.add(e.staleSection(r))
	return r, nil
}

func (e *env) machine(allowed []int) *machine {
	m := &machine{a: -1, b: -1}
	m.topo, m.topoErr = affinity.Load(e.sysPath("devices/system/cpu"))
	m.info = parseCPUInfo(e.readProc("cpuinfo"))
	if e.cpuid && cpuid.CPU.VendorString != "" {
		m.info.vendor = cpuid.CPU.VendorString
		if cpuid.CPU.BrandName != "" {
			m.info.model = cpuid.CPU.BrandName
		}
		if cpuid.CPU.VM() || cpuid.CPU.Supports(cpuid.HYPERVISOR) {
			m.info.hypervisor = true
			m.hypervisor = strings.TrimSpace(cpuid.CPU.HypervisorVendorString)
		}
	}
	if m.topo != nil {
		m.topo.Vendor, m.topo.Model, m.topo.Hypervisor = m.info.vendor, m.info.model, m.info.hypervisor
	}
	if t := strings.TrimSpace(e.readSys("hypervisor/type")); t != "" {
		m.hypervisor = t
	}
	if m.info.hypervisor && m.hypervisor == "" {
		m.hypervisor = "yes"
	}

	if allowed != nil {
		m.allowed = allowed
	} else {
		m.allowed, m.allowedErr = affinity.Allowed()
	}
	if m.topo != nil && m.allowedErr == nil {
		m.a, m.b, m.pairErr = affinity.BestPair(m.topo, m.allowed)
	} else {
		m.pairErr = fmt.Errorf("doctor: no topology")
	}
	m.nodes, m.nodesErr = numa.Load(e.sysPath("devices/system/node"))
	return m
}

func (e *env) sysPath(rel string) string  { return filepath.Join(e.sys, rel) }
func (e *env) procPath(rel string) string { return filepath.Join(e.proc, rel) }

// readSys returns the contents of a file under SysRoot, "" when unreadable.
func (e *env) readSys(rel string) string { return readFile(e.sysPath(rel)) }

// readProc returns the contents of a file under ProcRoot, "" when unreadable.
func (e *env) readProc(rel string) string { return readFile(e.procPath(rel)) }

// maxRead bounds what is read of any one file: the files are small, and a
// fake or odd tree must not make the doctor read gigabytes.
const maxRead = 1 << 20

func readFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxRead))
	return string(b)
}

// exists reports whether path can be stat'ed.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
