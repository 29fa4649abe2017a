package numa

import (
	"fmt"
	"os"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// From <linux/mempolicy.h>; x/sys/unix does not define them.
const (
	mpolBind   = 2
	mpolMFMove = 1 << 1
)

// Bind binds the pages of mem to node with mbind(MPOL_BIND, MPOL_MF_MOVE):
// pages not yet touched will be allocated there and pages already present
// elsewhere are moved. mem must start on a page boundary. On a single-node
// machine it makes no call and returns ErrSingleNode.
func Bind(mem []byte, node int) error {
	nodes, err := Nodes()
	if err != nil {
		return err
	}
	if len(nodes) == 1 {
		if nodes[0].ID != node {
			return fmt.Errorf("%w: node %d", ErrNoNode, node)
		}
		return ErrSingleNode
	}
	if !slices.ContainsFunc(nodes, func(n Node) bool { return n.ID == node }) {
		return fmt.Errorf("%w: node %d", ErrNoNode, node)
	}
	return mbind(mem, node)
}

// mbind makes the system call for Bind.
func mbind(mem []byte, node int) error {
	if len(mem) == 0 {
		return nil
	}
	if err := checkAlign(mem); err != nil {
		return err
	}
	if node < 0 || node >= 1024 {
		return fmt.Errorf("%w: node %d", ErrNoNode, node)
	}
	var mask [1024 / 64]uint64
	mask[node/64] |= 1 << (node % 64)
	_, _, e := unix.Syscall6(unix.SYS_MBIND,
		uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), mpolBind,
		uintptr(unsafe.Pointer(&mask[0])), uintptr(len(mask)*64), mpolMFMove)
	if e != 0 {
		return fmt.Errorf("numa: mbind %d bytes to node %d: %w", len(mem), node, e)
	}
	return nil
}

// Where returns the node of each page of mem, -1 for a page that is not
// present (never touched, or swapped out). mem must start on a page
// boundary.
func Where(mem []byte) ([]int, error) {
	if len(mem) == 0 {
		return nil, nil
	}
	if err := checkAlign(mem); err != nil {
		return nil, err
	}
	page := os.Getpagesize()
	n := (len(mem) + page - 1) / page
	pages := make([]uintptr, n)
	status := make([]int32, n)
	base := uintptr(unsafe.Pointer(&mem[0]))
	for i := range pages {
		pages[i] = base + uintptr(i*page)
	}
	// move_pages(pid 0, count, pages, nodes NULL, status, flags 0) only
	// reports where each page is.
	_, _, e := unix.Syscall6(unix.SYS_MOVE_PAGES, 0, uintptr(n),
		uintptr(unsafe.Pointer(&pages[0])), 0, uintptr(unsafe.Pointer(&status[0])), 0)
	if e != 0 {
		return nil, fmt.Errorf("numa: move_pages: %w", e)
	}
	out := make([]int, n)
	for i, s := range status {
		out[i] = int(s)
		if s < 0 {
			out[i] = -1
		}
	}
	return out, nil
}

func checkAlign(mem []byte) error {
	if uintptr(unsafe.Pointer(&mem[0]))%uintptr(os.Getpagesize()) != 0 {
		return ErrAlign
	}
	return nil
}
