package rshmbench

import (
	"fmt"
	"io"
	"runtime"

	"github.com/rshm/rshm/affinity"
	"github.com/rshm/rshm/numa"
)

// Machine describes where a run happened; Run prints it first.
type Machine struct {
	CPUModel   string
	CPUs       int  // online CPUs
	Hypervisor bool // running in a VM
	Kernel     string
	GoVersion  string
	GOMAXPROCS int
	// ClientCPU and ServerCPU are the CPUs chosen by affinity.BestPair, -1
	// when none; Pinning says what was done with them.
	ClientCPU, ServerCPU int
	Pinning              string
	NUMANode             int // of ClientCPU; -1 when unknown
}

// probeMachine reads the machine and picks the two CPUs.
func probeMachine() Machine {
	m := Machine{ClientCPU: -1, ServerCPU: -1, NUMANode: -1, Kernel: kernel(),
		GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	topo, err := affinity.Topology()
	if err != nil {
		m.Pinning = "none: " + err.Error()
		return m
	}
	m.CPUModel, m.Hypervisor, m.CPUs = topo.Model, topo.Hypervisor, len(topo.CPUs)
	allowed, err := affinity.Allowed()
	if err == nil {
		m.ClientCPU, m.ServerCPU, err = affinity.BestPair(topo, allowed)
	}
	if err != nil {
		m.ClientCPU, m.ServerCPU = -1, -1
		m.Pinning = "none: " + err.Error()
		return m
	}
	if n, err := numa.NodeOf(m.ClientCPU); err == nil {
		m.NUMANode = n
	}
	return m
}

func (m *Machine) print(w io.Writer) {
	model := m.CPUModel
	if model == "" {
		model = "unknown"
	}
	vm := ""
	if m.Hypervisor {
		vm = " (virtual machine)"
	}
	numaNode := "unknown"
	if m.NUMANode >= 0 {
		numaNode = fmt.Sprint(m.NUMANode)
	}
	fmt.Fprintf(w, "cpu:      %s, %d CPUs%s\n", model, m.CPUs, vm)
	fmt.Fprintf(w, "pinning:  %s\n", m.Pinning)
	fmt.Fprintf(w, "numa:     node %s\n", numaNode)
	fmt.Fprintf(w, "kernel:   %s\n", m.Kernel)
	fmt.Fprintf(w, "go:       %s %s/%s, GOMAXPROCS %d\n", m.GoVersion, runtime.GOOS, runtime.GOARCH, m.GOMAXPROCS)
}
