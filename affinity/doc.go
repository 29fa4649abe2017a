// Package affinity pins goroutines to CPUs and picks CPUs for them.
//
// Pin locks a goroutine to its thread and that thread to one CPU; Allowed
// and Current report where the thread may and does run. Topology reads the
// CPU layout from /sys (packages, cores, SMT siblings, L3 groups, isolated
// and nohz_full CPUs) and CPUID (vendor, model, features, hypervisor), and
// BestPair chooses two CPUs for a producer and a consumer sharing memory.
// Load reads the same layout from any directory shaped like
// /sys/devices/system/cpu, which is how the tests feed it fake machines.
package affinity
