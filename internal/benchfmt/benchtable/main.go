// Command benchtable reads `go test -bench` output from package bench on
// stdin and prints its results with the ratios the project's targets are
// stated in (each measured against a baseline from the same run).
//
//	go test ./bench -run '^$' -bench Ring | go run ./internal/benchfmt/benchtable
package main

import (
	"fmt"
	"os"

	"github.com/rshm/rshm/internal/benchfmt"
)

// targets are the issues' performance targets, as ratios within one run.
var targets = []benchfmt.Ratio{
	{Label: "Ring pingpong-64B p50 / limit p50", Name: "Ring/pingpong-64B", Unit: "p50-ns", Base: "Ring/limit", BaseUnit: "p50-ns", Want: 3, Lower: true},
	{Label: "Ring stream-1MiB / memcpy-1MiB (GB/s)", Name: "Ring/stream-1MiB", Unit: "GB/s", Base: "Ring/memcpy-1MiB", BaseUnit: "GB/s", Want: 0.5},
	{Label: "Ring wake-block p50 / wake-futex p50", Name: "Ring/wake-block", Unit: "p50-ns", Base: "Ring/wake-futex", BaseUnit: "p50-ns", Want: 1.5, Lower: true},
	{Label: "TCP rsocket-rr-64B p50 / raw-64B p50", Name: "TCP/rsocket-rr-64B", Unit: "p50-ns", Base: "TCP/raw-64B", BaseUnit: "p50-ns", Want: 1.2, Lower: true},
	{Label: "RSocket tcp-rr-64B p50 / shm-rr-64B p50", Name: "RSocket/tcp-rr-64B", Unit: "p50-ns", Base: "RSocket/shm-rr-64B", BaseUnit: "p50-ns", Want: 25},
	{Label: "RSocket tcp-rr-14KiB p50 / shm-rr-14KiB p50", Name: "RSocket/tcp-rr-14KiB", Unit: "p50-ns", Base: "RSocket/shm-rr-14KiB", BaseUnit: "p50-ns", Want: 15},
	{Label: "RSocket shm-rr-64B p50 / Ring pingpong-64B p50", Name: "RSocket/shm-rr-64B", Unit: "p50-ns", Base: "Ring/pingpong-64B", BaseUnit: "p50-ns", Want: 2.5, Lower: true},
	{Label: "  same, baseline just before (RSocket/ring-)", Name: "RSocket/shm-rr-64B", Unit: "p50-ns", Base: "RSocket/ring-pingpong-64B", BaseUnit: "p50-ns", Want: 2.5, Lower: true},
	{Label: "RSocket shm-stream-64B / RSocket ring-stream-64B", Name: "RSocket/shm-stream-64B", Unit: "msgs/s", Base: "RSocket/ring-stream-64B", BaseUnit: "msgs/s", Want: 0.5},
	{Label: "RSocket shm-stream-64B / TCP rsocket-stream-64B", Name: "RSocket/shm-stream-64B", Unit: "msgs/s", Base: "TCP/rsocket-stream-64B", BaseUnit: "msgs/s", Want: 3},
	{Label: "RSocket shm-fnf-64B / RSocket ring-stream-64B", Name: "RSocket/shm-fnf-64B", Unit: "msgs/s", Base: "RSocket/ring-stream-64B", BaseUnit: "msgs/s", Want: 0.5},
	{Label: "RSocket shm-fnf-64B / TCP rsocket-stream-64B", Name: "RSocket/shm-fnf-64B", Unit: "msgs/s", Base: "TCP/rsocket-stream-64B", BaseUnit: "msgs/s", Want: 3},
	{Label: "RSocket shm-stream-64B-batch / RSocket ring-stream-64B", Name: "RSocket/shm-stream-64B-batch", Unit: "msgs/s", Base: "RSocket/ring-stream-64B", BaseUnit: "msgs/s", Want: 0.5},
	{Label: "RSocket shm-stream-64B-batch / TCP rsocket-stream-64B", Name: "RSocket/shm-stream-64B-batch", Unit: "msgs/s", Base: "TCP/rsocket-stream-64B", BaseUnit: "msgs/s", Want: 3},
	{Label: "RSocket shm-fnf-64B-batch / RSocket ring-stream-64B", Name: "RSocket/shm-fnf-64B-batch", Unit: "msgs/s", Base: "RSocket/ring-stream-64B", BaseUnit: "msgs/s", Want: 0.5},
	{Label: "RSocket shm-fnf-64B-batch / TCP rsocket-stream-64B", Name: "RSocket/shm-fnf-64B-batch", Unit: "msgs/s", Base: "TCP/rsocket-stream-64B", BaseUnit: "msgs/s", Want: 3},
	{Label: "RSocket shm-stream-1MiB / Ring stream-1MiB", Name: "RSocket/shm-stream-1MiB", Unit: "GB/s", Base: "Ring/stream-1MiB", BaseUnit: "GB/s", Want: 0.8},
	{Label: "  same, baseline just before (RSocket/ring-)", Name: "RSocket/shm-stream-1MiB", Unit: "GB/s", Base: "RSocket/ring-stream-1MiB", BaseUnit: "GB/s", Want: 0.8},
	{Label: "RSocket shm-stream-1MiB-loan / Ring stream-1MiB", Name: "RSocket/shm-stream-1MiB-loan", Unit: "GB/s", Base: "Ring/stream-1MiB", BaseUnit: "GB/s", Want: 0.9},
	{Label: "  same, baseline 2 rows before (RSocket/ring-)", Name: "RSocket/shm-stream-1MiB-loan", Unit: "GB/s", Base: "RSocket/ring-stream-1MiB", BaseUnit: "GB/s", Want: 0.9},
	{Label: "RSocket shm-rr-64B-c64 / TCP rsocket-rr-64B-c64", Name: "RSocket/shm-rr-64B-c64", Unit: "req/s", Base: "TCP/rsocket-rr-64B-c64", BaseUnit: "req/s", Want: 7},
	{Label: "  reachable? goroutine-floor-c64 / TCP c64", Name: "RSocket/goroutine-floor-c64", Unit: "req/s", Base: "TCP/rsocket-rr-64B-c64", BaseUnit: "req/s", Want: 7},
	{Label: "RSocket shm-rr-64B-async64 / TCP async64", Name: "RSocket/shm-rr-64B-async64", Unit: "req/s", Base: "TCP/rsocket-rr-64B-async64", BaseUnit: "req/s", Want: 3},
	{Label: "Resume shm-stream-64B-resume / shm-stream-64B", Name: "Resume/shm-stream-64B-resume", Unit: "msgs/s", Base: "Resume/shm-stream-64B", BaseUnit: "msgs/s", Want: 0.7},
}

// absolute targets: the issues state these as numbers, not ratios.
var absolute = []struct {
	label, name, unit string
	want              float64
}{
	{"Ring stream-64B records/s", "Ring/stream-64B", "msgs/s", 30e6},
	{"TCP rsocket-rr-64B-c64 req/s", "TCP/rsocket-rr-64B-c64", "req/s", 300e3},
	{"TCP rsocket-stream-64B payloads/s", "TCP/rsocket-stream-64B", "msgs/s", 2e6},
}

func main() {
	run, err := benchfmt.Parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	benchfmt.Write(os.Stdout, run, targets)
	for _, a := range absolute {
		if v, ok := run.Lookup(a.name, a.unit); ok {
			fmt.Printf("%-44s %8.2fM >=%5.2fM  %s\n", a.label+" (absolute)", v/1e6, a.want/1e6, verdict(v >= a.want))
		}
	}
	if len(run.Failed) > 0 || len(run.Results) == 0 {
		os.Exit(1)
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
