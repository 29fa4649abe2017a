package affinity

import (
	"errors"
	"testing"
)

func TestBestPair(t *testing.T) {
	smt := mustLoad(t, twoSocketSMT(t, ""))
	smtIso := mustLoad(t, twoSocketSMT(t, "2,3"))
	two := mustLoad(t, fakeSys(t, "0-1", "", "-", map[int]fakeCPU{
		0: {siblings: "0-1", l3: "0-1"}, 1: {siblings: "0-1", l3: "0-1"},
	}))
	tests := []struct {
		name    string
		topo    *Topo
		allowed []int
		a, b    int
	}{
		// Same L3, not siblings (4 is 0's sibling), avoid CPU 0.
		{"smt all", smt, []int{0, 1, 2, 3, 4, 5, 6, 7}, 1, 4},
		{"smt with 0", smt, []int{0, 1, 4}, 1, 4},
		{"only siblings and 0", smt, []int{0, 4}, 0, 4},
		{"across L3 loses to siblings", smt, []int{1, 5, 2}, 1, 5},
		{"isolated preferred", smtIso, []int{0, 1, 2, 3, 4, 5, 6, 7}, 2, 3},
		{"order and duplicates", smt, []int{7, 6, 6, 3, 2}, 2, 3},
		{"two-cpu machine", two, []int{0, 1}, 0, 1},
		{"unknown cpus", two, []int{5, 9}, 5, 9},
	}
	for _, tt := range tests {
		a, b, err := BestPair(tt.topo, tt.allowed)
		if err != nil || a != tt.a || b != tt.b {
			t.Errorf("%s: BestPair(%v) = %d, %d, %v; want %d, %d", tt.name, tt.allowed, a, b, err, tt.a, tt.b)
		}
	}
	for _, allowed := range [][]int{nil, {3}, {3, 3}, {-1, 2}} {
		if _, _, err := BestPair(smt, allowed); !errors.Is(err, ErrTooFewCPUs) {
			t.Errorf("BestPair(%v) = %v; want ErrTooFewCPUs", allowed, err)
		}
	}
}

func mustLoad(t *testing.T, root string) *Topo {
	t.Helper()
	topo, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}
