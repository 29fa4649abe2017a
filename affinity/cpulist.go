package affinity

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrList reports a malformed CPU list.
var ErrList = errors.New("affinity: bad CPU list")

// MaxCPU bounds the CPU numbers ParseList accepts, the kernel's largest
// NR_CPUS.
const MaxCPU = 8192

// ParseList parses the kernel's CPU list format, "0-3,5,7-8" (sysfs *_list
// files, cpuset.cpus, isolcpus), into sorted, distinct CPU numbers. Empty
// or all-space input is an empty list. Ranges may carry a stride as in
// "0-15:2" ("0-15:2/4" group syntax is not accepted).
func ParseList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	seen := make(map[int]bool)
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, step, err := parseRange(part)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrList, s, err)
		}
		for c := lo; c <= hi; c += step {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func parseRange(p string) (lo, hi, step int, err error) {
	step = 1
	if r, st, ok := strings.Cut(p, ":"); ok {
		p = r
		if step, err = cpuNum(st); err != nil || step == 0 {
			return 0, 0, 0, fmt.Errorf("stride %q", st)
		}
	}
	a, b, isRange := strings.Cut(p, "-")
	if lo, err = cpuNum(a); err != nil {
		return 0, 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = cpuNum(b); err != nil {
			return 0, 0, 0, err
		}
		if hi < lo {
			return 0, 0, 0, fmt.Errorf("range %d-%d", lo, hi)
		}
	} else if step != 1 {
		return 0, 0, 0, fmt.Errorf("stride without range")
	}
	return lo, hi, step, nil
}

func cpuNum(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= MaxCPU || s != strconv.Itoa(n) {
		return 0, fmt.Errorf("cpu %q", s)
	}
	return n, nil
}

// FormatList is the inverse of ParseList: sorted distinct CPUs as "0-3,5".
func FormatList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}
