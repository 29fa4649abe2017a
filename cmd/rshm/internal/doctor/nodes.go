package doctor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rshm/rshm/affinity"
	"github.com/rshm/rshm/numa"
)

func (e *env) numaSection(m *machine) Section {
	s := Section{Name: SectionNUMA}
	if m.nodesErr != nil {
		s.Items = append(s.Items, Item{Name: "nodes", Status: Info,
			Value: "no NUMA information (" + m.nodesErr.Error() + ")",
			Note:  "a kernel without NUMA support: treat the machine as one node"})
		return s
	}
	var parts []string
	for _, n := range m.nodes {
		p := fmt.Sprintf("node%d: CPUs %s", n.ID, affinity.FormatList(n.CPUs))
		if n.MemTotal > 0 {
			p += fmt.Sprintf(", %s (%s free)", sizeString(n.MemTotal), sizeString(n.MemFree))
		}
		parts = append(parts, p)
	}
	nodes := Item{Name: "nodes", Value: plural(len(m.nodes), "node") + ": " + strings.Join(parts, "; ")}
	if len(m.nodes) == 1 {
		nodes.Status, nodes.Note = OK, "single node: no message crosses a NUMA link"
	} else {
		nodes.Status = Info
		nodes.Note = "the region is placed where its creator (the server) first touches it; keep both sides on its node"
	}
	s.Items = append(s.Items, nodes, pairNodeItem(m))
	return s
}

func pairNodeItem(m *machine) Item {
	it := Item{Name: "pair node"}
	if m.pairErr != nil {
		it.Status, it.Value = Info, "no best pair"
		return it
	}
	na, nb := nodeOf(m.nodes, m.a), nodeOf(m.nodes, m.b)
	switch {
	case na < 0 || nb < 0:
		it.Status = Info
		it.Value = fmt.Sprintf("CPUs %d,%d are on no listed node", m.a, m.b)
	case na == nb:
		it.Status = OK
		it.Value = fmt.Sprintf("node %d (server CPU %d, client CPU %d)", na, m.a, m.b)
		if len(m.nodes) > 1 {
			it.Fix = fmt.Sprintf("rshm.Handshake{BindNUMA: true, NUMANode: %d}, or numactl --cpunodebind=%d --membind=%d CMD", na, na, na)
		}
	default:
		it.Status = Warn
		it.Value = fmt.Sprintf("split: server CPU %d on node %d, client CPU %d on node %d", m.a, na, m.b, nb)
		it.Note = "every message crosses the NUMA link"
		it.Fix = "allow two CPUs of one node: taskset -c A,B with both in one node's CPU list, and rshm.Handshake{BindNUMA: true, NUMANode: N}"
	}
	return it
}

func nodeOf(nodes []numa.Node, cpu int) int {
	for _, n := range nodes {
		if slices.Contains(n.CPUs, cpu) {
			return n.ID
		}
	}
	return -1
}
