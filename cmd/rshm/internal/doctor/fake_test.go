package doctor

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fake is a made-up machine: a /sys and /proc tree and an shm directory,
// all under t.TempDir().
type fake struct {
	t              *testing.T
	sys, proc, shm string
	allowed        []int
}

// newFake writes a bare-metal machine with four CPUs on four cores of one
// package sharing one L3, one NUMA node, no SMT, no cpufreq, THP madvise,
// tmpfs shm without huge=, no hugetlb pages and no capabilities.
func newFake(t *testing.T) *fake {
	root := t.TempDir()
	f := &fake{t: t, sys: filepath.Join(root, "sys"), proc: filepath.Join(root, "proc"), shm: filepath.Join(root, "shm"),
		allowed: []int{0, 1, 2, 3}}
	if err := os.MkdirAll(f.shm, 0o700); err != nil {
		t.Fatal(err)
	}
	f.cpus(4, func(id int) (pkg, core int, siblings, l3 string) { return 0, id, strconv.Itoa(id), "0-3" })
	f.sysFile("devices/system/cpu/smt/active", "0\n")
	f.sysFile("devices/system/cpu/smt/control", "off\n")
	f.sysFile("devices/system/node/node0/cpulist", "0-3\n")
	f.sysFile("devices/system/node/node0/meminfo", "Node 0 MemTotal:       16777216 kB\nNode 0 MemFree:        8388608 kB\n")
	f.sysFile("kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n")
	f.sysFile("kernel/mm/transparent_hugepage/shmem_enabled", "always within_size advise [never] deny force\n")
	f.cpuinfo(false)
	f.mounts("")
	f.procFile("meminfo", "MemTotal:       16384000 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n")
	f.procFile("self/status", "Name:\tdoctor\nCapEff:\t0000000000000000\n")
	f.procFile("cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n")
	return f
}

func (f *fake) write(path, content string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fake) sysFile(rel, content string)  { f.write(filepath.Join(f.sys, rel), content) }
func (f *fake) procFile(rel, content string) { f.write(filepath.Join(f.proc, rel), content) }

// cpus writes n online CPUs described by desc.
func (f *fake) cpus(n int, desc func(id int) (pkg, core int, siblings, l3 string)) {
	f.sysFile("devices/system/cpu/online", "0-"+strconv.Itoa(n-1)+"\n")
	for id := range n {
		pkg, core, sib, l3 := desc(id)
		dir := "devices/system/cpu/cpu" + strconv.Itoa(id) + "/"
		f.sysFile(dir+"topology/physical_package_id", strconv.Itoa(pkg)+"\n")
		f.sysFile(dir+"topology/core_id", strconv.Itoa(core)+"\n")
		f.sysFile(dir+"topology/thread_siblings_list", sib+"\n")
		f.sysFile(dir+"cache/index3/shared_cpu_list", l3+"\n")
	}
}

func (f *fake) cpuinfo(vm bool) {
	flags := "fpu vme de pse tsc msr"
	if vm {
		flags += " hypervisor"
	}
	var b strings.Builder
	for id := range 4 {
		b.WriteString("processor\t: " + strconv.Itoa(id) + "\nvendor_id\t: GenuineIntel\nmodel name\t: Fake Xeon 9999 @ 3.00GHz\nflags\t\t: " + flags + "\n\n")
	}
	f.procFile("cpuinfo", b.String())
}

// mounts lists the shm dir as a tmpfs with extra options.
func (f *fake) mounts(opts string) {
	o := "rw,nosuid,nodev,size=1048576k"
	if opts != "" {
		o += "," + opts
	}
	f.procFile("mounts", "/dev/sda1 / ext4 rw,relatime 0 0\ntmpfs "+resolved(f.shm)+" tmpfs "+o+" 0 0\n")
}

func (f *fake) run() *Report {
	f.t.Helper()
	r, err := Run(Config{SysRoot: f.sys, ProcRoot: f.proc, ShmDir: f.shm, Allowed: f.allowed})
	if err != nil {
		f.t.Fatalf("Run: %v", err)
	}
	return r
}

// check asserts an item's status and that its value, note and fix contain
// each of want.
func check(t *testing.T, r *Report, section, name string, status Status, want ...string) Item {
	t.Helper()
	it, ok := r.Item(section, name)
	if !ok {
		t.Fatalf("no item %s/%s", section, name)
	}
	if it.Status != status {
		t.Errorf("%s/%s status %v; want %v (%+v)", section, name, it.Status, status, it)
	}
	all := it.Value + "\n" + it.Note + "\n" + it.Fix
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s/%s = %+v; want it to mention %q", section, name, it, w)
		}
	}
	return it
}

func TestFakeBareMetal(t *testing.T) {
	f := newFake(t)
	for id := range 4 {
		gov := "performance"
		if id == 3 {
			gov = "powersave"
		}
		f.sysFile("devices/system/cpu/cpu"+strconv.Itoa(id)+"/cpufreq/scaling_governor", gov+"\n")
	}
	r := f.run()
	check(t, r, SectionCPU, "model", Info, "Fake Xeon 9999")
	check(t, r, SectionCPU, "vendor", Info, "GenuineIntel")
	check(t, r, SectionCPU, "topology", Info, "1 socket, 4 cores, 4 threads")
	check(t, r, SectionCPU, "smt", OK, "off")
	check(t, r, SectionCPU, "allowed", OK, "0-3 (4 of 4 online)")
	check(t, r, SectionCPU, "best pair", OK, "server CPU 1, client CPU 2", "taskset -c 1 rshm serve", "taskset -c 2 rshm request")
	check(t, r, SectionScheduling, "governor", Warn, "performance on 0-2", "powersave on 3", "cpupower frequency-set -g performance")
	check(t, r, SectionScheduling, "virtualization", OK, "bare metal")
	check(t, r, SectionScheduling, "isolcpus", Info, "none", "isolcpus=1,2 nohz_full=1,2")
	check(t, r, SectionNUMA, "nodes", OK, "node0: CPUs 0-3, 16 GiB (8 GiB free)")
	check(t, r, SectionNUMA, "pair node", OK, "node 0")
	check(t, r, SectionMemory, "shm mount", OK, "tmpfs", "size=1048576k")
	check(t, r, SectionMemory, "hugetlb", Info, "0 reserved, 0 free, 2 MiB pages")
	check(t, r, SectionStale, "stale", OK, "none")
	if r.Warnings != 1 {
		t.Errorf("Warnings = %d; want 1 (the governor)", r.Warnings)
	}

	// All CPUs on performance: no warning left.
	f.sysFile("devices/system/cpu/cpu3/cpufreq/scaling_governor", "performance\n")
	r = f.run()
	check(t, r, SectionScheduling, "governor", OK, "performance on 0-3")
	if r.Warnings != 0 {
		t.Errorf("Warnings = %d; want 0", r.Warnings)
	}
}

func TestFakeVMWithoutCpufreq(t *testing.T) {
	f := newFake(t)
	f.cpuinfo(true)
	r := f.run()
	check(t, r, SectionScheduling, "virtualization", Warn, "virtual machine", "10-50 µs", "WaitSpin", "WaitBackoff")
	check(t, r, SectionScheduling, "governor", Info, "no cpufreq", "VM")
}

func TestFakeBareMetalWithoutCpufreq(t *testing.T) {
	r := newFake(t).run()
	it := check(t, r, SectionScheduling, "governor", Info, "no cpufreq driver")
	if strings.Contains(it.Value, "VM") {
		t.Errorf("bare metal governor item mentions a VM: %+v", it)
	}
}

func TestFakeIsolated(t *testing.T) {
	f := newFake(t)
	f.sysFile("devices/system/cpu/isolated", "2-3\n")
	f.sysFile("devices/system/cpu/nohz_full", "2-3\n")
	f.procFile("cmdline", "ro isolcpus=2,3 nohz_full=2,3 -- isolcpus=9\n")

	r := f.run()
	check(t, r, SectionCPU, "best pair", OK, "server CPU 2, client CPU 3")
	check(t, r, SectionScheduling, "isolcpus", OK, "2-3 (isolcpus=2,3)", "best pair 2,3 is isolated")
	check(t, r, SectionScheduling, "nohz_full", OK, "2-3", "tickless")

	// The kernel leaves isolated CPUs out of the default mask: a process
	// that is not pinned there sees only 0-1.
	f.allowed = []int{0, 1}
	r = f.run()
	check(t, r, SectionCPU, "allowed", Info, "0-1 (2 of 4 online)")
	check(t, r, SectionCPU, "best pair", OK, "server CPU 0, client CPU 1")
	check(t, r, SectionScheduling, "isolcpus", Warn, "outside this process's CPU mask", "taskset -c 2 rshm serve", "taskset -c 3 rshm request")
	check(t, r, SectionScheduling, "nohz_full", Info, "not among them", "taskset -c 2")
}

func TestFakeTHP(t *testing.T) {
	tests := []struct {
		enabled, shmem, mountOpt string
		thp, huge                Status
		thpWant, hugeWant        string
	}{
		{"always madvise [never]", "always within_size advise [never] deny force", "", Info, Info, "never", "mounted without huge="},
		{"[always] madvise never", "always within_size advise [never] deny force", "huge=within_size", OK, OK, "always", "huge=within_size"},
		{"[always] madvise never", "always within_size advise never [deny] force", "huge=always", OK, Info, "always", "shmem_enabled is deny"},
		{"always madvise [never]", "always within_size advise never deny [force]", "", Info, OK, "never", "shmem_enabled is force"},
		{"always [madvise] never", "always within_size advise [never] deny force", "huge=never", OK, Info, "madvise", "huge=never"},
	}
	for i, tt := range tests {
		f := newFake(t)
		f.sysFile("kernel/mm/transparent_hugepage/enabled", tt.enabled+"\n")
		f.sysFile("kernel/mm/transparent_hugepage/shmem_enabled", tt.shmem+"\n")
		f.mounts(tt.mountOpt)
		r := f.run()
		t.Logf("case %d", i)
		check(t, r, SectionMemory, "thp", tt.thp, tt.thpWant)
		check(t, r, SectionMemory, "shm huge pages", tt.huge, tt.hugeWant)
	}
}

func TestFakeNoTHP(t *testing.T) {
	f := newFake(t)
	os.RemoveAll(filepath.Join(f.sys, "kernel"))
	r := f.run()
	check(t, r, SectionMemory, "thp", Info, "no transparent huge pages")
	check(t, r, SectionMemory, "shm huge pages", Info, "no shmem_enabled")
}

func TestFakeShmNotTmpfs(t *testing.T) {
	f := newFake(t)
	f.procFile("mounts", "/dev/sda1 / ext4 rw,relatime 0 0\n")
	r := f.run()
	check(t, r, SectionMemory, "shm mount", Warn, "ext4", "not tmpfs", "/dev/shm")
	check(t, r, SectionMemory, "shm huge pages", Info, "not a tmpfs")
}

func TestFakeHugetlbAndCapabilities(t *testing.T) {
	f := newFake(t)
	f.procFile("meminfo", "HugePages_Total:      16\nHugePages_Free:       10\nHugepagesize:    1048576 kB\n")
	f.procFile("self/status", "CapEff:\t0000000000004000\n")
	r := f.run()
	check(t, r, SectionMemory, "hugetlb", Info, "16 reserved, 10 free, 1 GiB pages", "16 GiB are unused")
	check(t, r, SectionMemory, "memlock", OK, "CAP_IPC_LOCK")
}

func TestFakeSMTSiblingsOnly(t *testing.T) {
	f := newFake(t)
	// Two cores of two threads each: CPUs 0,2 and 1,3 are siblings.
	f.cpus(4, func(id int) (int, int, string, string) {
		return 0, id % 2, []string{"0,2", "1,3"}[id%2], "0-3"
	})
	f.sysFile("devices/system/cpu/smt/active", "1\n")
	f.sysFile("devices/system/cpu/smt/control", "on\n")
	r := f.run()
	check(t, r, SectionCPU, "topology", Info, "2 cores, 4 threads")
	check(t, r, SectionCPU, "best pair", OK, "separate cores")
	check(t, r, SectionCPU, "smt", Info, "on", "separate cores", "smt/control")

	// Only two sibling threads allowed.
	f.allowed = []int{1, 3}
	r = f.run()
	check(t, r, SectionCPU, "smt", Warn, "two threads of one core")
	check(t, r, SectionCPU, "best pair", Warn, "SMT siblings")
}

func TestFakeTwoNodes(t *testing.T) {
	f := newFake(t)
	f.cpus(4, func(id int) (int, int, string, string) {
		return id / 2, id % 2, strconv.Itoa(id), []string{"0-1", "2-3"}[id/2]
	})
	f.sysFile("devices/system/node/node0/cpulist", "0-1\n")
	f.sysFile("devices/system/node/node1/cpulist", "2-3\n")
	r := f.run()
	check(t, r, SectionCPU, "topology", Info, "2 sockets")
	check(t, r, SectionCPU, "l3", Info, "2 groups: 0-1 | 2-3")
	check(t, r, SectionNUMA, "nodes", Info, "2 nodes")
	check(t, r, SectionNUMA, "pair node", OK, "node 1 (server CPU 2, client CPU 3)", "NUMANode: 1", "--membind=1")

	f.allowed = []int{1, 2}
	r = f.run()
	check(t, r, SectionCPU, "best pair", Warn, "different L3 groups")
	check(t, r, SectionNUMA, "pair node", Warn, "split", "node 0", "node 1")
}

func TestFakeOneCPU(t *testing.T) {
	f := newFake(t)
	f.allowed = []int{2}
	r := f.run()
	check(t, r, SectionCPU, "allowed", Warn, "1 of 4", "taskset -c 1-2")
	check(t, r, SectionCPU, "best pair", Warn, "none")
	check(t, r, SectionNUMA, "pair node", Info, "no best pair")
}

func TestFakeBrokenTree(t *testing.T) {
	f := newFake(t)
	os.RemoveAll(filepath.Join(f.sys, "devices"))
	os.Remove(filepath.Join(f.proc, "meminfo"))
	r := f.run()
	check(t, r, SectionCPU, "topology", Warn, "unreadable")
	check(t, r, SectionNUMA, "nodes", Info, "no NUMA information")
	check(t, r, SectionMemory, "hugetlb", Info, "no HugePages")
	for _, s := range []string{SectionCPU, SectionScheduling, SectionMemory, SectionNUMA, SectionStale} {
		found := false
		for _, sec := range r.Sections {
			found = found || sec.Name == s
		}
		if !found {
			t.Errorf("section %s missing from a broken tree's report", s)
		}
	}
}

func TestRunMissingRoot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := Run(Config{SysRoot: missing}); err == nil {
		t.Error("Run with a missing SysRoot succeeded")
	}
	if _, err := Run(Config{ProcRoot: missing}); err == nil {
		t.Error("Run with a missing ProcRoot succeeded")
	}
}

// resolved is f.shm as the kernel lists it in /proc/mounts: symlinks
// resolved (t.TempDir may sit under a symlink).
func resolved(dir string) string {
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		return d
	}
	return dir
}
