// Package numa finds the machine's NUMA nodes, binds memory to a node and
// reports where memory lives.
//
// Nodes reads /sys/devices/system/node. Bind (mbind(2) with MPOL_BIND and
// MPOL_MF_MOVE) and Where (move_pages(2) in query mode) work on page-aligned
// mappings such as an shm.Region. On a machine with a single node Bind
// changes nothing and returns ErrSingleNode, which callers may treat as
// success; Where still works.
package numa

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// SysNode is where Linux describes its NUMA nodes.
const SysNode = "/sys/devices/system/node"

var (
	// ErrSingleNode: the machine has one node, so there is nothing to bind.
	ErrSingleNode = errors.New("numa: single node, nothing to bind")
	// ErrNoNode: the node or CPU is not on this machine.
	ErrNoNode = errors.New("numa: no such node")
	// ErrAlign: the memory does not start on a page boundary.
	ErrAlign = errors.New("numa: memory not page aligned")
)

// Node is one NUMA node.
type Node struct {
	ID       int
	CPUs     []int
	MemTotal uint64 // bytes, 0 when unknown
	MemFree  uint64 // bytes, 0 when unknown
}

// Nodes returns the machine's nodes in ascending order.
func Nodes() ([]Node, error) { return Load(SysNode) }

// Load reads the nodes under root, a directory shaped like
// /sys/devices/system/node: nodeN/cpulist and, optionally, nodeN/meminfo.
func Load(root string) ([]Node, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("numa: %w", err)
	}
	var nodes []Node
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "node")
		id, err := strconv.Atoi(rest)
		if !ok || err != nil || id < 0 || rest != strconv.Itoa(id) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "cpulist"))
		if err != nil {
			return nil, fmt.Errorf("numa: node%d: %w", id, err)
		}
		n := Node{ID: id}
		if n.CPUs, err = parseCPUList(string(b)); err != nil {
			return nil, fmt.Errorf("numa: node%d cpulist: %w", id, err)
		}
		if m, err := os.ReadFile(filepath.Join(dir, "meminfo")); err == nil {
			n.MemTotal, n.MemFree = parseMeminfo(string(m))
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("numa: %w under %s", ErrNoNode, root)
	}
	slices.SortFunc(nodes, func(a, b Node) int { return a.ID - b.ID })
	return nodes, nil
}

// NodeOf returns the node of a CPU.
func NodeOf(cpu int) (int, error) {
	nodes, err := Nodes()
	if err != nil {
		return -1, err
	}
	return nodeOf(nodes, cpu)
}

func nodeOf(nodes []Node, cpu int) (int, error) {
	for _, n := range nodes {
		if slices.Contains(n.CPUs, cpu) {
			return n.ID, nil
		}
	}
	return -1, fmt.Errorf("%w: cpu %d is on none", ErrNoNode, cpu)
}

// parseMeminfo reads "Node 0 MemTotal: 4417748 kB" lines.
func parseMeminfo(s string) (total, free uint64) {
	for line := range strings.SplitSeq(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 5 || f[4] != "kB" {
			continue
		}
		v, err := strconv.ParseUint(f[3], 10, 64)
		if err != nil || v > 1<<50 {
			continue
		}
		switch f[2] {
		case "MemTotal:":
			total = v << 10
		case "MemFree:":
			free = v << 10
		}
	}
	return total, free
}

// parseCPUList parses the kernel's list format "0-3,5,7-8" into sorted,
// distinct CPUs. (package affinity has the same parser; numa is a leaf and
// keeps its own copy.)
func parseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		a, b, isRange := strings.Cut(part, "-")
		lo, err := listNum(a)
		if err != nil {
			return nil, err
		}
		hi := lo
		if isRange {
			if hi, err = listNum(b); err != nil {
				return nil, err
			}
		}
		if hi < lo {
			return nil, fmt.Errorf("numa: bad range %q", part)
		}
		for c := lo; c <= hi; c++ {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// maxCPU bounds the CPU numbers parseCPUList accepts (the largest NR_CPUS).
const maxCPU = 8192

func listNum(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= maxCPU || s != strconv.Itoa(n) {
		return 0, fmt.Errorf("numa: bad cpu %q", s)
	}
	return n, nil
}
