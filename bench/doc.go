// Package bench holds rshm's benchmark suites. Every benchmark that involves a
// peer runs it in a second process (a re-exec of the test binary) pinned to
// its own CPU, so the numbers include the cross-core cache traffic and the
// scheduler that a real deployment pays, and each suite measures its own
// baseline in the same run on the same CPUs:
//
//	go test ./bench -run '^$' -bench Ring    // the data path and its physical floor
//	go test ./bench -run '^$' -bench TCP     // RSocket over TCP against raw TCP
//	go test ./bench -run '^$' -bench RSocket // RSocket over shared memory against TCP
//
// Latencies are per round trip, from RDTSC timestamps taken once per sample
// (see internal/tsc; each sample includes one counter read, whose cost
// BenchmarkNow measures, in the baseline and the measured path alike), and
// reported as p50-ns / p99-ns from a log-linear histogram (internal/hist).
// The machine, the CPUs and the pinning are printed at the top of the run.
package bench
