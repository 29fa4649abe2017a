package doctor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rshm/rshm/affinity"
)

// cpuInfo is what /proc/cpuinfo says of the first CPU.
type cpuInfo struct {
	vendor     string // vendor_id
	model      string // model name
	hypervisor bool   // "hypervisor" among the flags of any CPU
}

// parseCPUInfo reads the "key : value" lines of /proc/cpuinfo. Vendor and
// model come from the first CPU that has them; unknown lines are ignored.
func parseCPUInfo(s string) cpuInfo {
	var ci cpuInfo
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "vendor_id":
			if ci.vendor == "" {
				ci.vendor = v
			}
		case "model name":
			if ci.model == "" {
				ci.model = v
			}
		case "flags":
			if !ci.hypervisor && slices.Contains(strings.Fields(v), "hypervisor") {
				ci.hypervisor = true
			}
		}
	}
	return ci
}

// Example commands in fixes use this address.
const exampleAddr = "127.0.0.1:7878"

func (e *env) cpuSection(m *machine) Section {
	s := Section{Name: SectionCPU}
	model, vendor := m.info.model, m.info.vendor
	if model == "" {
		model = "unknown"
	}
	if vendor == "" {
		vendor = "unknown"
	}
	s.Items = append(s.Items,
		Item{Name: "model", Status: Info, Value: model},
		Item{Name: "vendor", Status: Info, Value: vendor})
	t := m.topo
	if t == nil {
		s.Items = append(s.Items, Item{Name: "topology", Status: Warn, Value: "unreadable: " + m.topoErr.Error(),
			Note: "without the topology the best CPU pair cannot be chosen"})
		return s
	}
	s.Items = append(s.Items, Item{Name: "topology", Status: Info, Value: topoSummary(t)})
	s.Items = append(s.Items, e.smtItem(m))
	s.Items = append(s.Items, l3Item(t))
	s.Items = append(s.Items, allowedItem(m))
	s.Items = append(s.Items, pairItem(m))
	return s
}

// topoSummary counts packages, cores and threads of the online CPUs.
func topoSummary(t *affinity.Topo) string {
	pkgs := map[int]bool{}
	cores := map[[2]int]bool{}
	for _, c := range t.CPUs {
		pkgs[c.Package] = true
		cores[[2]int{c.Package, c.Core}] = true
	}
	return fmt.Sprintf("%s, %s, %s (online: %s)",
		plural(len(pkgs), "socket"), plural(len(cores), "core"), plural(len(t.CPUs), "thread"), affinity.FormatList(cpuIDs(t)))
}

func cpuIDs(t *affinity.Topo) []int {
	ids := make([]int, len(t.CPUs))
	for i, c := range t.CPUs {
		ids[i] = c.ID
	}
	return ids
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

const smtOff = "echo off | sudo tee /sys/devices/system/cpu/smt/control   (or boot with nosmt)"

func (e *env) smtItem(m *machine) Item {
	it := Item{Name: "smt"}
	active := strings.TrimSpace(e.readSys("devices/system/cpu/smt/active"))
	control := strings.TrimSpace(e.readSys("devices/system/cpu/smt/control"))
	on := false
	switch active {
	case "1":
		on, it.Value = true, "on"
	case "0":
		it.Status, it.Value = OK, "off"
		switch control {
		case "forceoff":
			it.Value += " (forced off)"
		case "notsupported", "notimplemented":
			it.Value += " (the CPU has none)"
		}
		if m.hypervisor != "" {
			it.Note = "in a VM the host may still run two vCPUs on the threads of one physical core"
		}
		return it
	default:
		for _, c := range m.topo.CPUs {
			if len(c.Siblings) > 1 {
				on = true
			}
		}
		if !on {
			it.Status, it.Value = Info, "unknown (no smt/active); no CPU lists an SMT sibling"
			return it
		}
		it.Value = "on (from thread_siblings_list)"
	}
	if m.pairErr != nil {
		it.Status, it.Fix = Info, smtOff
		return it
	}
	ca, cb := m.topo.CPU(m.a), m.topo.CPU(m.b)
	if ca != nil && slices.Contains(ca.Siblings, m.b) {
		it.Status = Warn
		it.Note = fmt.Sprintf("the best allowed pair, CPUs %d and %d, are two threads of one core: they share its execution units", m.a, m.b)
		it.Fix = "allow CPUs on two cores (taskset -c) or turn SMT off: " + smtOff
		return it
	}
	var sib []int
	for _, c := range []*affinity.CPU{ca, cb} {
		if c == nil {
			continue
		}
		for _, s := range c.Siblings {
			if s != m.a && s != m.b {
				sib = append(sib, s)
			}
		}
	}
	it.Status = Info
	it.Note = fmt.Sprintf("the best pair %d,%d uses separate cores", m.a, m.b)
	if len(sib) > 0 {
		slices.Sort(sib)
		it.Note += fmt.Sprintf("; work on their sibling threads (%s) slows them", affinity.FormatList(sib))
	}
	it.Fix = smtOff
	return it
}

func l3Item(t *affinity.Topo) Item {
	groups := make([]string, len(t.L3))
	for i, g := range t.L3 {
		groups[i] = affinity.FormatList(g)
	}
	it := Item{Name: "l3", Status: Info, Value: plural(len(t.L3), "group") + ": " + strings.Join(groups, " | ")}
	if len(t.L3) > 1 {
		it.Note = "a client and server in one group exchange cache lines without leaving the L3; across groups each message crosses the fabric"
	}
	return it
}

func allowedItem(m *machine) Item {
	it := Item{Name: "allowed"}
	if m.allowedErr != nil {
		it.Status, it.Value = Warn, "unknown: "+m.allowedErr.Error()
		return it
	}
	online := cpuIDs(m.topo)
	it.Value = fmt.Sprintf("%s (%d of %d online)", affinity.FormatList(m.allowed), len(m.allowed), len(online))
	switch {
	case len(m.allowed) < 2:
		it.Status = Warn
		it.Note = "a client and a server on one CPU take turns: every message waits for a context switch"
		want := firstN(online, 2)
		if a, b, err := affinity.BestPair(m.topo, online); err == nil {
			want = []int{a, b}
		}
		it.Fix = "run with at least two CPUs: taskset -c " + affinity.FormatList(want) + " CMD (or widen the cpuset)"
	case len(m.allowed) < len(online):
		it.Status = Info
		it.Note = "restricted by taskset or a cpuset: the best pair is chosen among these"
	default:
		it.Status = OK
	}
	return it
}

func firstN(list []int, n int) []int { return list[:min(n, len(list))] }

func pairItem(m *machine) Item {
	it := Item{Name: "best pair"}
	if m.pairErr != nil {
		it.Status, it.Value = Warn, "none: "+m.pairErr.Error()
		return it
	}
	ca, cb := m.topo.CPU(m.a), m.topo.CPU(m.b)
	shareL3 := ca != nil && cb != nil && ca.L3 == cb.L3
	siblings := ca != nil && slices.Contains(ca.Siblings, m.b)
	var how []string
	if shareL3 {
		how = append(how, "share an L3")
	} else {
		how = append(how, "different L3 groups")
	}
	if siblings {
		how = append(how, "SMT siblings of one core")
	} else {
		how = append(how, "separate cores")
	}
	it.Value = fmt.Sprintf("server CPU %d, client CPU %d: %s", m.a, m.b, strings.Join(how, ", "))
	it.Status = OK
	switch {
	case !shareL3:
		it.Status = Warn
		it.Note = "no two allowed CPUs share an L3: each message crosses the fabric"
	case siblings:
		it.Status = Warn
		it.Note = "no two allowed CPUs on separate cores share an L3"
	case m.a == 0 || m.b == 0:
		it.Note = "CPU 0 takes most interrupts and housekeeping; with more CPUs allowed the pair would avoid it"
	}
	it.Fix = pinCommand(m.a, m.b)
	return it
}

// pinCommand is how to run a server and a client on CPUs a and b.
func pinCommand(a, b int) string {
	return fmt.Sprintf("taskset -c %d rshm serve %s\ntaskset -c %d rshm request --rr --data hi tcp://%s\n"+
		"in Go: rshm.Handshake{PinCPU: true, CPU: %d} on the server, CPU: %d on the client",
		a, exampleAddr, b, exampleAddr, a, b)
}
