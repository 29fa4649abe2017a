package affinity

import (
	"errors"
	"fmt"
	"slices"
)

// ErrTooFewCPUs: fewer than two CPUs are allowed.
var ErrTooFewCPUs = errors.New("affinity: need two allowed CPUs")

// BestPair picks two CPUs from allowed for a producer and a consumer that
// talk through shared memory. In order of importance it prefers a pair
// that shares an L3 cache, is not two SMT threads of one core, has more
// isolated (isolcpus or nohz_full) CPUs, and avoids CPU 0, which takes most
// interrupts and housekeeping; ties go to the lowest CPU numbers. CPUs in
// allowed that t does not know are treated as alone in their own L3. With
// fewer than two allowed CPUs it returns ErrTooFewCPUs.
func BestPair(t *Topo, allowed []int) (a, b int, err error) {
	cpus := dedup(allowed)
	if len(cpus) < 2 {
		return -1, -1, fmt.Errorf("%w, have %d (%s)", ErrTooFewCPUs, len(cpus), FormatList(cpus))
	}
	byID := make(map[int]*CPU, len(t.CPUs))
	for i := range t.CPUs {
		byID[t.CPUs[i].ID] = &t.CPUs[i]
	}
	best, bi, bj := -1, 0, 0
	for i := 0; i < len(cpus); i++ {
		for j := i + 1; j < len(cpus); j++ {
			if s := pairScore(byID[cpus[i]], byID[cpus[j]], cpus[i], cpus[j]); s > best {
				best, bi, bj = s, cpus[i], cpus[j]
			}
		}
	}
	return bi, bj, nil
}

// pairScore ranks a pair; higher is better. The weights make each rule
// outrank all the rules after it.
func pairScore(ca, cb *CPU, a, b int) int {
	s := 0
	if ca != nil && cb != nil && ca.L3 == cb.L3 {
		s += 1000
	}
	if ca == nil || cb == nil || !contains(ca.Siblings, b) {
		s += 100
	}
	s += 10 * (isolated(ca) + isolated(cb))
	if a != 0 && b != 0 {
		s++
	}
	return s
}

func isolated(c *CPU) int {
	if c != nil && (c.Isolated || c.NoHZFull) {
		return 1
	}
	return 0
}

// dedup returns the distinct non-negative CPUs of list in ascending order.
func dedup(list []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, c := range list {
		if c >= 0 && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}
