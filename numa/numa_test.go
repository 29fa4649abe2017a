package numa

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fakeNodes writes a directory shaped like /sys/devices/system/node.
func fakeNodes(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, s := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestLoadOneNode(t *testing.T) {
	root := fakeNodes(t, map[string]string{
		"online":        "0\n",
		"possible":      "0\n",
		"node0/cpulist": "0-1\n",
		"node0/meminfo": "Node 0 MemTotal:        4417748 kB\nNode 0 MemFree:         3904716 kB\nNode 0 MemUsed:          513032 kB\n",
		"nodeX/cpulist": "7\n",
		"has_cpu":       "0\n",
	})
	nodes, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{{ID: 0, CPUs: []int{0, 1}, MemTotal: 4417748 << 10, MemFree: 3904716 << 10}}
	if !slices.EqualFunc(nodes, want, nodeEqual) {
		t.Errorf("Load = %+v; want %+v", nodes, want)
	}
}

func TestLoadTwoNodes(t *testing.T) {
	root := fakeNodes(t, map[string]string{
		"node1/cpulist":  "4-7,12-15\n",
		"node0/cpulist":  "0-3,8-11\n",
		"node10/cpulist": "\n", // a memory-only node
	})
	nodes, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{
		{ID: 0, CPUs: []int{0, 1, 2, 3, 8, 9, 10, 11}},
		{ID: 1, CPUs: []int{4, 5, 6, 7, 12, 13, 14, 15}},
		{ID: 10},
	}
	if !slices.EqualFunc(nodes, want, nodeEqual) {
		t.Errorf("Load = %+v; want %+v", nodes, want)
	}
	tests := []struct{ cpu, node int }{{0, 0}, {11, 0}, {4, 1}, {15, 1}, {16, -1}, {-1, -1}}
	for _, tt := range tests {
		got, err := nodeOf(nodes, tt.cpu)
		if got != tt.node || (tt.node < 0) != errors.Is(err, ErrNoNode) {
			t.Errorf("nodeOf(%d) = %d, %v; want %d", tt.cpu, got, err, tt.node)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no nodes":    {"online": "0"},
		"bad cpulist": {"node0/cpulist": "3-1"},
		"no cpulist":  {"node0/meminfo": ""},
	} {
		if _, err := Load(fakeNodes(t, files)); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Load(missing) succeeded")
	}
}

func nodeEqual(a, b Node) bool {
	return a.ID == b.ID && slices.Equal(a.CPUs, b.CPUs) && a.MemTotal == b.MemTotal && a.MemFree == b.MemFree
}

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		ok   bool
	}{
		{"", nil, true},
		{"0-3,5,7-8\n", []int{0, 1, 2, 3, 5, 7, 8}, true},
		{"5,0-1,1", []int{0, 1, 5}, true},
		{"3-1", nil, false},
		{"a", nil, false},
		{"1,,2", nil, false},
		{"8192", nil, false},
		{"-2", nil, false},
	}
	for i, tt := range tests {
		got, err := parseCPUList(tt.in)
		if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("%d: parseCPUList(%q) = %v, %v; want %v, ok=%v", i, tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"0-3,5,7-8", "", "3-1", "0-8191", "1,,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseCPUList(s)
		if err != nil {
			return
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("parseCPUList(%q) = %v, not sorted and distinct", s, got)
		}
		for _, c := range got {
			if c < 0 || c >= maxCPU {
				t.Fatalf("parseCPUList(%q) has cpu %d", s, c)
			}
		}
	})
}
