package doctor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rshm/rshm/affinity"
)

func (e *env) schedSection(m *machine) Section {
	s := Section{Name: SectionScheduling}
	boot := bootParams(e.readProc("cmdline"), "isolcpus", "nohz_full", "rcu_nocbs")
	s.Items = append(s.Items, e.isolItem(m, boot), e.nohzItem(m, boot), e.governorItem(m), virtItem(m))
	return s
}

// bootParams returns the values of the named parameters on a kernel
// command line, "" for those absent.
func bootParams(cmdline string, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, f := range strings.Fields(cmdline) {
		if f == "--" {
			break // the rest is for init
		}
		k, v, _ := strings.Cut(f, "=")
		if slices.Contains(names, k) {
			out[k] = v
		}
	}
	return out
}

func (e *env) isolItem(m *machine, boot map[string]string) Item {
	it := Item{Name: "isolcpus"}
	var iso []int
	if m.topo != nil {
		iso = m.topo.Isolated
	}
	if len(iso) == 0 {
		it.Status, it.Value = Info, "none"
		it.Note = "isolated CPUs run only what is pinned to them: no other tasks, fewer timer ticks and interrupts"
		cpus := "2,3"
		if m.pairErr == nil {
			cpus = fmt.Sprintf("%d,%d", m.a, m.b)
		}
		it.Fix = fmt.Sprintf("boot with isolcpus=%s nohz_full=%s rcu_nocbs=%s, then pin the client and server there with taskset", cpus, cpus, cpus)
		return it
	}
	it.Value = affinity.FormatList(iso)
	if v := boot["isolcpus"]; v != "" {
		it.Value += " (isolcpus=" + v + ")"
	}
	if m.pairErr == nil && slices.Contains(iso, m.a) && slices.Contains(iso, m.b) {
		it.Status = OK
		it.Note = fmt.Sprintf("the best pair %d,%d is isolated", m.a, m.b)
		return it
	}
	// The kernel leaves isolated CPUs out of the default CPU mask, so a
	// process runs there only when pinned there.
	it.Status = Warn
	outside := slices.DeleteFunc(slices.Clone(iso), func(c int) bool { return slices.Contains(m.allowed, c) })
	if len(outside) > 0 {
		it.Note = fmt.Sprintf("isolated CPUs %s are outside this process's CPU mask, so the best pair does not use them", affinity.FormatList(outside))
	} else {
		it.Note = "the best pair is not on the isolated CPUs"
	}
	if a, b, err := affinity.BestPair(m.topo, iso); err == nil {
		it.Fix = pinCommand(a, b)
	} else {
		it.Fix = "isolate at least two CPUs that share an L3 (isolcpus=A,B nohz_full=A,B)"
	}
	return it
}

func (e *env) nohzItem(m *machine, boot map[string]string) Item {
	it := Item{Name: "nohz_full"}
	var nohz []int
	if m.topo != nil {
		nohz = m.topo.NoHZFull
	}
	if len(nohz) == 0 {
		it.Status, it.Value = Info, "none"
		it.Note = "with nohz_full a CPU running one task takes no scheduler tick (a few µs every 1-4 ms)"
		it.Fix = "boot with nohz_full= on the isolated CPUs (see isolcpus)"
		return it
	}
	it.Value = affinity.FormatList(nohz)
	if m.pairErr == nil && slices.Contains(nohz, m.a) && slices.Contains(nohz, m.b) {
		it.Status = OK
		it.Note = fmt.Sprintf("the best pair %d,%d is tickless", m.a, m.b)
		return it
	}
	it.Status = Info
	it.Note = "the best pair is not among them"
	if a, b, err := affinity.BestPair(m.topo, nohz); err == nil {
		it.Fix = pinCommand(a, b)
	}
	return it
}

func (e *env) governorItem(m *machine) Item {
	it := Item{Name: "governor"}
	var cpus []int
	if m.topo != nil {
		cpus = cpuIDs(m.topo)
	} else if l, err := affinity.ParseList(e.readSys("devices/system/cpu/online")); err == nil {
		cpus = l
	}
	byGov := map[string][]int{}
	var govs []string
	for _, c := range cpus {
		g := strings.TrimSpace(e.readSys("devices/system/cpu/cpu" + strconv.Itoa(c) + "/cpufreq/scaling_governor"))
		if g == "" {
			continue
		}
		if byGov[g] == nil {
			govs = append(govs, g)
		}
		byGov[g] = append(byGov[g], c)
	}
	if len(govs) == 0 {
		it.Status = Info
		if m.hypervisor != "" {
			it.Value = "no cpufreq (normal in a VM: the host sets the clock)"
			it.Note = "ask the host for a performance power profile if wake-up latency matters"
		} else {
			it.Value = "no cpufreq driver"
			it.Note = "the firmware controls the clock; check the BIOS power profile (performance, C-states)"
		}
		return it
	}
	slices.Sort(govs)
	parts := make([]string, len(govs))
	slow := false
	for i, g := range govs {
		parts[i] = g + " on " + affinity.FormatList(byGov[g])
		if g != "performance" {
			for _, c := range byGov[g] {
				if m.allowed == nil || slices.Contains(m.allowed, c) {
					slow = true
				}
			}
		}
	}
	it.Value = strings.Join(parts, "; ")
	if !slow {
		it.Status = OK
		return it
	}
	it.Status = Warn
	it.Note = "a CPU that idles between messages drops its clock and ramps up only after the next burst has begun"
	it.Fix = "sudo cpupower frequency-set -g performance\n" +
		"or: echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
	return it
}

func virtItem(m *machine) Item {
	it := Item{Name: "virtualization"}
	if m.hypervisor == "" {
		it.Status, it.Value = OK, "bare metal (no hypervisor flag)"
		return it
	}
	it.Status = Warn
	it.Value = "virtual machine (hypervisor: " + m.hypervisor + ")"
	it.Note = "a futex wake-up costs 10-50 µs here (an IPI exits to the host, and the woken vCPU may be descheduled) against a few µs on bare metal"
	it.Fix = "wait by spinning, not parking: rshm.Handshake{Wait: rshm.WaitSpin, PinCPU: true} on dedicated CPUs,\n" +
		"or rshm.WaitBackoff where a core cannot be spared; ask the host for pinned vCPUs"
	return it
}
