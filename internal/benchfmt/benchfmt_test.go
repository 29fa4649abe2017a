package benchfmt

import (
	"strings"
	"testing"
)

const sample = `machine: cpu="AMD EPYC" ncpu=2 kernel=6.18 go=go1.26.8
pinning: this process cpu 0, peer process cpu 1
goos: linux
BenchmarkRing/limit-2         	 1000000	       101.0 ns/op	        64.00 p50-ns	       120.0 p99-ns
BenchmarkRing/pingpong-64B-2  	 1000000	       250.0 ns/op	       160.0 p50-ns	       300.0 p99-ns	       0 B/op	       0 allocs/op
BenchmarkRing/memcpy-1MiB-2   	    1000	     50000 ns/op	        20.00 GB/s
BenchmarkRing/stream-1MiB-2   	    1000	     90000 ns/op	        9.000 GB/s
PASS
`

func TestParseAndRatios(t *testing.T) {
	run, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(run.Results), 4; got != want {
		t.Fatalf("parsed %d results, want %d", got, want)
	}
	if v, ok := run.Lookup("Ring/pingpong-64B", "p50-ns"); !ok || v != 160 {
		t.Fatalf("Lookup pingpong p50 = %v, %v; want 160, true", v, ok)
	}
	var sb strings.Builder
	Write(&sb, run, []Ratio{
		{Label: "pingpong p50 / limit p50", Name: "Ring/pingpong-64B", Unit: "p50-ns", Base: "Ring/limit", BaseUnit: "p50-ns", Want: 3, Lower: true},
		{Label: "stream-1MiB / memcpy", Name: "Ring/stream-1MiB", Unit: "GB/s", Base: "Ring/memcpy-1MiB", BaseUnit: "GB/s", Want: 0.5},
		{Label: "absent", Name: "Ring/none", Unit: "x", Base: "Ring/limit", BaseUnit: "p50-ns", Want: 1},
	})
	out := sb.String()
	for _, want := range []string{"machine: cpu=", "2.50x  <= 3.00x  met", "0.45x  >= 0.50x  NOT met"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "absent") {
		t.Errorf("a ratio with a missing input was printed:\n%s", out)
	}
}
