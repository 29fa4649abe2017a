package rshmbench

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/rshm/rshm/internal/benchkit"
)

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteTable(t *testing.T) {
	rows := []benchkit.Row{
		{Transport: "raw-tcp", Model: "rr", Size: 64, Concurrency: 1, Msgs: 1, P50: 20000, P90: 25000, P99: 40000, P999: 90000, Max: 1500000,
			MsgsPerS: 50000, BytesPerS: 3.2e6, ClientCPUPerMsg: 9000, ServerCPUPerMsg: 8000},
		{Transport: "rshm-shm-spin", Model: "rr", Size: 64, Concurrency: 1, Msgs: 1, P50: 812, P90: 900, P99: 4210, P999: 12000, Max: 2000000,
			MsgsPerS: 1e6, BytesPerS: 64e6, ClientCPUPerMsg: 1000, ServerCPUPerMsg: 950},
		{Transport: "rshm-tcp", Model: "rr", Size: 64, Concurrency: 1, Msgs: 1, P50: 25000, MsgsPerS: 40000, BytesPerS: 2.56e6},
		{Transport: "rshm-shm-spin", Model: "fnf", Size: 64, Concurrency: 1, Msgs: 1, P50: 150, MsgsPerS: 4e6, BytesPerS: 256e6},
		{Transport: "rshm-tcp", Model: "fnf", Size: 64, Concurrency: 1, Msgs: 1, P50: 5000, MsgsPerS: 1e6, BytesPerS: 64e6, Starved: 1},
		{Transport: "raw-unix", Model: "rr", Size: 64, Concurrency: 1, Err: "connection refused"},
	}
	var b bytes.Buffer
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	find := func(prefix ...string) string {
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) >= len(prefix) && strings.Join(f[:len(prefix)], " ") == strings.Join(prefix, " ") {
				return l
			}
		}
		t.Fatalf("no line starting %q in\n%s", prefix, b.String())
		return ""
	}
	for _, c := range []struct {
		prefix []string
		want   string // the line's fields from p50 on
	}{
		{[]string{"rr", "1", "64B", "rshm-shm-spin"}, "812ns 900ns 4.21µs 12µs 2ms 1M 0.064 1µs+950ns 25.00x 20.00x"},
		{[]string{"rr", "1", "64B", "rshm-tcp"}, "25µs 0ns 0ns 0ns 0ns 40k 0.003 0ns+0ns 1.00x 0.80x"},
		{[]string{"rr", "1", "64B", "raw-tcp"}, "20µs 25µs 40µs 90µs 1.5ms 50k 0.003 9µs+8µs 1.25x 1.00x"},
		{[]string{"rr", "1", "64B", "raw-unix"}, "failed: connection refused"},
		{[]string{"fnf", "1", "64B", "rshm-shm-spin"}, "150ns 0ns 0ns 0ns 0ns 4M 0.256 0ns+0ns 4.00x -"},
	} {
		got := strings.Join(strings.Fields(find(c.prefix...))[4:], " ")
		if got != c.want {
			t.Errorf("%q: got %q; want %q", c.prefix, got, c.want)
		}
	}
	// Grouped by model, then transports in table order within a group.
	order := []string{"rshm-shm-spin", "rshm-tcp", "raw-tcp", "raw-unix", "rshm-shm-spin", "rshm-tcp"}
	var got []string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 4 && (f[0] == "rr" || f[0] == "fnf") {
			got = append(got, f[3])
		}
	}
	if strings.Join(got, " ") != strings.Join(order, " ") {
		t.Errorf("row order %v; want %v", got, order)
	}
	if !strings.Contains(b.String(), "error: raw-unix rr 64B c=1: connection refused") {
		t.Errorf("the failure is not listed:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "starved: rshm-tcp fnf 64B c=1: 1 of 1 workers") {
		t.Errorf("the starved worker is not listed:\n%s", b.String())
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{ns(999), "999ns"}, {ns(4210), "4.21µs"}, {ns(12_300_000), "12.3ms"}, {ns(2_500_000_000), "2.5s"},
		{count(812), "812"}, {count(45600), "45.6k"}, {count(1.23e6), "1.23M"},
	} {
		if c.got != c.want {
			t.Errorf("got %q; want %q", c.got, c.want)
		}
	}
}
